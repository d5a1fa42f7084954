import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decodeSignal, signalLimits, type DecodeResult, type Signal } from '../../../src/ingest/signal.js';

const TS = '2026-05-01T12:00:00Z';
const TS_MS = Date.UTC(2026, 4, 1, 12, 0, 0);

const base = { id: 'sig-1', ts: TS, text: 'hello world', surface: 'post' };

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const record = (overrides: Record<string, unknown>) => bytes({ ...base, ...overrides });
const without = (key: keyof typeof base) => {
  const copy: Record<string, unknown> = { ...base };
  delete copy[key];
  return bytes(copy);
};

function failure(r: DecodeResult): { code: string; reason: string } {
  if (r.ok) throw new Error(`expected a failure, got signal ${JSON.stringify(r.signal)}`);
  return r;
}

function decoded(r: DecodeResult): Signal {
  if (!r.ok) throw new Error(`expected a signal, got ${r.code}: ${r.reason}`);
  return r.signal;
}

describe('decodeSignal: bad input', () => {
  // Each row: the record, the failure code, and what the reason must name (a field path or the problem).
  const cases: { name: string; value: Uint8Array | null | undefined; code: string; reason: RegExp }[] = [
    { name: 'null value', value: null, code: 'empty', reason: /no value/ },
    { name: 'undefined value', value: undefined, code: 'empty', reason: /no value/ },
    { name: 'empty value', value: new Uint8Array(0), code: 'empty', reason: /no value/ },
    { name: 'not UTF-8', value: Buffer.from([0xff, 0xfe]), code: 'not_utf8', reason: /UTF-8/ },
    { name: 'truncated JSON', value: Buffer.from('{"id":"a","ts":'), code: 'not_json', reason: /not JSON/ },
    { name: 'plain text', value: Buffer.from('hello'), code: 'not_json', reason: /not JSON/ },
    { name: 'JSON array', value: bytes([base]), code: 'invalid', reason: /JSON object/ },
    { name: 'JSON number', value: bytes(42), code: 'invalid', reason: /JSON object/ },
    { name: 'JSON string', value: bytes('{"id":"x"}'), code: 'invalid', reason: /JSON object/ },
    { name: 'JSON null', value: Buffer.from('null'), code: 'invalid', reason: /JSON object/ },
    {
      name: 'oversize record',
      value: record({ text: 'a'.repeat(signalLimits.maxRecordBytes) }),
      code: 'oversize',
      reason: new RegExp(`over the ${signalLimits.maxRecordBytes}-byte limit`),
    },
    { name: 'missing id', value: without('id'), code: 'invalid', reason: /(^|; )id:/ },
    { name: 'empty id', value: record({ id: '' }), code: 'invalid', reason: /(^|; )id:/ },
    { name: 'id of 129 chars', value: record({ id: 'x'.repeat(129) }), code: 'invalid', reason: /(^|; )id:/ },
    // Valid JSON escapes that are not Unicode: Redis' Lua JSON decoder would refuse the batch.
    { name: 'id with an unpaired surrogate', value: record({ id: 'a\ud800b' }), code: 'invalid', reason: /(^|; )id: .*unpaired/ },
    { name: 'author with an unpaired low surrogate', value: record({ author: '\udc00' }), code: 'invalid', reason: /(^|; )author: .*unpaired/ },
    { name: 'missing ts', value: without('ts'), code: 'invalid', reason: /(^|; )ts:/ },
    { name: 'ts as boolean', value: record({ ts: true }), code: 'invalid', reason: /(^|; )ts:/ },
    { name: 'ts in seconds', value: record({ ts: 1_700_000_000 }), code: 'invalid', reason: /(^|; )ts:.*seconds/ },
    { name: 'ts far in the future (ms given as µs)', value: record({ ts: 1_700_000_000_000_000 }), code: 'invalid', reason: /(^|; )ts:/ },
    { name: 'ISO ts without time zone', value: record({ ts: '2026-05-01T12:00:00' }), code: 'invalid', reason: /(^|; )ts:/ },
    { name: 'ISO date only', value: record({ ts: '2026-05-01' }), code: 'invalid', reason: /(^|; )ts:/ },
    { name: 'ISO ts with impossible month', value: record({ ts: '2026-13-01T12:00:00Z' }), code: 'invalid', reason: /(^|; )ts:/ },
    { name: 'text as number', value: record({ text: 42 }), code: 'invalid', reason: /(^|; )text:/ },
    { name: 'hashtags not an array', value: record({ hashtags: '#a,#b' }), code: 'invalid', reason: /(^|; )hashtags:/ },
    { name: 'hashtag that is only "#"', value: record({ hashtags: ['ok', '#'] }), code: 'invalid', reason: /(^|; )hashtags\.1:/ },
    { name: 'too many hashtags', value: record({ hashtags: Array.from({ length: 65 }, (_, i) => `t${i}`) }), code: 'invalid', reason: /(^|; )hashtags:/ },
    { name: 'missing surface', value: without('surface'), code: 'invalid', reason: /(^|; )surface:/ },
    { name: 'unknown surface', value: record({ surface: 'tweet' }), code: 'invalid', reason: /(^|; )surface:/ },
    { name: 'bad region', value: record({ region: 'United States' }), code: 'invalid', reason: /(^|; )region:.*ISO-3166/ },
    { name: 'region with long subdivision', value: record({ region: 'US-CALI' }), code: 'invalid', reason: /(^|; )region:/ },
    { name: 'bad lang', value: record({ lang: 'english!' }), code: 'invalid', reason: /(^|; )lang:.*BCP-47/ },
    { name: 'author as number', value: record({ author: 12345 }), code: 'invalid', reason: /(^|; )author:/ },
    { name: 'meta not an object', value: record({ meta: 'x' }), code: 'invalid', reason: /(^|; )meta:/ },
    {
      name: 'meta too big',
      value: record({ meta: { blob: 'x'.repeat(signalLimits.maxMetaBytes) } }),
      code: 'invalid',
      reason: new RegExp(`(^|; )meta:.*${signalLimits.maxMetaBytes} bytes`),
    },
    { name: 'text empty and no hashtags', value: record({ text: '' }), code: 'invalid', reason: /(^|; )text:.*no hashtags/ },
    { name: 'no text and empty hashtags', value: bytes({ id: 'a', ts: TS, surface: 'post', hashtags: [] }), code: 'invalid', reason: /(^|; )text:.*no hashtags/ },
  ];

  it.each(cases)('$name -> $code', ({ value, code, reason }) => {
    const f = failure(decodeSignal(value));
    expect(f.code).toBe(code);
    expect(f.reason).toMatch(reason);
  });

  it('names every bad field of one record, not just the first', () => {
    const f = failure(decodeSignal(record({ id: '', surface: 'tweet', region: 'nowhere' })));
    expect(f.code).toBe('invalid');
    expect(f.reason).toMatch(/(^|; )id:/);
    expect(f.reason).toMatch(/(^|; )surface:/);
    expect(f.reason).toMatch(/(^|; )region:/);
  });

  it('rejects a 1 MB hostile record as oversize without parsing it', () => {
    const hostile = [
      Buffer.from('['.repeat(1 << 20)),
      Buffer.from('{"id":"' + '\\u0000'.repeat(200_000) + '"}'),
      record({ text: '\uD83D'.repeat(1 << 19) }),
    ];
    for (const value of hostile) {
      expect(value.length).toBeGreaterThan(1_000_000);
      const f = failure(decodeSignal(value));
      expect(f.code).toBe('oversize');
      expect(f.reason).toContain(`${value.length} bytes`);
    }
  });

  it('accepts a record of exactly the byte limit and rejects one byte more', () => {
    const pad = (n: number) => {
      const probe = record({ text: '' }).length;
      return record({ text: 'a'.repeat(n - probe) });
    };
    const atLimit = pad(signalLimits.maxRecordBytes);
    expect(atLimit.length).toBe(signalLimits.maxRecordBytes);
    expect(decodeSignal(atLimit).ok).toBe(true);
    const over = pad(signalLimits.maxRecordBytes + 1);
    expect(failure(decodeSignal(over)).code).toBe('oversize');
  });

  it('dead-letters deeply nested meta under the size limit instead of throwing', () => {
    // ~240 KB: small enough to be parsed, deep enough to overflow a recursive serializer.
    const depth = 40_000;
    const raw = `{"id":"deep","ts":"${TS}","text":"x","surface":"post","meta":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    expect(raw.length).toBeLessThan(signalLimits.maxRecordBytes);
    let result: DecodeResult | undefined;
    expect(() => (result = decodeSignal(Buffer.from(raw)))).not.toThrow();
    const f = failure(result!);
    expect(f.code).toBe('invalid');
    expect(f.reason).toMatch(/(^|; )meta:/);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (value) => {
        const r = decodeSignal(value);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });

  it('never throws, whatever the JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = decodeSignal(Buffer.from(JSON.stringify(value) ?? 'null'));
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });
});

describe('decodeSignal: valid input', () => {
  it('decodes a full record into the pipeline shape', () => {
    const s = decoded(
      decodeSignal(
        record({ lang: 'pt-BR', region: 'br-sp', hashtags: ['#Foo', 'bar', ' ##baz '], author: 'user-42', meta: { source: 'app', n: 3 } }),
      ),
    );
    expect(s).toEqual({
      id: 'sig-1',
      tsMs: TS_MS,
      text: 'hello world',
      truncated: false,
      surface: 'post',
      lang: 'pt-BR',
      region: 'BR-SP',
      hashtags: ['Foo', 'bar', 'baz'],
      author: 'user-42',
      meta: { source: 'app', n: 3 },
    });
  });

  it.each([
    { name: 'ISO with Z', ts: '2026-05-01T12:00:00Z', tsMs: TS_MS },
    { name: 'ISO with milliseconds', ts: '2026-05-01T12:00:00.250Z', tsMs: TS_MS + 250 },
    { name: 'ISO with an offset', ts: '2026-05-01T14:00:00+02:00', tsMs: TS_MS },
    { name: 'ISO with a compact offset', ts: '2026-05-01T07:00:00-0500', tsMs: TS_MS },
    { name: 'epoch milliseconds', ts: TS_MS, tsMs: TS_MS },
  ])('$name gives tsMs', ({ ts, tsMs }) => {
    expect(decoded(decodeSignal(record({ ts }))).tsMs).toBe(tsMs);
  });

  it('ignores unknown fields', () => {
    const s = decoded(decodeSignal(record({ likes: 12, nested: { deep: [1, 2] }, text: 'hi' })));
    expect(s).not.toHaveProperty('likes');
    expect(s).not.toHaveProperty('nested');
    expect(s.text).toBe('hi');
  });

  it('leaves optional fields out when they are absent', () => {
    const s = decoded(decodeSignal(record({})));
    expect(s.hashtags).toEqual([]);
    expect(Object.keys(s).sort()).toEqual(['hashtags', 'id', 'surface', 'text', 'truncated', 'tsMs']);
  });

  it('accepts empty text when hashtags are given', () => {
    const s = decoded(decodeSignal(bytes({ id: 'h', ts: TS, surface: 'hashtag', hashtags: ['#WantToDie'] })));
    expect(s.text).toBe('');
    expect(s.hashtags).toEqual(['WantToDie']);
  });

  it('accepts an id of 128 chars', () => {
    expect(decoded(decodeSignal(record({ id: 'x'.repeat(128) }))).id).toHaveLength(128);
  });

  it('accepts every documented surface', () => {
    for (const surface of ['post', 'comment', 'caption', 'search', 'hashtag', 'live', 'bio', 'message']) {
      expect(decoded(decodeSignal(record({ surface }))).surface).toBe(surface);
    }
  });

  it('upper-cases region codes', () => {
    expect(decoded(decodeSignal(record({ region: 'us' }))).region).toBe('US');
    expect(decoded(decodeSignal(record({ region: 'us-tx' }))).region).toBe('US-TX');
  });

  it('keeps text at the cap as is', () => {
    const text = 'a'.repeat(signalLimits.maxTextChars);
    const s = decoded(decodeSignal(record({ text })));
    expect(s.text).toBe(text);
    expect(s.truncated).toBe(false);
  });

  it('truncates text over the cap to 10,000 chars and flags it', () => {
    const s = decoded(decodeSignal(record({ text: 'ab'.repeat(6_000) })));
    expect(signalLimits.maxTextChars).toBe(10_000);
    expect(s.text).toHaveLength(10_000);
    expect(s.text).toBe('ab'.repeat(5_000));
    expect(s.truncated).toBe(true);
  });

  it('does not leave a lone high surrogate when the cut splits a pair', () => {
    // The emoji's high surrogate is the 10,000th code unit, its low surrogate the 10,001st.
    const text = 'a'.repeat(signalLimits.maxTextChars - 1) + '\u{1F600}' + 'tail';
    const s = decoded(decodeSignal(record({ text })));
    expect(s.truncated).toBe(true);
    expect(s.text).toBe('a'.repeat(signalLimits.maxTextChars - 1));
    expect(s.text).not.toMatch(/[\uD800-\uDBFF]$/);
  });

  it('keeps a whole surrogate pair that ends exactly at the cut', () => {
    const text = 'a'.repeat(signalLimits.maxTextChars - 2) + '\u{1F600}' + 'tail';
    const s = decoded(decodeSignal(record({ text })));
    expect(s.truncated).toBe(true);
    expect(s.text).toHaveLength(signalLimits.maxTextChars);
    expect(s.text.endsWith('\u{1F600}')).toBe(true);
  });

  it('decodes UTF-8 text with a byte-order mark and non-Latin scripts', () => {
    const value = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), record({ text: 'Привет 世界 🙂' })]);
    expect(decoded(decodeSignal(value)).text).toBe('Привет 世界 🙂');
  });
});
