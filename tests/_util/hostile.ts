import fc from 'fast-check';
import { signalLimits, surfaces } from '../../src/ingest/signal.js';

/**
 * Generators of hostile input for the fuzz tests: records the decoder must accept however odd
 * they look, and records it must dead-letter. Every property runs with a fixed seed (FUZZ_SEED,
 * overridable through the environment) so a failure replays.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261201);

const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff'];
const BIDI = ['\u202e', '\u202d', '\u2066', '\u2067', '\u2069', '\u200f'];
const CONTROL = ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\r', '\t'];
const ODD = [...ZERO_WIDTH, ...BIDI, ...CONTROL, 'ﷺ', '👩‍👩‍👧‍👦', 'ẞ', 'İ', 'ǅ', '\u0301', 'مرحبا', '𝕜𝕚𝕝𝕝', '#', '@', '\\', '"', '%00', 'lone\ud800surrogate', '#tag\udc00'];

/** Text made of ordinary words, listed terms, and control, zero-width, bidi and combining characters. */
export const oddText = (maxParts = 40): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof(fc.constantFrom(...ODD), fc.constantFrom('i want to die', 'kill myself', 'crypto giveaway', 'hello', 'w4nt t0 d1e'), fc.string({ unit: 'grapheme', maxLength: 12 })), {
      maxLength: maxParts,
    })
    .map((parts) => parts.join(' '));

const isoOrMs = (fromMs: number, toMs: number) =>
  fc.integer({ min: fromMs, max: toMs }).chain((ms) => fc.constantFrom<string | number>(ms, new Date(ms).toISOString(), new Date(ms).toISOString().replace('Z', '+00:00')));

/**
 * A signal object that satisfies the contract, with absurd but allowed content: long text
 * (truncated), 64 hashtags of 140 chars, control characters, bidi overrides, zero-width
 * joiners, unknown fields. `id` is left to the caller so that ids are unique.
 */
export const validSignalFields = (fromMs: number, toMs: number): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(
    {
      ts: isoOrMs(fromMs, toMs),
      text: fc.oneof({ weight: 5, arbitrary: oddText().map((t) => t || 'x') }, { weight: 1, arbitrary: fc.constant('i want to die '.repeat(1500)) }),
      surface: fc.constantFrom(...surfaces),
      lang: fc.constantFrom('en', 'pt-BR', 'zh-Hant-TW', 'ar'),
      region: fc.constantFrom('US', 'us-ca', 'GB', 'BR-SP'),
      hashtags: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom('#wanttodie', '##KMS_now', '#\u200bsewer\u200dslide', '#מוות', '#half\ud83d'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => s.length <= 140 && s.trim().replace(/^#+/, '').length > 0)), { maxLength: 8 }),
        fc.constant(Array.from({ length: signalLimits.maxHashtags }, (_, i) => `#${String(i).padStart(signalLimits.maxHashtagChars, 'x')}`)),
      ),
      author: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), fc.constantFrom('\u202eadmin', 'a\u0000b', 'x'.repeat(256))),
      extra: fc.jsonValue({ maxDepth: 3 }),
    },
    { requiredKeys: ['ts', 'text', 'surface'] },
  );

const validBase = { id: 'x', ts: '2026-05-01T12:00:00Z', text: 'i want to die', surface: 'post' };
const nest = (depth: number, leaf: string) => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
const withField = (field: string, value: unknown) => Buffer.from(JSON.stringify({ ...validBase, [field]: value }));

/** One kind of record the decoder must refuse, as raw bytes, with a label for failure messages. */
export const badRecord = (nowMs: number): fc.Arbitrary<{ kind: string; value: Buffer | null }> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((b) => ({ kind: 'bytes', value: Buffer.from(b) })),
    fc.constant({ kind: 'null', value: null }),
    fc.constant({ kind: 'empty', value: Buffer.alloc(0) }),
    // Valid JSON with a byte that can never appear in UTF-8 spliced in.
    fc.tuple(fc.constantFrom(0xff, 0xc0, 0xfe, 0x80), fc.nat(40)).map(([b, at]) => {
      const good = Buffer.from(JSON.stringify(validBase));
      const i = Math.min(at + 20, good.length - 2);
      return { kind: 'not-utf8', value: Buffer.concat([good.subarray(0, i), Buffer.from([b]), good.subarray(i)]) };
    }),
    // An overlong encoding and a UTF-8-encoded surrogate, both invalid UTF-8.
    fc.constantFrom(Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80])).map((b) => ({ kind: 'not-utf8', value: Buffer.concat([Buffer.from('{"id":"'), b, Buffer.from('","ts":1764590000000,"text":"x","surface":"post"}')]) })),
    fc.integer({ min: 1000, max: 60_000 }).map((n) => ({ kind: 'deep-array', value: Buffer.from('['.repeat(n) + ']'.repeat(n)) })),
    fc.integer({ min: 1000, max: 20_000 }).map((n) => ({ kind: 'deep-meta', value: Buffer.from(JSON.stringify(validBase).replace(/}$/, `,"meta":${nest(n, '1')}}`)) })),
    fc.integer({ min: signalLimits.maxRecordBytes + 1, max: signalLimits.maxRecordBytes + 5000 }).map((n) => ({ kind: 'huge', value: withField('text', 'a'.repeat(n)) })),
    fc.constantFrom<[string, unknown]>(
      ['ts', String(nowMs)],
      ['ts', nowMs / 1000],
      ['ts', '2026-05-01 12:00'],
      ['ts', '+275760-09-13T00:00:00.000Z'],
      ['ts', 'NaN'],
      ['ts', 1e308],
      ['ts', new Date(Date.UTC(1999, 11, 31)).toISOString()],
      ['id', 12345],
      ['id', ''],
      ['id', 'x'.repeat(129)],
      ['text', 42],
      ['surface', 'tweet'],
      ['hashtags', 'wanttodie'],
      ['hashtags', ['#'.repeat(3)]],
      ['hashtags', ['x'.repeat(signalLimits.maxHashtagChars + 1)]],
      ['hashtags', Array.from({ length: 10_000 }, (_, i) => `#junk${i}`)],
      ['lang', 'english!'],
      ['region', 'United States'],
      ['author', ''],
      ['author', { name: 'x' }],
      ['meta', 'not an object'],
      ['meta', { blob: 'x'.repeat(signalLimits.maxMetaBytes) }],
    ).map(([field, value]) => ({ kind: `field-${field}`, value: withField(field, value) })),
    // Far future: the clock says it cannot have happened yet.
    fc.integer({ min: 3_600_000, max: 100 * 365 * 86_400_000 }).map((ahead) => ({ kind: 'future', value: withField('ts', new Date(nowMs + ahead).toISOString()) })),
    // Unpaired surrogates in identifiers (valid JSON escapes, not valid Unicode).
    fc.constantFrom('id', 'author').map((field) => ({ kind: `surrogate-${field}`, value: Buffer.from(JSON.stringify(validBase).replace(/}$/, `,"${field}":"ab\\ud800cd"}`).replace('"id":"x",', field === 'id' ? '' : '"id":"x",')) })),
    fc.constantFrom('[]', '"signal"', '42', 'null', 'true', '{}', '{"id":"x"}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}').map((s) => ({ kind: 'not-object', value: Buffer.from(s) })),
  );
