/**
 * A one-hidden-layer network for one topic: x -> relu(W1 x + b1) -> w2 . h + b2 (a logit).
 * Fitted with minibatch Adam on a weighted logistic loss, with dropout on the hidden layer and
 * L2 on the weights. Deterministic for a seed. Pure: vectors in, weights out.
 */
import type { HeadModel } from '../scoring/heads.js';
import { createRng } from '../shared/random.js';

export interface MlpOptions {
  hidden: number;
  epochs: number;
  learningRate: number;
  l2: number;
  batchSize: number;
  dropout: number;
  seed: number;
}

export const DEFAULT_MLP: MlpOptions = { hidden: 32, epochs: 8, learningRate: 2e-3, l2: 1e-4, batchSize: 128, dropout: 0.1, seed: 1 };


/**
 * Fits the network on rows of `x` (flat, `dim` wide) with 0/1 `labels`; `weights[i]` scales
 * row i's loss and 0 leaves it out.
 */
export function fitMlp(x: Float32Array, dim: number, labels: Uint8Array, weights: Float32Array, opts: MlpOptions = DEFAULT_MLP): Extract<HeadModel, { kind: 'mlp' }> {
  const h = opts.hidden;
  const random = createRng(opts.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
  const w1 = Float32Array.from({ length: h * dim }, () => gauss() * Math.sqrt(2 / dim));
  const b1 = new Float32Array(h);
  const w2 = Float32Array.from({ length: h }, () => gauss() * Math.sqrt(1 / h));
  const b2 = new Float32Array(1);
  const params = [w1, b1, w2, b2];
  const decays = [opts.l2, 0, opts.l2, 0];
  const m = params.map((p) => new Float32Array(p.length));
  const v = params.map((p) => new Float32Array(p.length));
  const g = params.map((p) => new Float32Array(p.length));

  const rows: number[] = [];
  let total = 0;
  for (let i = 0; i < labels.length; i++)
    if (weights[i]! > 0) {
      rows.push(i);
      total += weights[i]!;
    }
  if (rows.length === 0) throw new Error('no training rows carry weight');
  // Weights are scaled to average 1, so the learning rate means the same whatever the balance.
  const scale = rows.length / total;
  const hid = new Float32Array(h);
  const keep = new Float32Array(h);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    for (let start = 0; start < rows.length; start += opts.batchSize) {
      for (const gg of g) gg.fill(0);
      const end = Math.min(rows.length, start + opts.batchSize);
      for (let k = start; k < end; k++) {
        const i = rows[k]!;
        const off = i * dim;
        let z = b2[0]!;
        for (let j = 0; j < h; j++) {
          let a = b1[j]!;
          const row = j * dim;
          for (let d = 0; d < dim; d++) a += w1[row + d]! * x[off + d]!;
          keep[j] = opts.dropout > 0 && random() < opts.dropout ? 0 : 1 / (1 - opts.dropout);
          hid[j] = a > 0 ? a * keep[j]! : 0;
          z += w2[j]! * hid[j]!;
        }
        const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        const e = weights[i]! * scale * (p - labels[i]!);
        g[3]![0]! += e;
        for (let j = 0; j < h; j++) {
          if (hid[j] === 0) continue;
          g[2]![j]! += e * hid[j]!;
          const back = e * w2[j]! * keep[j]!;
          g[1]![j]! += back;
          const row = j * dim;
          const gw = g[0]!;
          for (let d = 0; d < dim; d++) gw[row + d]! += back * x[off + d]!;
        }
      }
      step++;
      const n = end - start;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      params.forEach((p, pi) => {
        const gg = g[pi]!;
        const mm = m[pi]!;
        const vv = v[pi]!;
        const decay = decays[pi]!;
        for (let q = 0; q < p.length; q++) {
          const grad = gg[q]! / n + decay * p[q]!;
          mm[q] = beta1 * mm[q]! + (1 - beta1) * grad;
          vv[q] = beta2 * vv[q]! + (1 - beta2) * grad * grad;
          p[q]! -= (opts.learningRate * (mm[q]! / c1)) / (Math.sqrt(vv[q]! / c2) + 1e-8);
        }
      });
    }
  }
  return { kind: 'mlp', dim, hidden: h, w1, b1, w2, b2: b2[0]! };
}
