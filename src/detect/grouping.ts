/**
 * One surge, one incident. A surge in US-TX lifts every scope that contains it: the topic as a
 * whole, region=US, region=US-TX, and whichever language and surface it is in. Each of those
 * series is significant on its own, but a policy lead needs one alert: the most specific scope,
 * with the others listed as related.
 *
 * Specific means concentrated: the significant series with the highest ratio (observed over
 * expected) is the narrowest scope the surge shows in, since a wider scope adds its own normal
 * volume to the same excess. A series is explained by a more specific one when that one's excess
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

const excess = (c: GroupCandidate) => c.observed - c.expected;

/**
 * Groups the significant series of one topic. `leaders` are tried as primaries first, in the
 * order given (series with an alert already open: an incident keeps its alert); then the rest
 * by ratio, highest first.
 */
export function groupScopes(candidates: readonly GroupCandidate[], leaders: ReadonlySet<string> = new Set(), explainShare = DEFAULT_EXPLAIN_SHARE): Grouping {
  const grouping: Grouping = { explainedBy: new Map(), related: new Map() };
  const scopes = candidates.filter((c) => !c.dimension.startsWith('term=') && excess(c) > 0);
  const order = [...scopes].sort(
    (a, b) => Number(leaders.has(b.series)) - Number(leaders.has(a.series)) || b.ratio - a.ratio || a.expected - b.expected || (a.series < b.series ? -1 : 1),
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
    list.push({ series: c.series, dimension: c.dimension, observed: c.observed, expected: round(c.expected), ratio: round(c.ratio) });
    grouping.related.set(primary.series, list);
  }
  for (const [series, list] of grouping.related) {
    const own = excess(scopes.find((c) => c.series === series)!);
    list.sort((a, b) => Math.abs(a.observed - a.expected - own) - Math.abs(b.observed - b.expected - own) || (a.series < b.series ? -1 : 1));
  }
  return grouping;
}

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

const splitDimension = (d: string): [string, string] => {
  const eq = d.indexOf('=');
  return eq < 0 ? [d, ''] : [d.slice(0, eq), d.slice(eq + 1)];
};

const round = (x: number) => Math.round(x * 1000) / 1000;
