import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ModelSpec } from '../config/model-schema.js';
import type { Logger } from '../shared/logger.js';
import { EmbedderError, type Embedder } from './embedder.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './embed-worker.js';

export interface PoolOptions {
  /** Worker threads; 0 = one per core but one (the main thread keeps Kafka and the API going). */
  workers: number;
  /** Where transformers.js keeps fetched models (models/cache). */
  cacheDir: string;
  logger: Logger;
  /** A worker that dies is replaced at most this many times in a row before the pool gives up. */
  maxRestarts?: number;
  /**
   * A batch not answered within this long means a hung worker: the batch fails (its signals are
   * scored without the model) and the worker is replaced (default 30000).
   */
  jobTimeoutMs?: number;
}

interface Job {
  id: number;
  texts: string[];
  resolve: (v: Float32Array[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  /** Fires when the job in hand outlives jobTimeoutMs. */
  timer?: NodeJS.Timeout;
  /** Set when the worker was stopped for not answering. */
  hung?: string;
}

/** From a source checkout (tsx, vitest) the worker is TypeScript: register tsx inside it first. */
function spawn(init: WorkerInit): Worker {
  const url = new URL(import.meta.url.endsWith('.ts') ? './embed-worker.ts' : './embed-worker.js', import.meta.url);
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData: init });
  // import.meta.resolve gives the ESM entry; where a test runner lacks it, resolve from the cwd.
  const tsx = typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx/esm/api') : 'tsx/esm/api';
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData: init });
}

/** Waits for a new worker's first message: loaded, or why not. */
function loaded(worker: Worker): Promise<{ dim: number; runtime: string }> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerReply) => {
      cleanup();
      if (m.type === 'ready') resolve({ dim: m.dim, runtime: m.runtime });
      else reject(new EmbedderError(m.type === 'load-failed' ? m.message : `unexpected first message ${m.type}`));
    };
    const onError = (err: Error) => (cleanup(), reject(new EmbedderError(`embedding worker failed to start: ${err.message}`, { cause: err })));
    const onExit = (code: number) => (cleanup(), reject(new EmbedderError(`embedding worker exited with code ${code} while loading`)));
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * Runs a model in worker threads, so that inference never blocks the event loop that serves
 * Kafka heartbeats and the API. Each worker takes one batch at a time; batches wait in a queue.
 * A worker that dies fails its batch and is replaced.
 */
export class EmbedPool implements Embedder {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private restarts = 0;
  private broken: Error | undefined;
  dim = 0;
  runtime = '';

  private constructor(
    readonly spec: ModelSpec,
    private readonly opts: PoolOptions,
  ) {}

  get model(): string {
    return this.spec.id;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Batches waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Starts the workers and waits until every one has loaded the model; throws EmbedderError if not. */
  static async start(spec: ModelSpec, opts: PoolOptions): Promise<EmbedPool> {
    const pool = new EmbedPool(spec, opts);
    const n = opts.workers > 0 ? opts.workers : Math.max(1, availableParallelism() - 1);
    const started = await Promise.allSettled(Array.from({ length: n }, () => pool.addWorker()));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return pool;
  }

  private async addWorker(): Promise<void> {
    const worker = spawn({ spec: this.spec, cacheDir: this.opts.cacheDir });
    let info;
    try {
      info = await loaded(worker);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    this.dim = info.dim;
    this.runtime = info.runtime;
    const slot: Slot = { worker, job: undefined };
    this.slots.push(slot);
    worker.on('message', (m: WorkerReply) => this.onReply(slot, m));
    worker.on('error', (err) => this.onDeath(slot, `embedding worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.onDeath(slot, `embedding worker exited with code ${code}`));
    this.dispatch();
  }

  private onReply(slot: Slot, m: WorkerReply): void {
    const job = slot.job;
    if (!job || (m.type !== 'result' && m.type !== 'failed') || m.id !== job.id) return;
    clearTimeout(slot.timer);
    slot.job = undefined;
    if (m.type === 'failed') job.reject(new EmbedderError(`model "${this.spec.id}" failed on a batch of ${job.texts.length}: ${m.message}`));
    else {
      this.restarts = 0;
      const dim = this.dim;
      job.resolve(job.texts.map((_, i) => m.flat.subarray(i * dim, (i + 1) * dim)));
    }
    this.dispatch();
  }

  private onDeath(slot: Slot, reason: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    clearTimeout(slot.timer);
    if (slot.hung) reason = slot.hung;
    slot.job?.reject(new EmbedderError(`${reason} (model "${this.spec.id}")`));
    if (this.closed) return;
    this.opts.logger.error({ model: this.spec.id, reason }, 'embedding worker lost; starting a new one');
    if (++this.restarts > (this.opts.maxRestarts ?? 5)) {
      this.fail(new EmbedderError(`model "${this.spec.id}": embedding workers keep dying (${reason}); giving up`));
      return;
    }
    this.addWorker().catch((err: Error) => {
      if (this.slots.length === 0) this.fail(err instanceof EmbedderError ? err : new EmbedderError(err.message, { cause: err }));
    });
  }

  private fail(err: Error): void {
    this.broken = err;
    for (const job of this.queue.splice(0)) job.reject(err);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      const timeoutMs = this.opts.jobTimeoutMs ?? 30_000;
      slot.timer = setTimeout(() => {
        // Heartbeats keep the partition assigned while we wait: a worker that never answers must not hold it forever.
        slot.hung = `embedding worker hung: no answer to a batch of ${job.texts.length} within ${timeoutMs} ms`;
        void slot.worker.terminate();
      }, timeoutMs);
      slot.worker.postMessage({ id: job.id, texts: job.texts } satisfies WorkerRequest);
    }
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return Promise.resolve([]);
    if (this.closed) return Promise.reject(new EmbedderError(`model "${this.spec.id}": the embedding pool is closed`));
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, texts: [...texts], resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.fail(new EmbedderError(`model "${this.spec.id}": the embedding pool is closed`));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
