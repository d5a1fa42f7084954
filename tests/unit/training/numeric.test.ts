import { describe, expect, it } from 'vitest';
import { fitPca, project, symmetricEigen } from '../../../src/training/linalg.js';
import { applyPlatt, fitLogistic, fitPlatt, linear, sigmoid } from '../../../src/training/logistic.js';
import { fitMlp } from '../../../src/training/mlp.js';
import { createRng } from '../../../src/shared/random.js';
import { headScore } from '../../../src/scoring/heads.js';

const random = createRng(7);
const gauss = () => Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());

describe('symmetric eigen decomposition and PCA', () => {
  it('finds the eigenvalues and eigenvectors of a symmetric matrix, largest first, with a fixed sign', () => {
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
    expect([...values].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([5, 3, 1]);
    expect([...vectors[0]!].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 0, 1]);
    expect(vectors[1]![0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(vectors[1]![1]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('puts the first component along the direction of most variance, centred', () => {
    const rows = Array.from({ length: 2000 }, () => {
      const t = gauss() * 3;
      return Float32Array.from([10 + t, 10 + t, 0.1 * gauss()]);
    });
    const pca = fitPca(rows, 3, 2);
    expect(Math.abs(pca.components[0]![0]!)).toBeCloseTo(Math.SQRT1_2, 2);
    expect(pca.explained[0]).toBeGreaterThan(0.99);
    expect(project(pca, Float32Array.from([10, 10, 0]))[0]).toBeCloseTo(0, 0);
  });
});

describe('logistic regression and Platt scaling', () => {
  const n = 3000;
  const x = new Float32Array(n * 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = gauss();
    const b = gauss();
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = random() < sigmoid(3 * a - 2 * b + 0.5) ? 1 : 0;
  }

  it('recovers the weights that generated the labels', () => {
    const m = fitLogistic(x, 2, y, new Float32Array(n).fill(1), { l2: 0 });
    expect(m.weights[0]).toBeCloseTo(3, 0);
    expect(m.weights[1]).toBeCloseTo(-2, 0);
    expect(m.bias).toBeCloseTo(0.5, 0);
  });

  it('leaves out rows of weight 0 and shrinks weights under L2', () => {
    const w = new Float32Array(n).fill(1);
    const flipped = Uint8Array.from(y, (v, i) => (i < n / 2 ? 1 - v : v));
    for (let i = 0; i < n / 2; i++) w[i] = 0;
    const m = fitLogistic(x, 2, flipped, w, { l2: 0 });
    expect(m.weights[0]).toBeGreaterThan(2);
    const shrunk = fitLogistic(x, 2, y, new Float32Array(n).fill(1), { l2: 1 });
    expect(Math.abs(shrunk.weights[0]!)).toBeLessThan(1);
  });

  it('calibrates scores that are too confident', () => {
    const scores = Array.from({ length: n }, (_, i) => 4 * linear({ weights: Float64Array.from([3, -2]), bias: 0.5 }, x, 2 * i));
    const platt = fitPlatt(scores, [...y]);
    expect(platt.a).toBeCloseTo(0.25, 1);
    // A score of 2 is a true logit of 0.5.
    expect(applyPlatt(platt, 2)).toBeCloseTo(sigmoid(0.5), 1);
  });
});

describe('the one-hidden-layer head', () => {
  it('learns what no linear head can (a ring), and repeats exactly for a seed', () => {
    const n = 2000;
    const x = new Float32Array(n * 2);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x[2 * i] = gauss();
      x[2 * i + 1] = gauss();
      y[i] = Math.hypot(x[2 * i]!, x[2 * i + 1]!) < 1 ? 1 : 0;
    }
    const w = new Float32Array(n).fill(1);
    const opts = { hidden: 16, epochs: 60, learningRate: 0.01, l2: 0, batchSize: 32, dropout: 0, seed: 3 };
    const m = fitMlp(x, 2, y, w, opts);
    let right = 0;
    for (let i = 0; i < n; i++) if (headScore(m, x.subarray(2 * i, 2 * i + 2)) > 0 === (y[i] === 1)) right++;
    expect(right / n).toBeGreaterThan(0.9);
    const lin = fitLogistic(x, 2, y, w, { l2: 0 });
    let linRight = 0;
    for (let i = 0; i < n; i++) if (linear(lin, x, 2 * i) > 0 === (y[i] === 1)) linRight++;
    expect(linRight / n).toBeLessThan(0.75);
    expect([...fitMlp(x, 2, y, w, opts).w1]).toEqual([...m.w1]);
  });
});
