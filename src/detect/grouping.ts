/**
 * One surge, one incident. A surge in US-TX lifts every scope that contains it: the topic as a
 * whole, region=US, region=US-TX, and whichever language and surface it is in. Each of those
 * series is significant on its own, but a policy lead needs one alert: the most specific scope,
 * with the others listed as related.
 *
 * Specific means concentrated: the significant series with the highest ratio (observed over
 * expected) is the narrowest scope the surge shows in, since a wider scope adds its own normal
 * volume to the same excess. When a scope that holds it is about as concentrated (a ratio at
 * least 0.8 of it) and lifted outside it too, the surge is the wider scope's (a global surge
 * lifts every region alike), and the incident is the widest such scope. A series is explained by a more specific one when that one's excess
 * (observed minus expected) is at least `explainShare` of its own: most of what is unusual in it
 * is the other's surge, provided its scope can contain the other's (US contains US-TX, GB does
 * not). A series with an excess of its own (a second surge elsewhere) is not explained and stays
 * an incident of its own. Emerging-term series are never grouped: each is a
 * term to consider, not a scope.
 */

export interface GroupCandidate {
  series: string;
  /** "all" or name=value. */
  dimension: string;
  observed: number;
  expected: number;
  ratio: number;
}

export interface RelatedScope {
  series: string;
  dimension: string;
  observed: number;
  expected: number;
  ratio: number;
}

export interface Grouping {
  /** Series -> the more specific series that explains it. */
  explainedBy: Map<string, string>;
  /** Series -> the series it explains, most similar excess first. */
  related: Map<string, RelatedScope[]>;
}

/** Share of a series' excess that a more specific series must account for to explain it. */
export const DEFAULT_EXPLAIN_SHARE = 0.5;
/** Ratios within this factor of each other are about the same concentration. */
const SAME_RATIO = 0.8;

const excess = (c: GroupCandidate) => c.observed - c.expected;

/**
 * Groups the significant series of one topic. `leaders` are tried as primaries first, in the
 * order given (series with an alert already open: an incident keeps its alert); then the rest
 * by ratio, highest first.
 */
export function groupScopes(
  candidates: readonly GroupCandidate[],
  leaders: ReadonlySet<string> = new Set(),
  explainShare = DEFAULT_EXPLAIN_SHARE,
  /** The pipeline's dimensions, the one incidents are named by first (e.g. region, surface, lang). */
  dimensionOrder: readonly string[] = [],
): Grouping {
  const grouping: Grouping = { explainedBy: new Map(), related: new Map() };
  const scopes = candidates.filter((c) => !c.dimension.startsWith('term=') && excess(c) > 0);
  const order = [...scopes].sort(
    (a, b) =>
      Number(leaders.has(b.series)) - Number(leaders.has(a.series)) ||
      b.ratio - a.ratio ||
      a.expected - b.expected ||
      depth(b.dimension) - depth(a.dimension) ||
      (a.series < b.series ? -1 : 1),
  );
  const primaries: GroupCandidate[] = [];
  for (const c of order) {
    const primary = leaders.has(c.series) ? undefined : primaries.find((p) => mayContain(c.dimension, p.dimension) && excess(p) >= explainShare * excess(c));
    if (!primary) {
      primaries.push(c);
      continue;
    }
    grouping.explainedBy.set(c.series, primary.series);
    const list = grouping.related.get(primary.series) ?? [];
    list.push(related(c));
    grouping.related.set(primary.series, list);
  }
  // Two scopes of different dimensions that account for each other's excess (US-TX, and the
  // comments that are all of its surge) are one surge named two ways: it is named by the
  // dimension the pipeline lists first.
  const rank = (d: string) => {
    const at = dimensionOrder.indexOf(splitDimension(d)[0]);
    return at < 0 ? dimensionOrder.length : at;
  };
  for (const [series, list] of [...grouping.related]) {
    if (leaders.has(series)) continue;
    const primary = scopes.find((c) => c.series === series)!;
    const named = list
      .filter((r) => r.dimension !== 'all' && primary.dimension !== 'all' && rank(r.dimension) < rank(primary.dimension) && excess(r) >= explainShare * excess(primary) && excess(primary) >= explainShare * excess(r))
      .sort((a, b) => rank(a.dimension) - rank(b.dimension) || b.ratio - a.ratio)[0];
    if (!named) continue;
    const moved = [...list.filter((r) => r.series !== named.series), related(primary)];
    grouping.related.delete(series);
    grouping.related.set(named.series, moved);
    grouping.explainedBy.delete(named.series);
    for (const r of moved) grouping.explainedBy.set(r.series, named.series);
  }
  // A surge as concentrated in a wider scope as in the narrowest is the wider scope's: a global
  // surge lifts every region about equally, and the region whose ratio came out highest by chance
  // is not where it is. The incident moves to the widest member of about the same ratio.
  for (const [series, list] of [...grouping.related]) {
    if (leaders.has(series)) continue;
    const primary = scopes.find((c) => c.series === series)!;
    const wider = list
      .filter((r) => r.ratio >= SAME_RATIO * primary.ratio && excess(r) > excess(primary) && contains(r.dimension, primary.dimension) && liftedBeyond(r, primary))
      .reduce<RelatedScope | undefined>((best, r) => (!best || excess(r) > excess(best) ? r : best), undefined);
    if (!wider) continue;
    const moved = [...list.filter((r) => r.series !== wider.series), related(primary)];
    grouping.related.delete(series);
    grouping.related.set(wider.series, moved);
    grouping.explainedBy.delete(wider.series);
    for (const r of moved) grouping.explainedBy.set(r.series, wider.series);
  }
  // What remains of the surge in a scope the incident's contains, no more concentrated than
  // the incident itself (another region of a global surge), is part of it too.
  const remaining = scopes.filter((c) => !grouping.explainedBy.has(c.series)).sort((a, b) => excess(b) - excess(a));
  for (const wide of remaining) {
    if (grouping.explainedBy.has(wide.series)) continue;
    for (const q of remaining) {
      if (q === wide || leaders.has(q.series) || grouping.explainedBy.has(q.series) || excess(q) >= excess(wide)) continue;
      if (!mayContain(wide.dimension, q.dimension) || q.ratio * SAME_RATIO > wide.ratio) continue;
      const list = grouping.related.get(wide.series) ?? [];
      list.push(related(q), ...(grouping.related.get(q.series) ?? []));
      grouping.related.set(wide.series, list);
      for (const r of grouping.related.get(q.series) ?? []) grouping.explainedBy.set(r.series, wide.series);
      grouping.related.delete(q.series);
      grouping.explainedBy.set(q.series, wide.series);
    }
  }
  for (const [series, list] of grouping.related) {
    const own = excess(scopes.find((c) => c.series === series)!);
    list.sort((a, b) => Math.abs(a.observed - a.expected - own) - Math.abs(b.observed - b.expected - own) || (a.series < b.series ? -1 : 1));
  }
  return grouping;
}

/** An alert of the topic, as the tail rule needs it. */
export interface PastIncident {
  series: string;
  dimension: string;
  openedMs: number;
  /** Undefined while it is open. */
  resolvedMs?: number | undefined;
}

/**
 * The resolved incident whose tail a new alert would be: one of the same topic on a scope that
 * overlaps the series' (one may hold the other's signals) and that was open for at least half
 * of the window the series is significant over. A long window keeps an incident's surge for up
 * to its length after the incident resolved; a related scope found significant on it then holds
 * nothing new. A window mostly after the incident (a second surge) is not a tail. Emerging-term
 * series never are: each is a term to consider.
 */
export function tailOf(dimension: string, windowStartMs: number, nowMs: number, incidents: readonly PastIncident[]): PastIncident | undefined {
  const span = nowMs - windowStartMs;
  return incidents.find(
    (i) =>
      i.resolvedMs !== undefined &&
      overlapping(i.dimension, dimension) &&
      Math.min(nowMs, i.resolvedMs) - Math.max(windowStartMs, i.openedMs) >= span / 2,
  );
}

/** A window's figures, as a decision lists each window it tested. */
export interface WindowExcess {
  buckets: number;
  observed: number;
  expected: number;
}

/**
 * The open incident a significant series belongs to although the incident's own series is not
 * significant in this tick (a long window's newest part back to normal, say): one of the same
 * topic on a scope that overlaps the series', whose excess over a window of the same length is at
 * least `explainShare` of the series' own. Emerging terms never belong to one.
 */
export function openIncidentOf<T extends { dimension: string; windows: readonly WindowExcess[] }>(
  dimension: string,
  own: WindowExcess,
  opens: readonly T[],
  explainShare: number,
): T | undefined {
  const mine = own.observed - own.expected;
  if (mine <= 0) return undefined;
  return opens.find((o) => {
    if (!overlapping(o.dimension, dimension)) return false;
    const w = o.windows.find((x) => x.buckets === own.buckets);
    return w !== undefined && w.observed - w.expected >= explainShare * mine;
  });
}

/**
 * The periods (ms, [from, to), merged, oldest first) a series' baselines leave out: those of its
 * topic's incidents (open, or resolved) in a scope that overlaps its own, each from `leadMs`
 * before it opened (its surge began before it was significant) until it resolved (no end while
 * open). A surge already alerted is not learned as the usual level of the scopes it lifted.
 * Emerging-term series have none: a term's own history is what makes it new.
 */
export function incidentPeriods(dimension: string, incidents: readonly PastIncident[], leadMs: number): { from: number; to: number }[] {
  const periods = incidents
    .filter((i) => overlapping(i.dimension, dimension))
    .map((i) => ({ from: i.openedMs - leadMs, to: i.resolvedMs ?? Infinity }))
    .sort((a, b) => a.from - b.from);
  const merged: { from: number; to: number }[] = [];
  for (const p of periods) {
    const last = merged.at(-1);
    if (last && p.from <= last.to) last.to = Math.max(last.to, p.to);
    else merged.push({ ...p });
  }
  return merged;
}

/**
 * Which of a topic's incidents overlap a scope, as a key (their places in `incidents`): scopes
 * with the same key get the same incidentPeriods, so a tick computes them once per key.
 */
export function overlapKey(dimension: string, incidents: readonly PastIncident[]): string {
  let key = '';
  for (let k = 0; k < incidents.length; k++) if (overlapping(incidents[k]!.dimension, dimension)) key += `${k},`;
  return key;
}

/**
 * Whether two scopes may share an incident's signals: the same scope, or one may contain the
 * other's. Emerging terms share none: each is a term to consider, not a scope.
 */
const overlapping = (a: string, b: string) => !a.startsWith('term=') && !b.startsWith('term=') && (a === b || mayContain(a, b) || mayContain(b, a));

/**
 * Whether scope `outer` can contain scope `inner`'s signals. Two values of one dimension are
 * disjoint (GB and US-TX) unless one is a part of the other (US contains US-TX); scopes of
 * different dimensions (a region and a language) may overlap.
 */
function mayContain(outer: string, inner: string): boolean {
  if (outer === 'all') return true;
  const [oName, oValue] = splitDimension(outer);
  const [iName, iValue] = splitDimension(inner);
  return oName !== iName || iValue.startsWith(`${oValue}-`);
}

/** Whether scope `outer` holds every signal of scope `inner`: the whole topic, or US for US-TX. */
function contains(outer: string, inner: string): boolean {
  if (outer === 'all') return inner !== 'all';
  const [oName, oValue] = splitDimension(outer);
  const [iName, iValue] = splitDimension(inner);
  return oName === iName && iValue.startsWith(`${oValue}-`);
}

/**
 * Whether the wider scope is lifted outside the narrower one too: its remainder (wider minus
 * narrower) well above its own expectation, as in a global surge, not at its usual level, as
 * when a region's surge is most of its country's volume.
 */
function liftedBeyond(wider: GroupCandidate | RelatedScope, narrower: GroupCandidate): boolean {
  const expected = wider.expected - narrower.expected;
  if (expected < 1) return false;
  return (wider.observed - narrower.observed) / expected >= Math.max(1.5, 0.5 * narrower.ratio);
}

/** How narrow a scope is: 0 for the topic as a whole, 1 for US, 2 for US-TX. */
const depth = (d: string) => (d === 'all' ? 0 : splitDimension(d)[1].split('-').length);

const splitDimension = (d: string): [string, string] => {
  const eq = d.indexOf('=');
  return eq < 0 ? [d, ''] : [d.slice(0, eq), d.slice(eq + 1)];
};

const related = (c: GroupCandidate): RelatedScope => ({ series: c.series, dimension: c.dimension, observed: c.observed, expected: round(c.expected), ratio: round(c.ratio) });

const round = (x: number) => Math.round(x * 1000) / 1000;
