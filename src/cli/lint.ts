import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataFiles } from '../config/load.js';
import { topicDefinitionSchema, type TopicDefinition } from '../config/topic-schema.js';
import { compileLexicon, type Lexicon } from '../scoring/lexicon.js';
import type { ConfigProblem } from '../shared/errors.js';
import type { TopicLinter } from '../lists/topic-editor.js';
import { labelledFigures, readLabelled, type BadLabelledLine, type LabelledFigures, type SplitChoice, type TermFigures } from './lint-labelled.js';
import { collectEntries, entryKey, indexed, matchedEntries, type Entry, type IndexedLexicon, type ModeClass } from './list-entries.js';

export type Severity = 'error' | 'warning' | 'info';

export type FindingKind =
  /** A file or an entry does not validate (same problems as at start-up). */
  | 'invalid'
  /** The lexicon refuses to compile a topic. */
  | 'compile-failed'
  /** A topic with neither terms nor hashtags. */
  | 'no-terms'
  /** A term that does not even match its own text (it normalizes to nothing). */
  | 'unmatchable-term'
  /** A term that an exclusion of its own topic always cancels. */
  | 'excluded-term'
  /** Two entries of one topic that match exactly the same texts. */
  | 'duplicate-term'
  /** An entry that can never match without another entry of its topic also matching. */
  | 'shadowed-term'
  /** The same term in two topics. */
  | 'cross-topic-term'
  /** An exclusion naming a term its topic does not have. */
  | 'unknown-exclusion-term'
  /** An exclusion that can never overlap a match of its topic. */
  | 'dead-exclusion'
  /** A term that matches lines of the benign corpus (false-positive risk). */
  | 'corpus-hits'
  /** A term whose hits on labelled data are mostly benign or offensive rows (false positives). */
  | 'labelled-benign-hits'
  /** A term that matches no row of the labelled data. */
  | 'labelled-no-hits';

export const severities: readonly Severity[] = ['error', 'warning', 'info'];

/** One finding of `surgewatch lists lint`. */
export interface LintFinding {
  severity: Severity;
  kind: FindingKind;
  /** The topic file (or the topics folder for folder-wide problems). */
  file: string;
  /** Where in the file, in the config problems' format: "terms.3", "hashtags.0", "exclusions.1.terms.0"; "" for the whole file. */
  path: string;
  topic?: string;
  /** The entry as written: a term, "#tag" for hashtags, the phrase for exclusions. */
  term?: string;
  message: string;
  /** The other entry involved (duplicate, shadowing term, same term in another topic). */
  related?: { file: string; path: string; topic: string; term: string };
  corpus?: { lines: number; totalLines: number; share: number; examples: CorpusLine[] };
  /** The term's hits on labelled data (`--labelled`). */
  labelled?: Pick<TermFigures, 'hits' | 'own' | 'benign' | 'offensive' | 'precision' | 'byLabel'>;
}

export interface CorpusLine {
  file: string;
  line: number;
  text: string;
}

export interface LintOptions {
  /** The folder of topic files; with `definitions`, only a name for folder-wide findings. */
  topicsDir: string;
  /**
   * Definitions already validated (e.g. a change made through the API), each named by a file
   * or label: linted instead of reading `topicsDir`.
   */
  definitions?: readonly { file: string; value: TopicDefinition }[];
  /** The benign corpus already read (instead of reading `corpusFiles`). */
  corpus?: readonly CorpusLine[];
  /** Benign corpus files, one text per line; default: every *.txt in the bundled config/corpus/. */
  corpusFiles?: readonly string[];
  /** A term is a false-positive risk (warning) from this many corpus lines... */
  corpusMinLines?: number;
  /** ...or from this share of the corpus lines, whichever comes first. */
  corpusMaxShare?: number;
  /** Labelled data to measure the lists on (`--labelled`). */
  labelled?: LabelledLintOptions;
}

export interface LabelledLintOptions {
  /** JSONL rows {"text","topic"} plus optional id, lang, dataset (the layout of ../shared/data). */
  file: string;
  /** Only the rows of this split (by `splitOf` of the row id); default all. */
  split?: SplitChoice;
  /** A term is judged from this many hits on... */
  minHits?: number;
  /** ...and is a false-positive risk (warning) when more than this share of them is benign or offensive. */
  maxBenignShare?: number;
  /** Called with each bad line, which is then skipped. */
  onBadLine?: (bad: BadLabelledLine) => void;
}

/** What `--labelled` measured. */
export interface LabelledReport extends LabelledFigures {
  file: string;
  split: SplitChoice;
  /** Valid rows of other splits, left out. */
  otherSplit: number;
  /** Rows whose text was cut to a signal's limit (10,000 characters), as a signal's would be. */
  truncated: number;
  badLines: number;
}

export interface LintReport {
  findings: LintFinding[];
  topicFiles: number;
  entries: number;
  corpusLines: number;
  corpusFiles: readonly string[];
  labelled?: LabelledReport;
}

const DEFAULT_MIN_LINES = 3;
const DEFAULT_MAX_SHARE = 0.002;
const MAX_EXAMPLES = 3;
const DEFAULT_MIN_HITS = 5;
const DEFAULT_MAX_BENIGN_SHARE = 0.5;

/** The bundled benign corpus (config/corpus/ of the package, from src/cli or dist/cli alike). */
export const bundledCorpusDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../config/corpus');

export function bundledCorpusFiles(): string[] {
  if (!existsSync(bundledCorpusDir)) return [];
  return readdirSync(bundledCorpusDir)
    .filter((n) => n.endsWith('.txt'))
    .sort()
    .map((n) => join(bundledCorpusDir, n));
}

/** Non-blank lines of corpus files, each one text. */
export function readCorpus(files: readonly string[]): CorpusLine[] {
  const lines: CorpusLine[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .forEach((text, i) => {
        if (text.trim() !== '') lines.push({ file, line: i + 1, text });
      });
  }
  return lines;
}

/** Classes whose entries, when found inside an entry's text, are found wherever that entry is. */
const COVERED_BY: Record<ModeClass, readonly ModeClass[]> = {
  token: ['token', 'prefix', 'aggressive'],
  prefix: ['prefix', 'aggressive'],
  aggressive: ['aggressive'],
  hashtag: ['hashtag'],
};

const CLASS_LABEL: Record<ModeClass, string> = { token: 'word/phrase', prefix: 'prefix', aggressive: 'aggressive', hashtag: 'hashtag' };

function quote(s: string): string {
  return JSON.stringify(s);
}

/** An exclusion's `terms` name terms as written, and hashtags as "#tag" (the lexicon compares them exactly). */
const names = (entry: Entry, name: string) => entry.names.includes(name);
const looselyNames = (entry: Entry, name: string) => entry.names.some((m) => m.replace(/^#/, '').toLowerCase() === name.trim().replace(/^#/, '').toLowerCase());

function tryCompile(topics: TopicDefinition[]): { lexicon?: Lexicon; error?: string } {
  try {
    return { lexicon: compileLexicon(topics) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function fileIdProblems(items: { file: string; value: { id: string } }[]): ConfigProblem[] {
  // The same rules as at start-up: the id names the file, and ids are unique.
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  for (const { file, value } of items) {
    const stem = basename(file, extname(file));
    if (stem !== value.id) problems.push({ source: file, path: 'id', message: `topic id "${value.id}" must match the file name "${stem}"` });
    const first = seen.get(value.id);
    if (first) problems.push({ source: file, path: 'id', message: `duplicate topic id "${value.id}" (also in ${first})` });
    else seen.set(value.id, file);
  }
  return problems;
}

const pct = (share: number) => `${(share * 100).toFixed(share < 0.001 && share > 0 ? 3 : 2)}%`;

/**
 * Lints a folder of topic files: validity, then list-quality checks that run through the real
 * lexicon (so that they follow its normalization and matching modes), then false-positive risk
 * on a benign corpus.
 */
export function lintTopics(options: LintOptions): LintReport {
  return lintCore(options).report;
}

/**
 * `lintTopics`, then, with `labelled`, the lists measured on labelled data: per term its hits
 * per label and precision, per topic recall and false-positive rates, and findings for terms
 * that hit mostly benign or offensive rows, or nothing at all.
 */
export async function lintLists(options: LintOptions): Promise<LintReport> {
  const { report, lists } = lintCore(options);
  const opts = options.labelled;
  if (!opts) return report;
  const split = opts.split ?? 'all';
  const data = await readLabelled(opts.file, split, opts.onBadLine);
  const figures = lists
    ? labelledFigures(lists.topics, lists.entries, lists.lexicon, data.rows)
    : { rows: data.rows.length, labels: {}, terms: [], topics: [] };
  const labelled: LabelledReport = { file: opts.file, split, otherSplit: data.otherSplit, truncated: data.truncated, badLines: data.bad.length, ...figures };
  report.labelled = labelled;
  report.findings.push(...labelledFindings(labelled, opts.minHits ?? DEFAULT_MIN_HITS, opts.maxBenignShare ?? DEFAULT_MAX_BENIGN_SHARE));
  return report;
}

/**
 * The linter the API runs on a changed topic: the whole proposed set is checked (so that terms
 * shared with other topics are seen), and the changed topic's findings are returned: errors
 * refuse the change, warnings go with it. The corpus is read once.
 */
export function topicLinter(options: { corpusFiles?: readonly string[] } = {}): TopicLinter {
  let corpus: CorpusLine[] | undefined;
  return (topics, changed) => {
    corpus ??= readCorpus(options.corpusFiles ?? bundledCorpusFiles());
    const label = (id: string) => `topic:${id}`;
    const { findings } = lintTopics({ topicsDir: 'topics', definitions: topics.map((value) => ({ file: label(value.id), value })), corpus });
    const mine = findings.filter((f) => f.topic === changed || f.file === label(changed));
    const issue = (f: LintFinding) => ({ path: f.path, message: f.term === undefined ? f.message : `${JSON.stringify(f.term)} ${f.message}`, kind: f.kind });
    return { errors: mine.filter((f) => f.severity === 'error').map(issue), warnings: mine.filter((f) => f.severity === 'warning').map(issue) };
  };
}

function labelledFindings(report: LabelledReport, minHits: number, maxBenignShare: number): LintFinding[] {
  const topicRows = new Map(report.topics.map((t) => [t.topic, t.recall.rows]));
  const findings: LintFinding[] = [];
  for (const t of report.terms) {
    const at = { file: t.file, path: t.path, topic: t.topic, term: t.term };
    const labelled = { hits: t.hits, own: t.own, benign: t.benign, offensive: t.offensive, precision: t.precision, byLabel: t.byLabel };
    if (t.hits === 0) {
      const none = topicRows.get(t.topic) === 0 ? ', none of which is labelled with this topic' : '';
      findings.push({ severity: 'info', kind: 'labelled-no-hits', ...at, message: `matches none of the ${report.rows} labelled rows${none}`, labelled });
      continue;
    }
    const against = t.benign + t.offensive;
    if (t.hits < minHits || against / t.hits <= maxBenignShare) continue;
    findings.push({
      severity: 'warning',
      kind: 'labelled-benign-hits',
      ...at,
      message:
        `${against} of its ${t.hits} hits on labelled rows are benign (${t.benign}) or offensive (${t.offensive}); ` +
        `precision on its own topic ${pct(t.precision ?? 0)}: false-positive risk; consider a phrase, an exclusion or a lower weight`,
      labelled,
    });
  }
  return findings;
}

/** The lists as checked: the topics that compiled, their entries and the real lexicon. */
interface CheckedLists {
  topics: { file: string; value: TopicDefinition }[];
  entries: Entry[];
  lexicon: Lexicon;
}

function lintCore(options: LintOptions): { report: LintReport; lists?: CheckedLists } {
  const corpusFiles = options.corpusFiles ?? bundledCorpusFiles();
  const minLines = options.corpusMinLines ?? DEFAULT_MIN_LINES;
  const maxShare = options.corpusMaxShare ?? DEFAULT_MAX_SHARE;
  const findings: LintFinding[] = [];

  const loaded = options.definitions
    ? { items: [...options.definitions], problems: [], rejected: [] }
    : loadDataFiles(options.topicsDir, topicDefinitionSchema);
  // Definitions given in memory are not files: their ids name nothing on disk.
  const problems = [...loaded.problems, ...(options.definitions ? [] : fileIdProblems(loaded.items))];
  if (loaded.items.length === 0 && loaded.problems.length === 0)
    problems.push({ source: options.topicsDir, path: '', message: 'no topic files (*.yaml, *.yml, *.json) found' });
  for (const p of problems) findings.push({ severity: 'error', kind: 'invalid', file: p.source, path: p.path, message: p.message });

  // A topic the lexicon cannot compile is reported and left out of the other checks.
  let topics = loaded.items;
  let real = tryCompile(topics.map((t) => t.value));
  if (real.error) {
    topics = topics.filter(({ file, value }) => {
      const { error } = tryCompile([value]);
      if (error) findings.push({ severity: 'error', kind: 'compile-failed', file, path: '', topic: value.id, message: `the lexicon cannot compile this topic: ${error}` });
      return !error;
    });
    real = tryCompile(topics.map((t) => t.value));
  }
  for (const { file, value } of topics) {
    if (value.terms.length === 0 && value.hashtags.length === 0)
      findings.push({ severity: 'warning', kind: 'no-terms', file, path: '', topic: value.id, message: 'has neither terms nor hashtags: the lexicon never scores this topic' });
  }

  const entries = collectEntries(topics);
  const corpus = options.corpus ? [...options.corpus] : readCorpus(corpusFiles);
  const report = (): LintReport => ({ findings, topicFiles: loaded.items.length + loaded.rejected.length, entries: entries.length, corpusLines: corpus.length, corpusFiles });
  if (entries.length === 0) return { report: report() };

  // Without exclusions: what the lists say; with them: what a signal really gets.
  const plain = tryCompile(topics.map(({ value }) => ({ ...value, exclusions: [] })));
  if (!plain.lexicon || !real.lexicon) {
    findings.push({ severity: 'error', kind: 'compile-failed', file: options.topicsDir, path: '', message: `the lexicon cannot compile these lists together: ${plain.error ?? real.error}` });
    return { report: report() };
  }
  const keys = entries.map((e) => entryKey(e.topic.id, e.display));
  const plainLex = indexed(plain.lexicon, keys);
  const realLex = indexed(real.lexicon, keys);

  // found[i]: entries found in entry i's own text (itself included, when it can match at all).
  const found = entries.map((e) => matchedEntries(plainLex, e.input));
  const live = entries.map((e) => found[e.index]!.has(e.index));
  const covers = (j: Entry, i: Entry) =>
    j.index !== i.index && live[j.index] && found[i.index]!.has(j.index) && COVERED_BY[i.cls].includes(j.cls) && (!j.lang || j.lang === i.lang);
  const equivalent = (a: Entry, b: Entry) => a.cls === b.cls && a.lang === b.lang && covers(a, b) && covers(b, a);

  for (const e of entries) {
    const at = { file: e.file, path: e.path, topic: e.topic.id, term: e.display };
    if (!live[e.index]) {
      findings.push({ severity: 'warning', kind: 'unmatchable-term', ...at, message: 'never matches, not even its own text (it normalizes to nothing the lexicon can match)' });
      continue;
    }
    if (!matchedEntries(realLex, e.input).has(e.index)) {
      findings.push({ severity: 'warning', kind: 'excluded-term', ...at, message: 'an exclusion of this topic cancels it even in its own text: it never counts' });
      continue;
    }
    const rel = (o: Entry) => ({ file: o.file, path: o.path, topic: o.topic.id, term: o.display });
    // Only entries found in this entry's text can duplicate or shadow it.
    const inText = [...found[e.index]!].sort((a, b) => a - b).map((i) => entries[i]!);
    const earlier = inText.filter((o) => o.index < e.index && equivalent(o, e));
    const twin = earlier.find((o) => o.topic === e.topic);
    if (twin) {
      const message = twin.display === e.display
        ? `is listed twice (also at ${twin.path}); keep one`
        : `matches exactly the texts ${quote(twin.display)} (${twin.path}) matches: one mention scores both (${twin.weight} + ${e.weight}); keep one`;
      findings.push({ severity: 'warning', kind: 'duplicate-term', ...at, message, related: rel(twin) });
    }
    // Same term in another topic: reported once per pair of topics, on the later entry.
    const otherTopics = new Set<string>();
    for (const o of earlier) {
      if (o.topic === e.topic || otherTopics.has(o.topic.id)) continue;
      otherTopics.add(o.topic.id);
      findings.push({
        severity: 'info',
        kind: 'cross-topic-term',
        ...at,
        message: `is also listed in topic ${quote(o.topic.id)} (${o.file} at ${o.path}): one mention counts for both topics`,
        related: rel(o),
      });
    }
    if (twin) continue;
    const shadows = inText.filter((o) => o.topic === e.topic && covers(o, e) && !equivalent(o, e));
    const by = shadows[0];
    if (by) {
      const more = shadows.length > 1 ? ` (and ${shadows.length - 1} more)` : '';
      const decides = by.weight >= e.topic.thresholds.lexicon;
      const kindOf = (x: Entry) => (x.cls === e.cls ? '' : `${CLASS_LABEL[x.cls]} term `);
      const message =
        `${by.cls === e.cls ? '' : `(${CLASS_LABEL[e.cls]}) `}can never match without ${kindOf(by)}${quote(by.display)} (${by.path})${more} also matching; ` +
        (decides
          ? `that one alone already reaches the topic threshold (${e.topic.thresholds.lexicon}), so this entry never changes a decision`
          : `it only adds its weight (${e.weight}) on top, which is fine if that escalation is intended`);
      findings.push({ severity: decides ? 'warning' : 'info', kind: 'shadowed-term', ...at, message, related: rel(by) });
    }
  }

  findings.push(...exclusionFindings(topics, entries, plainLex));
  findings.push(...corpusFindings(entries, realLex, corpus, minLines, maxShare));
  return { report: report(), lists: { topics, entries, lexicon: real.lexicon } };
}

function exclusionFindings(topics: { file: string; value: TopicDefinition }[], entries: Entry[], plainLex: IndexedLexicon): LintFinding[] {
  const findings: LintFinding[] = [];
  const all = topics.flatMap(({ file, value }) =>
    value.exclusions.map((x, i) => ({ file, topic: value, path: `exclusions.${i}`, phrase: typeof x === 'string' ? x : x.phrase, terms: typeof x === 'string' ? undefined : x.terms })),
  );
  if (all.length === 0) return findings;
  // Exclusions compiled as terms, to find the ones inside a term's own text ("prevention" in "suicide prevention").
  const compiled = tryCompile(topics.map(({ value }) => ({ ...value, terms: [...new Set(value.exclusions.map((x) => (typeof x === 'string' ? x : x.phrase)))], hashtags: [], exclusions: [] })));
  const asTerms = compiled.lexicon && indexed(compiled.lexicon, all.map((x) => entryKey(x.topic.id, x.phrase)));
  const inside = new Map<number, Set<number>>();
  for (const e of entries) {
    if (e.cls === 'hashtag' || !asTerms) continue;
    for (const k of matchedEntries(asTerms, e.input)) {
      const set = inside.get(k) ?? new Set<number>();
      inside.set(k, set.add(e.index));
    }
  }
  const byTopic = new Map<TopicDefinition, Entry[]>();
  for (const e of entries) {
    const list = byTopic.get(e.topic);
    if (list) list.push(e);
    else byTopic.set(e.topic, [e]);
  }
  all.forEach((x, k) => {
    const own = byTopic.get(x.topic) ?? [];
    const at = { file: x.file, path: x.path, topic: x.topic.id, term: x.phrase };
    let candidates = own;
    if (x.terms) {
      const named = x.terms.map((n, t) => ({ n, t, hits: own.filter((e) => names(e, n)) }));
      for (const { n, t, hits } of named) {
        if (hits.length > 0) continue;
        const near = own.find((e) => looselyNames(e, n));
        findings.push({
          severity: 'warning',
          kind: 'unknown-exclusion-term',
          ...at,
          path: `${x.path}.terms.${t}`,
          message:
            `names ${quote(n)}, which is not a term or hashtag of this topic, so it cancels nothing for it` +
            (near ? `; write it exactly as listed: ${quote(near.display)}` : ' (terms are named exactly as written, hashtags as "#tag")'),
        });
      }
      candidates = named.flatMap((n) => n.hits);
      if (candidates.length === 0) {
        findings.push({ severity: 'warning', kind: 'dead-exclusion', ...at, message: 'names no term of this topic, so it never applies' });
        return;
      }
    }
    const ids = new Set(candidates.map((e) => e.index));
    const contains = [...matchedEntries(plainLex, { text: x.phrase, hashtags: [] })].some((i) => ids.has(i));
    const contained = [...(inside.get(k) ?? [])].some((i) => ids.has(i));
    if (!contains && !contained) {
      const scope = x.terms ? 'the terms it names' : "this topic's terms";
      findings.push({
        severity: 'warning',
        kind: 'dead-exclusion',
        ...at,
        message: `contains none of ${scope} (and none contains it), so it can never overlap a match: it cancels nothing`,
      });
    }
  });
  return findings;
}

function corpusFindings(entries: Entry[], realLex: IndexedLexicon, corpus: CorpusLine[], minLines: number, maxShare: number): LintFinding[] {
  if (corpus.length === 0) return [];
  const hits = new Map<number, CorpusLine[]>();
  const counts = new Map<number, number>();
  for (const line of corpus) {
    for (const i of matchedEntries(realLex, { text: line.text, hashtags: [] })) {
      counts.set(i, (counts.get(i) ?? 0) + 1);
      const ex = hits.get(i) ?? [];
      if (ex.length < MAX_EXAMPLES) hits.set(i, [...ex, line]);
    }
  }
  const findings: LintFinding[] = [];
  for (const e of entries) {
    const lines = counts.get(e.index);
    if (!lines) continue;
    const share = lines / corpus.length;
    const risky = lines >= minLines || share >= maxShare;
    findings.push({
      severity: risky ? 'warning' : 'info',
      kind: 'corpus-hits',
      file: e.file,
      path: e.path,
      topic: e.topic.id,
      term: e.display,
      message:
        `matches ${lines} of ${corpus.length} benign corpus lines (${pct(share)})` +
        (risky ? ': false-positive risk; consider a phrase, an exclusion or a lower weight' : ''),
      corpus: { lines, totalLines: corpus.length, share: Math.round(share * 1e6) / 1e6, examples: hits.get(e.index) ?? [] },
    });
  }
  return findings;
}

/** Findings of one file together, most severe first, then in file order. */
export function sortFindings(findings: readonly LintFinding[]): LintFinding[] {
  const rank = (s: Severity) => severities.indexOf(s);
  const pathKey = (p: string) => p.replace(/\d+/g, (d) => d.padStart(6, '0'));
  return [...findings].sort(
    (a, b) => a.file.localeCompare(b.file) || rank(a.severity) - rank(b.severity) || pathKey(a.path).localeCompare(pathKey(b.path)) || a.kind.localeCompare(b.kind),
  );
}

/** Human-readable lines, grouped by file. */
export function formatFindings(findings: readonly LintFinding[]): string {
  const out: string[] = [];
  let file: string | undefined;
  for (const f of sortFindings(findings)) {
    if (f.file !== file) {
      if (file !== undefined) out.push('');
      out.push(f.file);
      file = f.file;
    }
    const where = f.path ? `${f.path}${f.term !== undefined && f.kind !== 'invalid' ? ` ${quote(f.term)}` : ''}` : '(file)';
    out.push(`  ${f.severity.padEnd(7)} ${where}: ${f.message} [${f.kind}]`);
    for (const ex of f.corpus?.examples ?? []) out.push(`          ${basename(ex.file)}:${ex.line}: ${ex.text}`);
  }
  return out.join('\n');
}

export function countBySeverity(findings: readonly LintFinding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

const rateText = (r: { hits: number; rows: number; rate: number | null }) => (r.rate === null ? 'n/a' : `${pct(r.rate)} (${r.hits}/${r.rows})`);
const shareText = (x: number | null) => (x === null ? 'n/a' : pct(x));

/** The figures of `--labelled` as two tables: per topic, then per term. */
export function formatLabelled(report: LabelledReport): string {
  const out: string[] = [];
  const labels = Object.entries(report.labels).map(([l, n]) => `${l} ${n}`).join(', ');
  const cut = report.truncated > 0 ? `, ${report.truncated} cut to a signal's 10,000 characters` : '';
  out.push(`labelled data ${report.file}, split ${report.split}: ${report.rows} rows (${labels || 'none'})${cut}, ${report.badLines} bad line${report.badLines === 1 ? '' : 's'}`);
  out.push('');
  const topicRows: string[][] = [['topic', 'recall', 'benign FP', 'offensive FP', 'precision']];
  for (const t of report.topics) {
    topicRows.push([t.topic, rateText(t.recall), rateText(t.benign), rateText(t.offensive), shareText(t.precision)]);
    // Per data set only where the topic's rows come from more than one.
    if (t.datasets.length > 1) for (const d of t.datasets) topicRows.push([`  ${d.dataset}`, rateText(d.recall), rateText(d.benign), '', '']);
  }
  out.push(...table(topicRows, [false, true, true, true, true]));
  out.push('');
  const termRows: string[][] = [['topic', 'entry', 'hits', 'own', 'benign', 'offensive', 'precision', 'hits by label']];
  for (const t of report.terms) {
    const byLabel = Object.entries(t.byLabel).map(([l, n]) => `${l} ${n}`).join(', ');
    termRows.push([t.topic, `${t.path} ${quote(t.term)}`, String(t.hits), String(t.own), String(t.benign), String(t.offensive), shareText(t.precision), byLabel]);
  }
  out.push(...table(termRows, [false, false, true, true, true, true, true, false]));
  return out.join('\n');
}

/**
 * With --json, after the findings: one line per topic (`"kind":"labelled-topic"`) and one per
 * term and hashtag (`"kind":"labelled-term"`), then one for the data (`"kind":"labelled-data"`).
 * These lines are figures, not findings: they have no severity.
 */
export function labelledJsonLines(report: LabelledReport | undefined): object[] {
  if (!report) return [];
  const { terms, topics, ...data } = report;
  return [
    ...topics.map((t) => ({ kind: 'labelled-topic', ...t })),
    ...terms.map((t) => ({ kind: 'labelled-term', ...t })),
    { kind: 'labelled-data', ...data },
  ];
}

/** Columns padded to their widest cell; numbers right-aligned. */
function table(rows: string[][], right: boolean[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 && !right[c] ? cell : right[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

export interface ListsLintOptions extends LintOptions {
  json?: boolean;
  /** Print findings of at least this severity (all are still counted). */
  minSeverity?: Severity;
}

/**
 * `surgewatch lists lint`: prints findings (human-readable, or one JSON object per line with
 * --json) and returns the exit code: 1 when there are errors, 0 otherwise.
 */
export async function listsLintCommand(
  options: ListsLintOptions,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  // Bad lines of the labelled file are reported as they are read, in the other commands' format.
  const labelled = options.labelled && { onBadLine: (b: BadLabelledLine) => io.stderr.write(`${JSON.stringify(b)}\n`), ...options.labelled };
  const report = await lintLists({ ...options, ...(labelled && { labelled }) });
  const shown = report.findings.filter((f) => severities.indexOf(f.severity) <= severities.indexOf(options.minSeverity ?? 'info'));
  const counts = countBySeverity(report.findings);
  const summary =
    `${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}, ${counts.info} info ` +
    `(${report.topicFiles} topic file${report.topicFiles === 1 ? '' : 's'}, ${report.entries} terms and hashtags, ${report.corpusLines} corpus lines` +
    (report.labelled ? `, ${report.labelled.rows} labelled rows of split ${report.labelled.split}, ${report.labelled.badLines} bad line${report.labelled.badLines === 1 ? '' : 's'})` : ')');
  if (options.json) {
    for (const f of sortFindings(shown)) io.stdout.write(`${JSON.stringify(f)}\n`);
    for (const line of labelledJsonLines(report.labelled)) io.stdout.write(`${JSON.stringify(line)}\n`);
    io.stderr.write(`${summary}\n`);
  } else {
    if (shown.length > 0) io.stdout.write(`${formatFindings(shown)}\n\n`);
    if (report.labelled) io.stdout.write(`${formatLabelled(report.labelled)}\n\n`);
    io.stdout.write(`${summary}\n`);
  }
  return counts.error > 0 ? 1 : 0;
}
