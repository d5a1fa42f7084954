import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelSpecSchema } from '../../../src/config/model-schema.js';
import { buildStaticStage, loadStaticStage, staticStageStatus } from '../../../src/models/static-stage.js';
import { dot, EmbedderError } from '../../../src/scoring/embedder.js';
import { TokenizerFileError } from '../../../src/scoring/wordpiece.js';
import { writeTinyModel } from '../../_util/tiny-model.js';
import { ensureStaticStage } from '../../../src/cli/models.js';
import { silentLogger } from '../../../src/shared/logger.js';

const root = mkdtempSync(join(tmpdir(), 'sw-static-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Two clusters of words: harm words near each other, food words near each other.
const words = ['[CLS]', '[SEP]', 'hopeless', 'worthless', 'pizza', 'pasta', 'the'];
const table = [
  [0, 0, 0, 0], // [PAD]
  [0, 0, 0, 0.1], // [UNK]
  [0.1, 0.1, 0.1, 0.1], // [CLS]
  [0.1, 0.1, 0.1, 0.1], // [SEP]
  [1, 0.9, 0, 0],
  [0.9, 1, 0, 0],
  [0, 0, 1, 0.9],
  [0, 0, 0.9, 1],
  [0.3, 0.3, 0.3, 0.3],
];

function model(name: string) {
  const dir = writeTinyModel(join(root, name), { words, table, wordPiece: true });
  const spec = modelSpecSchema.parse({ id: 'tiny', backend: 'transformers', path: dir, static: { dim: 2 } });
  return { dir, spec };
}

describe('the static first stage', () => {
  it('is distilled from the model: related words get related vectors, and the same model gives the same table', async () => {
    const { dir, spec } = model('a');
    expect(staticStageStatus(spec, dir)).toBe('missing');
    const meta = await buildStaticStage(spec, dir, { dim: 2 });
    expect(meta).toMatchObject({ model: 'tiny', dim: 2, vocabSize: words.length + 2 });
    expect(staticStageStatus(spec, dir)).toBe('ready');
    const { embedder } = loadStaticStage(spec, dir);
    const v = (t: string) => embedder.embed(t);
    expect(dot(v('hopeless'), v('worthless'))).toBeGreaterThan(0.9);
    expect(dot(v('pizza'), v('pasta'))).toBeGreaterThan(0.9);
    expect(dot(v('hopeless'), v('pizza'))).toBeLessThan(0.2);
    expect([...v('')]).toEqual([0, 0]);
    const again = model('b');
    expect((await buildStaticStage(again.spec, again.dir, { dim: 2 })).tableSha256).toBe(meta.tableSha256);
  });

  it('is stale once the model files change, and refuses to load a damaged table', async () => {
    const { dir, spec } = model('c');
    await buildStaticStage(spec, dir, { dim: 2 });
    const table = join(dir, 'static', 'table.bin');
    const bytes = readFileSync(table);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(table, bytes);
    expect(() => loadStaticStage(spec, dir)).toThrow(EmbedderError);
    expect(() => loadStaticStage(spec, dir)).toThrow(/checksum.*models fetch tiny --force/);
    expect(staticStageStatus(spec, dir)).toBe('corrupt');
    await ensureStaticStage(spec, dir, silentLogger);
    expect(staticStageStatus(spec, dir)).toBe('ready');
    writeFileSync(join(dir, 'tokenizer.json'), readFileSync(join(dir, 'tokenizer.json'), 'utf8').replace('"pizza"', '"pizzas"'));
    expect(staticStageStatus(spec, dir)).toBe('stale');
  });

  it('needs a WordPiece tokenizer, and says so', async () => {
    const dir = writeTinyModel(join(root, 'wordlevel'), { words, table });
    const spec = modelSpecSchema.parse({ id: 'tiny', backend: 'transformers', path: dir, static: { dim: 2 } });
    await expect(buildStaticStage(spec, dir, { dim: 2 })).rejects.toThrow(TokenizerFileError);
    expect(() => loadStaticStage(spec, dir)).toThrow(/no static stage in .*models fetch tiny/);
  });
});
