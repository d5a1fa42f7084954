/**
 * Candidate terms for the topic lists, mined from labelled data: words, 2-3 word phrases and
 * hashtags that are frequent in one topic's rows and rare in benign and offensive rows, ranked
 * by support among those with a smoothed log-odds ratio of at least --min-log-odds (or by an
 * evidence-weighted log-odds with --sort score). Only the train split is read (`splitOf`
 * of the row id), so that figures on the test split stay honest.
 *
 * A candidate is not a term: read every one, keep explicit topic-specific phrasings, drop
 * generic words, slurs and data set artefacts, and check the result with
 * `lists lint --labelled ... --split test`.
 *
 *   npx tsx bench/mine-terms.ts [labelled.jsonl] [--topic self_harm] [--top 150] [--min-support 5]
 *                               [--min-log-odds 2] [--max-n 3] [--sort support|score]
 *
 * Prints, per topic label, tab-separated: log-odds, kind (word/phrase/hashtag), candidate, rows of
 * the topic, benign rows, offensive rows, rows of other topics, benign rows of the topic's own
 * data sets, the topic's data sets among its rows, and whether the shipped lists already match it.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDataFiles } from '../src/config/load.js';
import { topicDefinitionSchema } from '../src/config/topic-schema.js';
import { readLabelled } from '../src/cli/lint-labelled.js';
import { normalizeHashtag, normalizeText } from '../src/normalize/text.js';
import { compileLexicon } from '../src/scoring/lexicon.js';
import { BENIGN, OFFENSIVE } from '../src/training/labelled.js';
import { sharedDataDir } from '../tests/_util/shared-data.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    topic: { type: 'string', multiple: true },
    top: { type: 'string', default: '150' },
    'min-support': { type: 'string', default: '5' },
    'max-n': { type: 'string', default: '3' },
    /** Keep candidates at least this many times likelier in the topic's rows (log-odds, natural log). */
    'min-log-odds': { type: 'string', default: '2' },
    /** Rank by support (rows of the topic) or by the evidence-weighted log-odds. */
    sort: { type: 'string', default: 'support' },
  },
});
const file = positionals[0] ?? join(sharedDataDir, 'text/labelled-dev.jsonl');
const top = Number(values.top);
const minSupport = Number(values['min-support']);
const maxN = Number(values['max-n']);
const minLogOdds = Number(values['min-log-odds']);
const bySupport = values.sort !== 'score';

const { rows, bad } = await readLabelled(file, 'train');
process.stderr.write(`${rows.length} train rows (${bad.length} bad lines)\n`);

/** Per label: rows; per gram: rows per label and per (label, data set). */
const labelRows = new Map<string, number>();
const datasetRows = new Map<string, number>();
const grams = new Map<string, { kind: string; shown: string; labels: Map<string, number>; datasets: Map<string, number> }>();
const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

for (const row of rows) {
  add(labelRows, row.label);
  const ds = `${row.label}\u0000${row.dataset ?? ''}`;
  add(datasetRows, ds);
  const norm = normalizeText(row.text);
  // Mentions, emoji and numbers-only tokens make no terms.
  const toks = norm.tokens.filter((t) => /\p{L}/u.test(t.key) && !t.key.startsWith('@'));
  const seen = new Map<string, { kind: string; shown: string }>();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= toks.length; i++) {
      const part = toks.slice(i, i + n);
      seen.set(part.map((t) => t.key).join(' '), { kind: n === 1 ? 'word' : 'phrase', shown: part.map((t) => t.folded).join(' ') });
    }
  }
  for (const tag of norm.inlineHashtags) {
    const key = normalizeHashtag(tag);
    if (key) seen.set(`#${key}`, { kind: 'hashtag', shown: `#${tag.toLowerCase()}` });
  }
  for (const [key, { kind, shown }] of seen) {
    let g = grams.get(key);
    if (!g) grams.set(key, (g = { kind, shown, labels: new Map(), datasets: new Map() }));
    add(g.labels, row.label);
    add(g.datasets, ds);
  }
}

const shipped = compileLexicon(loadDataFiles(join(root, 'config/topics'), topicDefinitionSchema).items.map((i) => i.value));
const against = [BENIGN, OFFENSIVE];
const nAgainst = against.reduce((n, l) => n + (labelRows.get(l) ?? 0), 0);
const topics = values.topic ?? [...labelRows.keys()].filter((l) => !against.includes(l)).sort();

for (const label of topics) {
  const nTopic = labelRows.get(label) ?? 0;
  const ownDatasets = [...datasetRows.keys()].filter((k) => k.startsWith(`${label}\u0000`)).map((k) => k.split('\u0000')[1]!);
  const scored: { score: number; line: string }[] = [];
  for (const [key, g] of grams) {
    const a = g.labels.get(label) ?? 0;
    if (a < minSupport) continue;
    const b = against.reduce((n, l) => n + (g.labels.get(l) ?? 0), 0);
    // Log-odds ratio with a half-count prior, weighted by the evidence (a z-like score).
    const lo = Math.log((a + 0.5) / (nTopic - a + 0.5)) - Math.log((b + 0.5) / (nAgainst - b + 0.5));
    const score = lo / Math.sqrt(1 / (a + 0.5) + 1 / (b + 0.5));
    if (lo < minLogOdds) continue;
    const other = [...g.labels].reduce((n, [l, c]) => n + (l === label || against.includes(l) ? 0 : c), 0);
    const inDomainBenign = ownDatasets.reduce((n, d) => n + (g.datasets.get(`${BENIGN}\u0000${d}`) ?? 0), 0);
    const byDataset = ownDatasets.map((d) => `${d}:${g.datasets.get(`${label}\u0000${d}`) ?? 0}`).join(',');
    const text = g.kind === 'hashtag' ? { text: '', hashtags: [key.slice(1)] } : { text: g.shown, hashtags: [] };
    const listed = shipped.match(text).some((m) => m.topic !== undefined) ? 'listed' : '';
    scored.push({
      score: bySupport ? a + lo / 100 : score,
      line: [lo.toFixed(2), g.kind, g.shown, a, g.labels.get(BENIGN) ?? 0, g.labels.get(OFFENSIVE) ?? 0, other, inDomainBenign, byDataset, listed].join('\t'),
    });
  }
  scored.sort((x, y) => y.score - x.score);
  process.stdout.write(`\n## ${label}: ${nTopic} train rows; against: ${nAgainst} benign + offensive rows\n`);
  process.stdout.write('log_odds\tkind\tcandidate\ttopic\tbenign\toffensive\tother\tbenign_same_datasets\tdatasets\tlisted\n');
  for (const { line } of scored.slice(0, top)) process.stdout.write(`${line}\n`);
}
