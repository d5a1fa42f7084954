/**
 * `npm run bench` (second part): normalize + match at list scale, surgewatch's lexicon against
 * two baselines built from the same 10,000 terms:
 *   - regex: one case-insensitive RegExp per term with \b boundaries, tried in turn on the text
 *     after NFKC + lower case (what a team writes first);
 *   - obscenity: its RegExpMatcher with `englishRecommendedTransformers` (confusables, leetspeak,
 *     lower case, collapsed duplicates), the terms as its blacklist.
 * Inputs: the bundled benign corpus, plus evasion variants of the shipped lists' terms (spaced,
 * dotted, leetspeak, look-alikes, ...). Prints throughput (one thread: signals/s per core),
 * evasion recall by kind and false positives on the benign corpus. Asserts nothing.
 *
 * BENCH_LEXICON_TERMS (default 10000) and BENCH_LEXICON_MS (time per throughput figure, default
 * 3000) tune it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataSet, englishRecommendedTransformers, parseRawPattern, RegExpMatcher } from 'obscenity';
import { loadDataFiles } from '../src/config/load.js';
import { termObject, topicDefinitionSchema, type MatchMode, type TopicDefinition } from '../src/config/topic-schema.js';
import { compileLexicon } from '../src/scoring/lexicon.js';
import { createRng } from '../src/worker/sample-stream.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TERM_COUNT = Number(process.env.BENCH_LEXICON_TERMS ?? 10_000);
const MIN_MS = Number(process.env.BENCH_LEXICON_MS ?? 3000);

// ---------------------------------------------------------------------------------------------
// Terms: the shipped lists, then generated ones up to TERM_COUNT.

/** One listed entry as every engine sees it. */
interface Entry {
  topic: string;
  term: string;
  mode: MatchMode;
  shipped: boolean;
}

const shippedTopics = loadDataFiles(join(root, 'config/topics'), topicDefinitionSchema).items.map((i) => i.value);
const entries: Entry[] = [];
for (const t of shippedTopics) {
  for (const raw of t.terms) {
    const o = termObject(raw);
    entries.push({ topic: t.id, term: o.term, mode: o.mode ?? (o.term.trim().includes(' ') ? 'phrase' : 'word'), shipped: true });
  }
  for (const tag of t.hashtags) entries.push({ topic: t.id, term: tag.replace(/^#+/, ''), mode: 'hashtag', shipped: true });
}
const shippedCount = entries.length;

/** Exclusions of the shipped topics, for the baselines (surgewatch reads them from the topics). */
const exclusions = shippedTopics.flatMap((t) =>
  t.exclusions.map((x) => (typeof x === 'string' ? { topic: t.id, phrase: x, terms: undefined } : { topic: t.id, phrase: x.phrase, terms: x.terms ? new Set(x.terms) : undefined })),
);

// A deterministic PRNG, so that every run lists the same terms.
const rand = createRng(20_261_122);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

// The shape of real trust & safety lists: marketplace and fraud phrases, spam and engagement
// bait, coded single words (invented here), hashtags built from them.
const VERBS = ['buy', 'sell', 'selling', 'order', 'cop', 'get', 'ship', 'need', 'want', 'trade', 'swap', 'dm for', 'plug for', 'where to buy', 'who has', 'looking for', 'hmu for', 'got', 'restocked', 'dropping'];
const ITEMS = [
  'xanax bars', 'oxy', 'percs', 'pressed pills', 'lean', 'molly', 'ket', 'adderall', 'roxies', 'fent', 'carts', 'shrooms', 'steroids', 'tramadol', 'codeine',
  'glock switch', 'auto sear', 'ghost gun', 'bump stock', '80 lower', 'suppressor kit', 'solvent trap',
  'fake id', 'cloned card', 'bank logs', 'fullz', 'cvv', 'dumps', 'paypal logs', 'cashapp flips', 'gift card codes', 'sim swap', 'otp bot', 'drop accounts',
  'followers', 'likes', 'views', 'verified badge', 'aged accounts', 'hacked accounts', 'stolen accounts', 'fake reviews', 'exam answers', 'counterfeit bills',
  'burner numbers', 'spoofed calls', 'phishing kit', 'scam page', 'loan approval', 'crypto signals', 'forex signals', 'investment plan', 'mining contract',
];
const CHANNELS = ['online', 'no prescription', 'overnight shipping', 'discreet shipping', 'link in bio', 'on telegram', 'on signal', 'cashapp only', 'same day', 'worldwide', 'in bulk', 'legit vendor', 'no kyc', 'fast delivery', 'dm me', 'tap in'];
const ADJECTIVES = ['cheap', 'legit', 'real', 'fresh', 'verified', 'pure', 'bulk', 'instant', 'guaranteed', 'untraceable', 'premium'];
const TEMPLATES: ((v: string, i: string, c: string, a: string) => string)[] = [
  (v, i) => `${v} ${i}`,
  (_v, i, c) => `${i} ${c}`,
  (v, i, c) => `${v} ${i} ${c}`,
  (_v, i) => `${i} for sale`,
  (_v, i, _c, a) => `${a} ${i}`,
  (v, i, _c, a) => `${v} ${a} ${i}`,
  (_v, i, c, a) => `${a} ${i} ${c}`,
];
const SYLLABLES = ['za', 'ko', 'vri', 'mel', 'tox', 'qua', 'ben', 'ryl', 'dro', 'fex', 'lum', 'pra', 'zin', 'gor', 'vak', 'sti', 'nub', 'yel', 'throm', 'quix', 'plu', 'kez', 'mav', 'oro'];
const codedWord = () => Array.from({ length: 2 + Math.floor(rand() * 2) }, () => pick(SYLLABLES)).join('');

const seen = new Set(entries.map((e) => e.term.toLowerCase()));
const generatedTopics = 40;
for (let n = 0; entries.length < TERM_COUNT; n++) {
  const r = rand();
  let term: string;
  let mode: MatchMode;
  if (r < 0.6) {
    term = pick(TEMPLATES)(pick(VERBS), pick(ITEMS), pick(CHANNELS), pick(ADJECTIVES));
    mode = 'phrase';
  } else if (r < 0.85) {
    term = codedWord();
    mode = 'word';
  } else if (r < 0.95) {
    term = rand() < 0.5 ? codedWord() + pick(['plug', 'vendor', 'drop', 'sale', 'club']) : `${pick(ITEMS)} ${pick(CHANNELS)}`.replace(/\s+/g, '');
    mode = 'hashtag';
  } else {
    term = codedWord();
    mode = term.length >= 5 ? 'prefix' : 'word';
  }
  if (seen.has(term)) continue;
  seen.add(term);
  entries.push({ topic: `gen-${String(n % generatedTopics).padStart(2, '0')}`, term, mode, shipped: false });
}

// surgewatch sees the generated terms as topics of their own, next to the shipped ones.
const genDefs = new Map<string, TopicDefinition>();
for (const e of entries.slice(shippedCount)) {
  const def = genDefs.get(e.topic) ?? topicDefinitionSchema.parse({ id: e.topic, name: e.topic, severity: 'medium' });
  if (e.mode === 'hashtag') def.hashtags.push(e.term);
  else def.terms.push(e.mode === 'word' || e.mode === 'phrase' ? e.term : { term: e.term, weight: 1, mode: e.mode });
  genDefs.set(e.topic, def);
}
const allTopics = [...shippedTopics, ...genDefs.values()];

// ---------------------------------------------------------------------------------------------
// Inputs: the benign corpus and evasion variants of the shipped lists' word and phrase terms.

const corpusDir = join(root, 'config/corpus');
const benign = readdirSync(corpusDir)
  .filter((n) => n.endsWith('.txt'))
  .sort()
  .map((name) => ({ name, lines: readFileSync(join(corpusDir, name), 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '') }));

const CYRILLIC: Record<string, string> = { a: 'а', c: 'с', e: 'е', o: 'о', p: 'р', x: 'х', y: 'у', i: 'і', s: 'ѕ', j: 'ј' };
const GREEK: Record<string, string> = { k: 'κ', v: 'ν', t: 'τ', u: 'υ', n: 'η' };
const DIACRITIC: Record<string, string> = { a: 'á', e: 'é', i: 'í', o: 'ó', u: 'ú', c: 'ç', n: 'ñ', y: 'ý' };
const LEET: Record<string, string> = { a: '4', e: '3', i: '1', o: '0' };
const words = (s: string) => s.split(/\s+/).filter(Boolean);
const mapLetters = (s: string, table: Record<string, string>, every = 1) => {
  let k = 0;
  return [...s].map((ch) => (table[ch] !== undefined && k++ % every === 0 ? table[ch] : ch)).join('');
};
const letters = (w: string) => w.replace(/[^a-z0-9]/gi, '');

/** How an evader rewrites a phrase. */
const EVASIONS: Record<string, (phrase: string) => string> = {
  plain: (p) => p,
  spaced: (p) => words(p).map((w) => [...letters(w)].join(' ')).join('  '),
  dotted: (p) => words(p).map((w) => [...letters(w)].join('.')).join(' '),
  leetspeak: (p) => mapLetters(p, LEET),
  dollar: (p) => p.replace(/s/g, '$'),
  lookalike: (p) => mapLetters(mapLetters(p, GREEK), CYRILLIC, 2),
  fullwidth: (p) => [...p].map((ch) => (ch === ' ' ? '\u3000' : ch >= '!' && ch <= '~' ? String.fromCodePoint(ch.codePointAt(0)! + 0xfee0) : ch)).join(''),
  'zero-width': (p) => words(p).map((w) => (w.length > 1 ? `${w.slice(0, Math.ceil(w.length / 2))}\u200b${w.slice(Math.ceil(w.length / 2))}` : w)).join(' '),
  diacritics: (p) => mapLetters(p, DIACRITIC),
  repeated: (p) => words(p).map((w) => w.replace(/[aeiouy]/, (v) => v.repeat(4))).join(' '),
  'hashtag-camel': (p) => `#${words(p).map((w) => letters(w).charAt(0).toUpperCase() + letters(w).slice(1)).join('')}`,
  'hashtag-lower': (p) => `#${words(p).map(letters).join('').toLowerCase()}`,
};
const CARRIERS = ['{}', 'ok so {} tbh', 'why does everyone keep saying {} lately'];

interface Variant {
  kind: string;
  text: string;
  /** Topics whose finding counts as a catch. */
  topics: Set<string>;
}
const phraseTopics = new Map<string, Set<string>>();
for (const e of entries.slice(0, shippedCount)) {
  if (e.mode !== 'word' && e.mode !== 'phrase') continue;
  const key = e.term.toLowerCase();
  phraseTopics.set(key, (phraseTopics.get(key) ?? new Set()).add(e.topic));
}
const variants: Variant[] = [];
for (const [phrase, topics] of phraseTopics) {
  for (const [kind, evade] of Object.entries(EVASIONS)) {
    const evaded = evade(phrase);
    // A rewrite that changes nothing (no "s" to turn into "$") is not an evasion.
    if (kind !== 'plain' && evaded === phrase) continue;
    for (const c of CARRIERS) variants.push({ kind, text: c.replace('{}', evaded), topics });
  }
}
const kinds = Object.keys(EVASIONS);
const benignTexts = benign.flatMap((b) => b.lines);
const allTexts = [...benignTexts, ...variants.map((v) => v.text)];

// ---------------------------------------------------------------------------------------------
// Engines: each returns the entries it found in a text (by index into `entries`, or topic).

interface Engine {
  name: string;
  buildMs: number;
  /** Topic and term of every match. */
  find(text: string): { topic: string; term: string }[];
}

function timed<T>(build: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = build();
  return { value, ms: performance.now() - start };
}

const surgewatch: Engine = (() => {
  const { value: lexicon, ms } = timed(() => compileLexicon(allTopics));
  return { name: 'surgewatch', buildMs: ms, find: (text) => lexicon.match({ text, hashtags: [] }) };
})();

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const wordsRegExp = (phrase: string) => words(phrase.toLowerCase()).map(escapeRegExp).join('\\s+');
const regexLoop: Engine = (() => {
  const { value, ms } = timed(() => ({
    terms: entries.map((e) => {
      const body = wordsRegExp(e.term);
      const source = e.mode === 'hashtag' ? `#${body}\\b` : e.mode === 'prefix' ? `\\b${body}` : `\\b${body}\\b`;
      return { entry: e, re: new RegExp(source, 'gi') };
    }),
    exclusions: exclusions.map((x) => ({ ...x, re: new RegExp(`\\b${wordsRegExp(x.phrase)}\\b`, 'gi') })),
  }));
  // A match is dropped when an exclusion of its topic overlaps it, as surgewatch does.
  const excluded = (entry: Entry, start: number, end: number, t: string) =>
    value.exclusions.some(
      (x) => x.topic === entry.topic && (!x.terms || x.terms.has(entry.term)) && [...t.matchAll(x.re)].some((m) => m.index < end && start < m.index + m[0].length),
    );
  return {
    name: 'regex per term',
    buildMs: ms,
    find(text) {
      const t = text.normalize('NFKC').toLowerCase();
      const out: { topic: string; term: string }[] = [];
      for (const { entry, re } of value.terms) {
        re.lastIndex = 0;
        for (let m = re.exec(t); m; m = re.exec(t)) {
          if (!excluded(entry, m.index, m.index + m[0].length, t)) {
            out.push(entry);
            break;
          }
        }
      }
      return out;
    },
  };
})();

// obscenity matches its patterns on transformed text: lower case, leetspeak resolved, runs of a
// letter collapsed (to 2 for b e o l s g, to 1 for others). Terms get the same treatment, else
// "add me" could never match the "ad me" the input becomes.
const OBSCENITY_LEET: Record<string, string> = { '@': 'a', '4': 'a', '(': 'c', '3': 'e', '6': 'g', '1': 'i', '!': 'i', '/': 'l', '0': 'o', $: 's', '5': 's', '7': 't', '2': 'z' };
const OBSCENITY_KEEP_TWO = new Set(['b', 'e', 'o', 'l', 's', 'g']);
function obscenityForm(term: string): string {
  const chars = [...term.toLowerCase()].map((c) => OBSCENITY_LEET[c] ?? c);
  let out = '';
  let run = 0;
  for (let i = 0; i < chars.length; i++) {
    run = i > 0 && chars[i] === chars[i - 1] ? run + 1 : 1;
    if (run <= (OBSCENITY_KEEP_TWO.has(chars[i]!) ? 2 : 1)) out += chars[i];
  }
  return out.replace(/[\\[\]?|]/g, '\\$&');
}
const obscenity: Engine = (() => {
  const { value, ms } = timed(() => {
    const dataset = new DataSet<{ topic: string; term: string }>();
    // Exclusions become whitelisted terms, obscenity's way to cancel overlapping matches
    // (whitelists apply to every pattern of a matcher, not to one topic).
    const whitelist = new Set(exclusions.map((x) => words(x.phrase.toLowerCase()).join(' ')));
    for (const e of entries) {
      const body = obscenityForm(e.term);
      // `|` asserts a word boundary; hashtags keep their '#', prefixes stay open at the end.
      const source = e.mode === 'hashtag' ? `#${body}|` : e.mode === 'prefix' ? `|${body}` : `|${body}|`;
      dataset.addPhrase((p) => {
        p.setMetadata({ topic: e.topic, term: e.term }).addPattern(parseRawPattern(source));
        for (const w of whitelist) p.addWhitelistedTerm(w);
        whitelist.clear();
        return p;
      });
    }
    return { dataset, matcher: new RegExpMatcher({ ...dataset.build(), ...englishRecommendedTransformers }) };
  });
  return {
    name: 'obscenity',
    buildMs: ms,
    find: (text) => value.matcher.getAllMatches(text).map((m) => value.dataset.getPayloadWithPhraseMetadata(m).phraseMetadata!),
  };
})();

const engines = [surgewatch, regexLoop, obscenity];

// ---------------------------------------------------------------------------------------------
// Measurements.

/** Signals per second on one thread, texts taken in a fixed shuffled order for at least MIN_MS. */
function throughput(engine: Engine, texts: readonly string[]): number {
  const order = [...texts];
  const shuffle = createRng(7);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < Math.min(100, order.length); i++) engine.find(order[i]!);
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let k = 0; k < 16; k++) engine.find(order[n++ % order.length]!);
    elapsed = performance.now() - start;
  } while (elapsed < MIN_MS);
  return (n / elapsed) * 1000;
}

interface Accuracy {
  caught: Map<string, number>;
  benignHits: Map<string, number>;
  benignHitsShipped: Map<string, number>;
  fpTerms: Map<string, number>;
}

function accuracy(engine: Engine): Accuracy {
  const caught = new Map<string, number>();
  for (const v of variants) {
    if (engine.find(v.text).some((m) => v.topics.has(m.topic))) caught.set(v.kind, (caught.get(v.kind) ?? 0) + 1);
  }
  const benignHits = new Map<string, number>();
  const benignHitsShipped = new Map<string, number>();
  const fpTerms = new Map<string, number>();
  for (const b of benign) {
    for (const line of b.lines) {
      const found = engine.find(line);
      if (found.length === 0) continue;
      benignHits.set(b.name, (benignHits.get(b.name) ?? 0) + 1);
      if (found.some((m) => !m.topic.startsWith('gen-'))) benignHitsShipped.set(b.name, (benignHitsShipped.get(b.name) ?? 0) + 1);
      for (const term of new Set(found.map((m) => m.term))) fpTerms.set(term, (fpTerms.get(term) ?? 0) + 1);
    }
  }
  return { caught, benignHits, benignHitsShipped, fpTerms };
}

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const fmtPct = (part: number, whole: number) => (whole === 0 ? '-' : `${((part / whole) * 100).toFixed(1)}%`);
const table = (rows: string[][], align: ('l' | 'r')[]) => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((cell, c) => (align[c] === 'l' ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
};

const variantsByKind = new Map(kinds.map((k) => [k, variants.filter((v) => v.kind === k).length]));
const shippedPhrases = phraseTopics.size;
console.log('');
console.log(
  `lexicon bench: ${fmtInt(entries.length)} terms (${shippedCount} from config/topics, ${fmtInt(entries.length - shippedCount)} generated, ${allTopics.length} topics); ` +
    `${fmtInt(allTexts.length)} inputs: ${fmtInt(benignTexts.length)} benign corpus lines + ${fmtInt(variants.length)} evasion variants of ${shippedPhrases} listed phrases; node ${process.version}, one thread`,
);

const speed = new Map<string, number>();
const results = new Map<string, Accuracy>();
for (const e of engines) {
  process.stderr.write(`  measuring ${e.name}...\n`);
  speed.set(e.name, throughput(e, allTexts));
  results.set(e.name, accuracy(e));
}

console.log('');
console.log('throughput (normalize + match, all inputs, one thread)');
table(
  [
    ['engine', 'build ms', 'signals/s/core', 'µs/signal'],
    ...engines.map((e) => [e.name, e.buildMs.toFixed(0), fmtInt(speed.get(e.name)!), (1e6 / speed.get(e.name)!).toFixed(1)]),
  ],
  ['l', 'r', 'r', 'r'],
);
const sw = speed.get(surgewatch.name)!;
console.log(`speed ratio surgewatch/regex: ${(sw / speed.get(regexLoop.name)!).toFixed(1)}x   surgewatch/obscenity: ${(sw / speed.get(obscenity.name)!).toFixed(1)}x`);

console.log('');
console.log("evasion recall (share of variants in which the phrase's topic was found)");
table(
  [
    ['kind', 'variants', ...engines.map((e) => e.name)],
    ...kinds.map((k) => [k, String(variantsByKind.get(k)), ...engines.map((e) => fmtPct(results.get(e.name)!.caught.get(k) ?? 0, variantsByKind.get(k)!))]),
    ['all evasions', String(variants.length - variantsByKind.get('plain')!), ...engines.map((e) => {
      const r = results.get(e.name)!;
      const n = kinds.filter((k) => k !== 'plain').reduce((s, k) => s + (r.caught.get(k) ?? 0), 0);
      return fmtPct(n, variants.length - variantsByKind.get('plain')!);
    })],
  ],
  ['l', 'r', 'r', 'r', 'r'],
);

console.log('');
console.log('false positives: benign corpus lines with any match, "all (share) / from shipped lists" (exclusions: surgewatch and regex per topic, obscenity as whitelist)');
table(
  [
    ['corpus', 'lines', ...engines.map((e) => e.name)],
    ...benign.map((b) => [
      b.name,
      String(b.lines.length),
      ...engines.map((e) => {
        const r = results.get(e.name)!;
        const all = r.benignHits.get(b.name) ?? 0;
        return `${all} (${fmtPct(all, b.lines.length)}) / ${r.benignHitsShipped.get(b.name) ?? 0}`;
      }),
    ]),
  ],
  ['l', 'r', 'r', 'r', 'r'],
);
for (const e of engines) {
  const top = [...results.get(e.name)!.fpTerms].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 8);
  console.log(`  ${e.name} top false-positive terms: ${top.length ? top.map(([t, n]) => `${JSON.stringify(t)} ${n}`).join(', ') : 'none'}`);
}
