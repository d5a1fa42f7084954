/**
 * Aho-Corasick over integer symbols (interned tokens, or code points). Matching is linear in
 * the input length plus the number of matches; there is no backtracking.
 */
const SHIFT = 2 ** 22; // symbols < 2^22, states < 2^30: keys stay exact doubles

export class Automaton {
  private readonly next = new Map<number, number>();
  private fail = new Int32Array(0);
  /** Nearest state on the failure chain (including none) that has outputs. */
  private dict = new Int32Array(0);
  private readonly outputs: number[][] = [[]];
  private readonly children: number[][] = [[]];
  private built = false;

  get states(): number {
    return this.outputs.length;
  }

  add(symbols: readonly number[], patternId: number): void {
    if (this.built) throw new Error('automaton already built');
    let s = 0;
    for (const sym of symbols) {
      if (sym < 0 || sym >= SHIFT) throw new RangeError(`symbol ${sym} out of range`);
      const key = s * SHIFT + sym;
      let t = this.next.get(key);
      if (t === undefined) {
        t = this.outputs.length;
        this.outputs.push([]);
        this.children.push([]);
        this.next.set(key, t);
        this.children[s]!.push(sym);
      }
      s = t;
    }
    this.outputs[s]!.push(patternId);
  }

  build(): this {
    const n = this.outputs.length;
    this.fail = new Int32Array(n);
    this.dict = new Int32Array(n).fill(-1);
    const queue: number[] = [];
    for (const sym of this.children[0]!) queue.push(this.next.get(sym)!);
    for (let head = 0; head < queue.length; head++) {
      const s = queue[head]!;
      for (const sym of this.children[s]!) {
        const t = this.next.get(s * SHIFT + sym)!;
        let f = this.fail[s]!;
        while (f !== 0 && !this.next.has(f * SHIFT + sym)) f = this.fail[f]!;
        const g = this.next.get(f * SHIFT + sym);
        this.fail[t] = g !== undefined && g !== t ? g : 0;
        const ft = this.fail[t]!;
        this.dict[t] = this.outputs[ft]!.length > 0 ? ft : this.dict[ft]!;
        queue.push(t);
      }
    }
    this.children.length = 0; // only needed while building
    this.built = true;
    return this;
  }

  /**
   * Calls onMatch(patternId, endIndex) for every pattern occurrence; negative symbols reset.
   * Returns the steps taken (transitions, failure moves and outputs), a measure of the work.
   */
  search(symbols: ArrayLike<number>, onMatch: (patternId: number, end: number) => void): number {
    let s = 0;
    let steps = 0;
    for (let i = 0; i < symbols.length; i++) {
      const sym = symbols[i]!;
      if (sym < 0) {
        s = 0;
        continue;
      }
      let t = this.next.get(s * SHIFT + sym);
      steps++;
      while (t === undefined && s !== 0) {
        steps++;
        s = this.fail[s]!;
        t = this.next.get(s * SHIFT + sym);
      }
      s = t ?? 0;
      for (let o = this.outputs[s]!.length > 0 ? s : this.dict[s]!; o > 0; o = this.dict[o]!) {
        for (const p of this.outputs[o]!) {
          steps++;
          onMatch(p, i);
        }
      }
    }
    return steps;
  }
}
