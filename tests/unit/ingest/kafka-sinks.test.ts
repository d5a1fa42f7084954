import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fitValue } from '../../../src/ingest/kafka-sinks.js';

describe('fitValue: a dead letter value sized to the topic', () => {
  const text = (n: number) => Buffer.from('a'.repeat(n));
  // Each row: the value, the room, and whether it must come whole.
  const cases: { name: string; value: Buffer; maxBytes: number; whole: boolean }[] = [
    { name: 'small enough as it is', value: text(1000), maxBytes: 2000, whole: true },
    { name: '5 MB of text, small once compressed', value: text(5 * 1024 * 1024), maxBytes: 100_000, whole: true },
    { name: 'random bytes, too big even compressed', value: randomBytes(600_000), maxBytes: 200_000, whole: false },
    { name: 'text then random bytes, too big compressed', value: Buffer.concat([text(2_000_000), randomBytes(300_000)]), maxBytes: 150_000, whole: false },
    { name: 'no room at all', value: randomBytes(10), maxBytes: 0, whole: false },
  ];

  it.each(cases)('$name', async ({ value, maxBytes, whole }) => {
    const fitted = await fitValue(value, maxBytes);
    expect(fitted.truncated).toBe(!whole);
    expect(fitted.value.equals(whole ? value : value.subarray(0, fitted.value.length))).toBe(true);
    if (!whole) expect(fitted.value.length).toBeLessThan(value.length);
    // What goes on the wire (a gzip-compressed batch) fits, and is not cut far below the room.
    const compressed = Math.min(fitted.value.length, gzipSync(fitted.value).length);
    expect(compressed).toBeLessThanOrEqual(maxBytes);
    expect(fitted.bytes).toBeLessThanOrEqual(maxBytes);
    // Cut no shorter than needed: 2 % of the room more would not fit.
    const longer = value.subarray(0, fitted.value.length + Math.ceil(maxBytes / 50));
    if (!whole && maxBytes > 0) expect(gzipSync(longer).length).toBeGreaterThan(maxBytes);
  });
});
