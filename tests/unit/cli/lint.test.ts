import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { bundledCorpusFiles, lintLists, lintTopics, listsLintCommand, readCorpus, type LintFinding, type LintOptions } from '../../../src/cli/lint.js';
import { readLabelled } from '../../../src/cli/lint-labelled.js';
import { splitOf } from '../../../src/training/labelled.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary folder holding the given files. */
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'surgewatch-lint-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A topic file's YAML; `body` holds terms, hashtags, exclusions, thresholds. */
function topic(id: string, body: string): string {
  return `id: ${id}\nname: ${id}\nseverity: high\n${body}`;
}

/** Lints topic files with a corpus of the given lines (none by default). */
function lint(topics: Record<string, string>, corpus: string[] = [], options: Partial<LintOptions> = {}) {
  const topicsDir = folder(topics);
  const corpusFile = join(folder({ 'corpus.txt': corpus.join('\n') }), 'corpus.txt');
  const report = lintTopics({ topicsDir, corpusFiles: [corpusFile], ...options });
  return { ...report, topicsDir, corpusFile, of: (kind: LintFinding['kind']) => report.findings.filter((f) => f.kind === kind) };
}

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const read = (s: PassThrough) => (s.read() as Buffer | null)?.toString('utf8') ?? '';
  return { stdout, stderr, out: () => read(stdout), err: () => read(stderr) };
}

describe('lists lint', () => {
  it('finds nothing to say about a clean list', async () => {
    const topicsDir = folder({
      'self-harm.yaml': topic('self-harm', 'terms: [kill myself, { term: goodbye forever, weight: 0.5 }]\nhashtags: [wanttodie]\nexclusions: [kill myself laughing]\n'),
      'scams.yaml': topic('scams', 'terms: [double your bitcoin]\n'),
    });
    const corpus = join(folder({ 'c.txt': 'the cat sat on the mat\nI could kill myself laughing at this\n\nbitcoin price is down\n' }), 'c.txt');
    expect(lintTopics({ topicsDir, corpusFiles: [corpus] }).findings).toEqual([]);

    const out = io();
    expect(await listsLintCommand({ topicsDir, corpusFiles: [corpus] }, out)).toBe(0);
    expect(out.out()).toBe('0 errors, 0 warnings, 0 info (2 topic files, 4 terms and hashtags, 3 corpus lines)\n');
  });

  it('reports an invalid file with the file and the entry, and exits 1', async () => {
    const r = lint({
      'self-harm.yaml': topic('self-harm', 'terms:\n  - kill myself\n  - { term: want to die, weight: 50 }\n'),
      'broken.yaml': 'id: broken\nterms: [unclosed\n',
      'scams.yaml': topic('not-scams', 'terms: [double your bitcoin]\n'),
    });
    const invalid = r.of('invalid');
    expect(invalid).toContainEqual({
      severity: 'error',
      kind: 'invalid',
      file: join(r.topicsDir, 'self-harm.yaml'),
      path: 'terms.1.weight',
      message: 'Too big: expected number to be <=10',
    });
    expect(invalid).toContainEqual(expect.objectContaining({ severity: 'error', file: join(r.topicsDir, 'broken.yaml'), path: '', message: expect.stringMatching(/^cannot parse/) }));
    expect(invalid).toContainEqual(
      expect.objectContaining({ file: join(r.topicsDir, 'scams.yaml'), path: 'id', message: 'topic id "not-scams" must match the file name "scams"' }),
    );

    const out = io();
    expect(await listsLintCommand({ topicsDir: r.topicsDir, corpusFiles: [] }, out)).toBe(1);
    const text = out.out();
    expect(text).toContain(`${join(r.topicsDir, 'self-harm.yaml')}\n  error   terms.1.weight: Too big: expected number to be <=10 [invalid]`);
    expect(text).toMatch(/^3 errors, 0 warnings, 0 info \(3 topic files/m);
  });

  it('reports an empty or missing folder as an error', () => {
    expect(lint({}).findings).toEqual([expect.objectContaining({ severity: 'error', kind: 'invalid', message: 'no topic files (*.yaml, *.yml, *.json) found' })]);
  });

  it('finds two spellings of one term in a topic', () => {
    const r = lint({ 'self-harm.yaml': topic('self-harm', 'terms: [self harm, want to die, self-harm, want to die]\n') });
    expect(r.of('duplicate-term')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        path: 'terms.2',
        term: 'self-harm',
        topic: 'self-harm',
        message: 'matches exactly the texts "self harm" (terms.0) matches: one mention scores both (1 + 1); keep one',
        related: expect.objectContaining({ path: 'terms.0', term: 'self harm' }),
      }),
      expect.objectContaining({ severity: 'warning', path: 'terms.3', message: 'is listed twice (also at terms.1); keep one' }),
    ]);
    expect(r.of('shadowed-term')).toEqual([]);
  });

  it('finds a hashtag listed twice, with and without #', () => {
    const r = lint({ 't.yaml': topic('t', "hashtags: [selfharm, '#selfharm']\n") });
    expect(r.of('duplicate-term')).toEqual([expect.objectContaining({ path: 'hashtags.1', related: expect.objectContaining({ path: 'hashtags.0' }) })]);
  });

  it('finds a term that can never match without a shorter one of its topic', () => {
    const r = lint({ 'self-harm.yaml': topic('self-harm', 'terms: [kill myself now, kill myself, end my life]\n') });
    expect(r.of('shadowed-term')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        path: 'terms.0',
        term: 'kill myself now',
        message: expect.stringMatching(/^can never match without "kill myself" \(terms\.1\) also matching; that one alone already reaches the topic threshold/),
        related: expect.objectContaining({ path: 'terms.1' }),
      }),
    ]);
  });

  it('calls a shadowed term that can change the decision an escalation (info)', () => {
    const r = lint({ 'h.yaml': topic('h', 'thresholds: { lexicon: 2 }\nterms: [{ term: kill, weight: 1 }, { term: kill you, weight: 1 }]\n') });
    expect(r.of('shadowed-term')).toEqual([
      expect.objectContaining({ severity: 'info', path: 'terms.1', message: expect.stringContaining('it only adds its weight (1) on top') }),
    ]);
  });

  it('finds a word term shadowed by a prefix term, but not the other way round', () => {
    const r = lint({ 't.yaml': topic('t', 'terms: [suicidal, { term: suicid, mode: prefix }]\n') });
    expect(r.of('shadowed-term')).toEqual([
      expect.objectContaining({ path: 'terms.0', message: expect.stringMatching(/^\(word\/phrase\) can never match without prefix term "suicid" \(terms\.1\)/) }),
    ]);
  });

  it('knows a prefix term matches more than the same word, and a hashtag is not a word', () => {
    const r = lint({ 't.yaml': topic('t', 'terms: [suicidal, { term: suicidal, mode: prefix }, self harm]\nhashtags: [suicidal, selfharm]\n') });
    expect(r.of('shadowed-term')).toEqual([expect.objectContaining({ path: 'terms.0', related: expect.objectContaining({ path: 'terms.1' }) })]);
    expect(r.of('duplicate-term')).toEqual([]);
  });

  it('does not compare terms across languages as shadowing', () => {
    const r = lint({ 't.yaml': topic('t', 'terms: [{ term: kill myself now }, { term: kill myself, lang: es }]\n') });
    expect(r.of('shadowed-term')).toEqual([]);
  });

  it('finds a term listed in two topics, once, on the later file', () => {
    const r = lint({
      'a-scams.yaml': topic('a-scams', 'terms: [guaranteed returns]\n'),
      'b-spam.yaml': topic('b-spam', 'terms: [free followers, Guaranteed  Returns]\n'),
    });
    expect(r.of('cross-topic-term')).toEqual([
      expect.objectContaining({
        severity: 'info',
        file: join(r.topicsDir, 'b-spam.yaml'),
        path: 'terms.1',
        topic: 'b-spam',
        message: `is also listed in topic "a-scams" (${join(r.topicsDir, 'a-scams.yaml')} at terms.0): one mention counts for both topics`,
        related: expect.objectContaining({ topic: 'a-scams', path: 'terms.0' }),
      }),
    ]);
    expect(r.of('duplicate-term')).toEqual([]);
  });

  it('finds exclusions that can never apply, and keeps those that can', () => {
    const r = lint({
      'self-harm.yaml': topic(
        'self-harm',
        [
          'terms: [kill myself, blackout challenge]',
          'exclusions:',
          '  - suicide prevention', // contains no term
          '  - kill myself laughing', // contains a term
          '  - blackout', // inside a term: overlaps every match of it
          '  - { phrase: kill myself laughing, terms: [Kill Myself] }', // names a term not exactly
          '  - { phrase: blackout challenge is fake news, terms: [kill myself] }', // contains a term, but not the one it names
          '',
        ].join('\n'),
      ),
    });
    const dead = r.of('dead-exclusion');
    expect(dead.map((f) => f.path)).toEqual(['exclusions.0', 'exclusions.3', 'exclusions.4']);
    expect(dead[0]).toMatchObject({ severity: 'warning', term: 'suicide prevention', message: expect.stringContaining("contains none of this topic's terms") });
    expect(dead[1]!.message).toBe('names no term of this topic, so it never applies');
    expect(dead[2]!.message).toContain('contains none of the terms it names');
    expect(r.of('unknown-exclusion-term')).toEqual([
      expect.objectContaining({ path: 'exclusions.3.terms.0', message: expect.stringContaining('write it exactly as listed: "kill myself"') }),
    ]);
  });

  it('finds terms that never match', () => {
    const r = lint({ 't.yaml': topic('t', "terms: ['...', suicide squad, kill myself]\nexclusions: [suicide squad]\n") });
    expect(r.of('unmatchable-term')).toEqual([expect.objectContaining({ path: 'terms.0', term: '...' })]);
    expect(r.of('excluded-term')).toEqual([expect.objectContaining({ path: 'terms.1', term: 'suicide squad' })]);
  });

  it('warns about terms that match the benign corpus often, with examples, after exclusions', () => {
    const corpus = [
      'we shoot a video for the channel on saturday',
      'shoot me a message when you land',
      'the suicide squad movie was fun', // excluded
      'long story, but has anyone seen my cat',
      'shoot, I forgot my keys',
      'grape juice stains everything',
      'the weather is nice',
      'shoot hoops after work?',
    ];
    const r = lint({ 't.yaml': topic('t', 'terms: [shoot, grape, suicide, never in corpus]\nexclusions: [suicide squad]\n') }, corpus, { corpusMaxShare: 0.5 });
    expect(r.of('corpus-hits')).toEqual([
      {
        severity: 'warning',
        kind: 'corpus-hits',
        file: join(r.topicsDir, 't.yaml'),
        path: 'terms.0',
        topic: 't',
        term: 'shoot',
        message: 'matches 4 of 8 benign corpus lines (50.00%): false-positive risk; consider a phrase, an exclusion or a lower weight',
        corpus: {
          lines: 4,
          totalLines: 8,
          share: 0.5,
          examples: [
            { file: r.corpusFile, line: 1, text: corpus[0] },
            { file: r.corpusFile, line: 2, text: corpus[1] },
            { file: r.corpusFile, line: 5, text: corpus[4] },
          ],
        },
      },
      expect.objectContaining({ severity: 'info', path: 'terms.1', term: 'grape', message: 'matches 1 of 8 benign corpus lines (12.50%)' }),
    ]);
    // With the default share threshold (0.2%), one line in eight is already a risk.
    expect(lint({ 't.yaml': topic('t', 'terms: [grape]\n') }, corpus).of('corpus-hits')[0]!.severity).toBe('warning');
  });

  it('writes one JSON object per finding with --json, and the summary on stderr', async () => {
    const topicsDir = folder({ 'a.yaml': topic('a', 'terms: [self harm, self-harm]\n'), 'b.yaml': topic('b', 'terms: [{ term: x, weight: 0 }]\n') });
    const out = io();
    expect(await listsLintCommand({ topicsDir, corpusFiles: [], json: true }, out)).toBe(1);
    const lines = out.out().trimEnd().split('\n').map((l) => JSON.parse(l) as LintFinding);
    expect(lines).toEqual([
      expect.objectContaining({ severity: 'warning', kind: 'duplicate-term', file: join(topicsDir, 'a.yaml'), path: 'terms.1', term: 'self-harm' }),
      expect.objectContaining({ severity: 'error', kind: 'invalid', file: join(topicsDir, 'b.yaml'), path: 'terms.0.weight' }),
    ]);
    expect(out.err()).toMatch(/^1 error, 1 warning, 0 info/);
  });

  it('prints only findings of the chosen severity and above, but counts all', async () => {
    const topicsDir = folder({ 'a.yaml': topic('a', 'terms: [guaranteed returns]\n'), 'b.yaml': topic('b', 'terms: [guaranteed returns]\n') });
    const out = io();
    expect(await listsLintCommand({ topicsDir, corpusFiles: [], minSeverity: 'warning' }, out)).toBe(0);
    expect(out.out()).toBe('0 errors, 0 warnings, 1 info (2 topic files, 2 terms and hashtags, 0 corpus lines)\n');
  });

  it('lints the shipped lists against the bundled corpus without errors', () => {
    const files = bundledCorpusFiles();
    expect(files.map((f) => f.slice(repoRoot.length + 1))).toEqual(['config/corpus/benign-en.txt', 'config/corpus/benign-multi.txt']);
    expect(readCorpus(files).length).toBeGreaterThan(1600);
    const report = lintTopics({ topicsDir: join(repoRoot, 'config/topics') });
    expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(report.entries).toBeGreaterThan(50);
  });
});

describe('lists lint --labelled', () => {
  const fixture = join(repoRoot, 'tests/fixtures/labelled-small.jsonl');
  const topics = {
    'self-harm.yaml': topic('self-harm', 'terms: [kill myself, { term: goodbye forever, weight: 0.5 }]\nhashtags: [wanttodie]\nexclusions: [kill myself laughing]\n'),
    'scams-fraud.yaml': topic('scams-fraud', 'labels: [scam_fraud]\nterms: [free prize, wire the fee]\n'),
  };

  async function labelled(options: Partial<NonNullable<LintOptions['labelled']>> = {}) {
    const bad: { line: number; error: string }[] = [];
    const report = await lintLists({ topicsDir: folder(topics), corpusFiles: [], labelled: { file: fixture, onBadLine: (b) => bad.push(b), ...options } });
    return { report, bad, figures: report.labelled!, of: (kind: LintFinding['kind']) => report.findings.filter((f) => f.kind === kind) };
  }

  it('counts every term per label, with its precision on its own topic', async () => {
    const { figures } = await labelled();
    expect(figures.rows).toBe(12);
    expect(figures.labels).toEqual({ self_harm: 5, benign: 4, offensive: 1, scam_fraud: 1, spam: 1 });
    const term = (t: string) => figures.terms.find((x) => x.term === t);
    // "kill myself": two self-harm rows (one in leetspeak), and a benign, an offensive and a spam row;
    // "kill myself laughing" is excluded.
    expect(term('kill myself')).toEqual({
      file: expect.stringMatching(/self-harm\.yaml$/),
      path: 'terms.0',
      topic: 'self-harm',
      term: 'kill myself',
      hits: 5,
      own: 2,
      benign: 1,
      offensive: 1,
      precision: 0.4,
      byLabel: { self_harm: 2, benign: 1, offensive: 1, spam: 1 },
    });
    // A term below the threshold still counts its hits.
    expect(term('goodbye forever')).toMatchObject({ hits: 3, own: 2, benign: 1, offensive: 0, precision: 2 / 3 });
    expect(term('#wanttodie')).toMatchObject({ path: 'hashtags.0', hits: 1, own: 1, precision: 1 });
    // Data labels reach a topic through its `labels`.
    expect(term('free prize')).toMatchObject({ hits: 2, own: 1, benign: 1, precision: 0.5, byLabel: { benign: 1, scam_fraud: 1 } });
    expect(term('wire the fee')).toMatchObject({ hits: 0, precision: null, byLabel: {} });
  });

  it("reports each topic's recall and its false-positive rates on benign and offensive rows, per data set too", async () => {
    const { figures } = await labelled();
    const selfHarm = figures.topics.find((t) => t.topic === 'self-harm')!;
    // Hits: rows 1 and 3 (kill myself), 4 (hashtag); "goodbye forever" alone (0.5) stays under the threshold.
    expect(selfHarm).toMatchObject({
      labels: ['self_harm'],
      recall: { rows: 5, hits: 3, rate: 0.6 },
      benign: { rows: 4, hits: 1, rate: 0.25 },
      offensive: { rows: 1, hits: 1, rate: 1 },
      hits: 6,
      precision: 0.5,
      datasets: [
        { dataset: 'forum', recall: { rows: 3, hits: 2, rate: 2 / 3 }, benign: { rows: 2, hits: 1, rate: 0.5 } },
        { dataset: 'tweets', recall: { rows: 2, hits: 1, rate: 0.5 }, benign: { rows: 1, hits: 0, rate: 0 } },
      ],
    });
    expect(figures.topics.find((t) => t.topic === 'scams-fraud')).toMatchObject({
      labels: ['scam_fraud'],
      recall: { rows: 1, hits: 1, rate: 1 },
      benign: { rows: 4, hits: 1, rate: 0.25 },
      offensive: { rows: 1, hits: 0, rate: 0 },
      precision: 0.5,
    });
  });

  it('reports bad lines with their line number and skips them', async () => {
    const { bad, figures } = await labelled();
    expect(bad).toEqual([
      { line: 6, error: 'not_json', reason: expect.stringMatching(/^line is not JSON/) },
      { line: 13, error: 'invalid', reason: expect.stringContaining('topic') },
    ]);
    expect(figures.badLines).toBe(2);
  });

  it('warns about a term whose hits are mostly benign or offensive, once it has enough hits, and notes terms without hits', async () => {
    // By default (5 hits, more than half against) "kill myself" (2 of 5 against) is fine.
    expect((await labelled()).of('labelled-benign-hits')).toEqual([]);
    const strict = await labelled({ minHits: 3, maxBenignShare: 0.3 });
    expect(strict.of('labelled-benign-hits')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        path: 'terms.0',
        term: 'kill myself',
        message: expect.stringMatching(/^2 of its 5 hits on labelled rows are benign \(1\) or offensive \(1\); precision on its own topic 40\.00%/),
        labelled: expect.objectContaining({ hits: 5, benign: 1, offensive: 1 }),
      }),
      // "goodbye forever": 1 of 3 against; "free prize" has too few hits to judge.
      expect.objectContaining({ term: 'goodbye forever' }),
    ]);
    expect(strict.of('labelled-no-hits')).toEqual([expect.objectContaining({ severity: 'info', topic: 'scams-fraud', term: 'wire the fee', message: 'matches none of the 12 labelled rows' })]);
  });

  it('restricts the rows to one split by row id', async () => {
    const all = await readLabelled(fixture);
    const counts = await Promise.all((['train', 'calibration', 'test'] as const).map(async (split) => (await labelled({ split })).figures));
    expect(counts.map((f) => f.rows).reduce((a, b) => a + b)).toBe(all.rows.length);
    const ids = readFileSync(fixture, 'utf8').split('\n').flatMap((l) => (l.startsWith('{"id"') ? [(JSON.parse(l) as { id: string }).id] : []));
    expect(counts[2]!.rows).toBe(ids.filter((id) => splitOf(id) === 'test').length);
    expect(counts[2]!.otherSplit).toBe(all.rows.length - counts[2]!.rows);
  });

  it('prints a table per topic and per term, or JSON lines with --json, and bad lines on stderr', async () => {
    const topicsDir = folder(topics);
    const human = io();
    expect(await listsLintCommand({ topicsDir, corpusFiles: [], labelled: { file: fixture } }, human)).toBe(0);
    const text = human.out();
    expect(text).toMatch(/^labelled data .*labelled-small\.jsonl, split all: 12 rows \(self_harm 5, benign 4, offensive 1, scam_fraud 1, spam 1\), 2 bad lines$/m);
    expect(text).toMatch(/^self-harm +60\.00% \(3\/5\) +25\.00% \(1\/4\) +100\.00% \(1\/1\) +50\.00%$/m);
    expect(text).toMatch(/^ {2}forum +66\.67% \(2\/3\) +50\.00% \(1\/2\)$/m);
    expect(text).toMatch(/^self-harm +terms\.0 "kill myself" +5 +2 +1 +1 +40\.00% +self_harm 2, benign 1, offensive 1, spam 1$/m);
    expect(text).toMatch(/12 labelled rows of split all, 2 bad lines\)\n$/);
    expect(human.err().trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { line: 6, error: 'not_json', reason: expect.stringMatching(/^line is not JSON/) },
      { line: 13, error: 'invalid', reason: expect.any(String) },
    ]);

    const json = io();
    expect(await listsLintCommand({ topicsDir, corpusFiles: [], json: true, labelled: { file: fixture } }, json)).toBe(0);
    const lines = json.out().trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; topic?: string; term?: string });
    expect(lines.filter((l) => l.kind === 'labelled-no-hits').map((l) => l.term)).toEqual(['wire the fee']);
    expect(lines.filter((l) => l.kind === 'labelled-topic').map((l) => l.topic)).toEqual(['scams-fraud', 'self-harm']);
    expect(lines.filter((l) => l.kind === 'labelled-term')).toHaveLength(5);
    expect(lines.find((l) => l.kind === 'labelled-term' && l.term === 'kill myself')).toMatchObject({ hits: 5, own: 2, precision: 0.4 });
    expect(lines.at(-1)).toMatchObject({ kind: 'labelled-data', rows: 12, badLines: 2, split: 'all' });
  });
});
