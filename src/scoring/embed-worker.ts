/**
 * A worker thread of the embedding pool: loads one model, then embeds the batches it is sent,
 * one at a time. Vectors go back as one flat Float32Array whose buffer is transferred.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelSpec } from '../config/model-schema.js';
import { loadBackend, type Backend } from './backends/backend.js';

export interface WorkerInit {
  spec: ModelSpec;
  cacheDir: string;
}
export type WorkerRequest = { id: number; texts: string[] };
export type WorkerReply =
  | { type: 'ready'; dim: number; runtime: string }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; flat: Float32Array }
  | { type: 'failed'; id: number; message: string };

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

let backend: Backend;
try {
  backend = await loadBackend(init.spec, init.cacheDir);
  send({ type: 'ready', dim: backend.dim, runtime: backend.runtime });
} catch (err) {
  send({ type: 'load-failed', message: (err as Error).message });
  process.exit(1);
}

port.on('message', (req: WorkerRequest) => {
  backend.embed(req.texts).then(
    (vectors) => {
      const flat = new Float32Array(vectors.length * backend.dim);
      vectors.forEach((v, i) => flat.set(v, i * backend.dim));
      send({ type: 'result', id: req.id, flat }, [flat.buffer as ArrayBuffer]);
    },
    (err: unknown) => send({ type: 'failed', id: req.id, message: (err as Error).message }),
  );
});
