/**
 * Decides which emerging-term candidates are counted. A term is admitted once `minAuthors`
 * distinct authors used it within the retention; before that it is only remembered, in a
 * bounded pool where no author may hold more than `maxPendingPerAuthor` entries. One account
 * (or one shared anonymous source: signals without an author count as one author) sending
 * listed keywords with junk hashtags therefore cannot fill the distinct-term cap, nor flush the
 * pool of terms that others are starting to use.
 *
 * The occurrences before admission are not counted in the term's series: a term's counts start
 * when its `minAuthors`-th author uses it.
 */
export class TermAdmission {
  /** Admitted terms and when each was last seen. */
  private readonly admitted = new Map<string, number>();
  /** Terms seen from fewer than minAuthors authors, in order of first sight. */
  private readonly pending = new Map<string, { authors: string[]; firstMs: number; creator: string }>();
  private readonly pendingByAuthor = new Map<string, number>();
  refused = 0;

  constructor(
    readonly minAuthors: number,
    private readonly retentionMs: number,
    private readonly maxPending = 20_000,
    private readonly maxPendingPerAuthor = 50,
  ) {}

  /** Records that `author` (a keyed hash, or "" when unknown) used `term`; true when it may be counted. */
  admit(term: string, author: string, atMs: number): boolean {
    if (this.minAuthors <= 1) return true;
    const last = this.admitted.get(term);
    if (last !== undefined && last >= atMs - this.retentionMs) {
      if (atMs > last) this.admitted.set(term, atMs);
      return true;
    }
    if (last !== undefined) this.admitted.delete(term);
    let entry = this.pending.get(term);
    if (!entry) {
      this.expire(atMs);
      const held = this.pendingByAuthor.get(author) ?? 0;
      if (held >= this.maxPendingPerAuthor) {
        this.refused++;
        return false;
      }
      if (this.pending.size >= this.maxPending) this.drop(this.pending.keys().next().value!);
      entry = { authors: [], firstMs: atMs, creator: author };
      this.pending.set(term, entry);
      this.pendingByAuthor.set(author, held + 1);
    }
    if (!entry.authors.includes(author)) entry.authors.push(author);
    if (entry.authors.length < this.minAuthors) return false;
    this.drop(term);
    this.admitted.set(term, atMs);
    if (this.admitted.size > this.maxPending) this.pruneAdmitted(atMs);
    return true;
  }

  private drop(term: string): void {
    const entry = this.pending.get(term);
    if (!entry) return;
    this.pending.delete(term);
    const held = (this.pendingByAuthor.get(entry.creator) ?? 1) - 1;
    if (held > 0) this.pendingByAuthor.set(entry.creator, held);
    else this.pendingByAuthor.delete(entry.creator);
  }

  /** Forgets pending terms first seen before the retention (the pool is in order of first sight). */
  private expire(atMs: number): void {
    for (const [term, entry] of this.pending) {
      if (entry.firstMs >= atMs - this.retentionMs) break;
      this.drop(term);
    }
  }

  private pruneAdmitted(atMs: number): void {
    for (const [term, last] of this.admitted) if (last < atMs - this.retentionMs) this.admitted.delete(term);
    // Still full of live terms: forget the oldest; they come back through the pending pool.
    for (const term of this.admitted.keys()) {
      if (this.admitted.size <= this.maxPending) break;
      this.admitted.delete(term);
    }
  }
}
