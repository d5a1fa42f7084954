/**
 * The transformers.js backend against a tiny ONNX model the test writes itself (no model can be
 * downloaded here): real loading, tokenizing, truncation, batching with padding, pooling, and
 * the worker_threads pool around it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelSpecSchema, type ModelSpec } from '../../../src/config/model-schema.js';
import { loadBackend } from '../../../src/scoring/backends/backend.js';
import { EmbedPool } from '../../../src/scoring/embed-pool.js';
import { EmbedderError } from '../../../src/scoring/embedder.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { writeTinyModel } from '../../_util/tiny-model.js';

const root = mkdtempSync(join(tmpdir(), 'surgewatch-tiny-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// [PAD], [UNK], then the words: each word's hidden state is its row.
const table = [
  [0, 0, 0, 0],
  [0, 0, 0, 1],
  [1, 0, 0, 0], // alpha
  [0, 1, 0, 0], // beta
  [0, 0, 1, 0], // gamma
];
const words = ['alpha', 'beta', 'gamma'];
let n = 0;
/** Each model gets its own folder: transformers.js caches by id within a process. */
function model(extra: Partial<ModelSpec> = {}, maxLength?: number): ModelSpec {
  const dir = writeTinyModel(join(root, `m${n++}`), { words, table, ...(maxLength && { maxLength }) });
  return modelSpecSchema.parse({ id: 'tiny', backend: 'transformers', path: dir, ...extra });
}

const unit = (v: number[]) => {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const close = (actual: Float32Array, expected: number[]) => [...actual].forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5));

describe('transformers.js backend (tiny ONNX model)', () => {
  it('mean-pools over real tokens only, so padding in a batch changes nothing', async () => {
    const backend = await loadBackend(model(), root);
    expect(backend.dim).toBe(4);
    const [a, ab, abg] = await backend.embed(['alpha', 'alpha beta', 'alpha beta gamma']);
    close(a!, [1, 0, 0, 0]);
    close(ab!, unit([1, 1, 0, 0]));
    close(abg!, unit([1, 1, 1, 0]));
    // Alone (no padding) the short text gives the same vector as in the padded batch.
    close((await backend.embed(['alpha']))[0]!, [1, 0, 0, 0]);
  });

  it('truncates to the manifest token limit', async () => {
    const backend = await loadBackend(model({ maxTokens: 8 }), root);
    const long = `alpha ${'beta '.repeat(20)}`;
    // 1 alpha + 7 beta within 8 tokens, not 1 + 20.
    close((await backend.embed([long]))[0]!, unit([1, 7, 0, 0]));
  });

  it("honours the tokenizer's own model_max_length when it is lower", async () => {
    const backend = await loadBackend(model({ maxTokens: 128 }, 3), root);
    close((await backend.embed(['alpha beta beta beta beta']))[0]!, unit([1, 2, 0, 0]));
  });

  it('takes the first token with cls pooling, and puts the prefix before every text', async () => {
    const cls = await loadBackend(model({ pooling: 'cls' }), root);
    close((await cls.embed(['gamma alpha']))[0]!, [0, 0, 1, 0]);
    const prefixed = await loadBackend(model({ pooling: 'cls', prefix: 'beta ' }), root);
    close((await prefixed.embed(['gamma alpha']))[0]!, [0, 1, 0, 0]);
  });

  it('maps unknown words to the unknown token and still answers for an empty text', async () => {
    const backend = await loadBackend(model(), root);
    const [unknown, empty] = await backend.embed(['zebra', '']);
    close(unknown!, [0, 0, 0, 1]);
    expect(empty).toHaveLength(4);
  });

  it('says where it looked when the model folder is missing, and that the hub is off', async () => {
    const spec = modelSpecSchema.parse({ id: 'absent', backend: 'transformers', path: join(root, 'nowhere'), hubId: 'Xenova/all-MiniLM-L6-v2' });
    const err = await loadBackend(spec, root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbedderError);
    expect((err as Error).message).toMatch(/folder .*nowhere does not exist.*allowRemote: false/);
  });

  it('rejects a corrupt model file with the model named', async () => {
    const spec = model();
    writeFileSync(join(spec.path!, 'onnx', 'model.onnx'), 'this is not a protobuf');
    await expect(loadBackend(spec, root)).rejects.toThrow(/model "tiny" cannot load/);
  });
});

describe('EmbedPool', () => {
  it('embeds in worker threads with the same results as in-thread, in order, across workers', async () => {
    const pool = await EmbedPool.start(model(), { workers: 2, cacheDir: root, logger: silentLogger });
    try {
      expect(pool.size).toBe(2);
      expect(pool.dim).toBe(4);
      const texts = Array.from({ length: 40 }, (_, i) => ['alpha', 'beta', 'gamma', 'alpha beta'][i % 4]!);
      const batches = await Promise.all([pool.embed(texts.slice(0, 20)), pool.embed(texts.slice(20)), pool.embed(['gamma'])]);
      const all = batches.flat();
      expect(all).toHaveLength(41);
      close(all[0]!, [1, 0, 0, 0]);
      close(all[3]!, unit([1, 1, 0, 0]));
      close(all[22]!, [0, 0, 1, 0]);
      close(all[40]!, [0, 0, 1, 0]);
    } finally {
      await pool.close();
    }
  });

  it('fails to start with the load error when the model cannot load in the workers', async () => {
    const spec = model();
    writeFileSync(join(spec.path!, 'onnx', 'model.onnx'), Buffer.from([0xff, 0xff, 0xff]));
    const err = await EmbedPool.start(spec, { workers: 1, cacheDir: root, logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbedderError);
    expect((err as Error).message).toMatch(/model "tiny" cannot load/);
  });

  it('replaces a worker that dies: its batch fails with a clear error, later batches succeed', async () => {
    const pool = await EmbedPool.start(model(), { workers: 1, cacheDir: root, logger: silentLogger });
    try {
      // Kill the only worker while it holds a batch, as an out-of-memory kill would.
      const worker = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0]!.worker;
      const pending = pool.embed(Array.from({ length: 5000 }, (_, i) => `alpha beta gamma ${i}`));
      await worker.terminate();
      await expect(pending).rejects.toThrow(/embedding worker exited .*model "tiny"/);
      close((await pool.embed(['beta']))[0]!, [0, 1, 0, 0]);
      expect(pool.size).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('replaces a worker that hangs: its batch fails after the job timeout, later batches succeed', async () => {
    const pool = await EmbedPool.start(model(), { workers: 1, cacheDir: root, logger: silentLogger, jobTimeoutMs: 300 });
    try {
      // The batch never reaches the worker: from the pool's side, a worker that never answers.
      const worker = (pool as unknown as { slots: { worker: { postMessage(m: unknown): void } }[] }).slots[0]!.worker;
      const post = worker.postMessage.bind(worker);
      worker.postMessage = () => {
        worker.postMessage = post;
      };
      await expect(pool.embed(['alpha'])).rejects.toThrow(/embedding worker hung: no answer to a batch of 1 within 300 ms .*model "tiny"/);
      close((await pool.embed(['beta']))[0]!, [0, 1, 0, 0]);
      expect(pool.size).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('rejects work after close', async () => {
    const pool = await EmbedPool.start(model(), { workers: 1, cacheDir: root, logger: silentLogger });
    await pool.close();
    await expect(pool.embed(['alpha'])).rejects.toThrow(/closed/);
  });
});
