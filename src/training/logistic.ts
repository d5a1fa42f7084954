/**
 * Weighted, L2-regularised logistic regression fitted with L-BFGS (full batch, deterministic),
 * and Platt scaling. Pure: vectors in, weights out.
 */

export interface LinearModel {
  weights: Float64Array;
  bias: number;
}

export interface FitOptions {
  /** L2 penalty on the weights (not the bias), per unit of total sample weight. */
  l2: number;
  maxIterations?: number;
  /** Stop when the gradient's largest component falls below this. */
  tolerance?: number;
}

/** z = w.x + b for row i of a flat row-major matrix. */
export function linear(model: LinearModel, x: Float32Array, offset = 0): number {
  const w = model.weights;
  let s = model.bias;
  for (let d = 0; d < w.length; d++) s += w[d]! * x[offset + d]!;
  return s;
}

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** log(1 + e^z) without overflow. */
const softplus = (z: number): number => (z > 30 ? z : z < -30 ? Math.exp(z) : Math.log1p(Math.exp(z)));

/**
 * Minimises f over R^n with L-BFGS (memory m) and a backtracking Armijo line search.
 * `fg` returns the value and writes the gradient.
 */
export function lbfgs(fg: (x: Float64Array, grad: Float64Array) => number, x0: Float64Array, opts: { maxIterations: number; tolerance: number; memory?: number }): Float64Array {
  const n = x0.length;
  const m = opts.memory ?? 10;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const rhos: number[] = [];
  const dir = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(m);
  for (let iter = 0; iter < opts.maxIterations; iter++) {
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(g[i]!));
    if (gmax < opts.tolerance) break;
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i]!;
    for (let k = ss.length - 1; k >= 0; k--) {
      let a = 0;
      for (let i = 0; i < n; i++) a += ss[k]![i]! * dir[i]!;
      a *= rhos[k]!;
      alpha[k] = a;
      for (let i = 0; i < n; i++) dir[i]! -= a * ys[k]![i]!;
    }
    if (ss.length > 0) {
      const last = ss.length - 1;
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n; i++) {
        sy += ss[last]![i]! * ys[last]![i]!;
        yy += ys[last]![i]! * ys[last]![i]!;
      }
      const gamma = sy / yy;
      for (let i = 0; i < n; i++) dir[i]! *= gamma;
    }
    for (let k = 0; k < ss.length; k++) {
      let b = 0;
      for (let i = 0; i < n; i++) b += ys[k]![i]! * dir[i]!;
      b *= rhos[k]!;
      for (let i = 0; i < n; i++) dir[i]! += ss[k]![i]! * (alpha[k]! - b);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i]! * dir[i]!;
    if (slope >= 0) {
      // Not a descent direction (curvature went wrong): restart from steepest descent.
      for (let i = 0; i < n; i++) dir[i] = -g[i]!;
      slope = -g.reduce((s, v) => s + v * v, 0);
      ss.length = 0;
      ys.length = 0;
      rhos.length = 0;
    }
    let step = iter === 0 && ss.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * dir[i]!;
      fNew = fg(xNew, gNew);
      if (fNew <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < f)) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
      sy += s[i]! * y[i]!;
    }
    x.set(xNew);
    g.set(gNew);
    const improvement = f - fNew;
    f = fNew;
    if (sy > 1e-12) {
      ss.push(s);
      ys.push(y);
      rhos.push(1 / sy);
      if (ss.length > m) {
        ss.shift();
        ys.shift();
        rhos.shift();
      }
    }
    if (improvement < 1e-10 * Math.max(1, Math.abs(f))) break;
  }
  return x;
}

/**
 * Fits a binary logistic regression on rows of `x` (flat, `dim` wide). `weights[i]` scales row
 * i's loss (0 leaves it out): class balance and hard negatives are expressed through it.
 */
export function fitLogistic(x: Float32Array, dim: number, labels: Uint8Array, weights: Float32Array, opts: FitOptions): LinearModel {
  const n = labels.length;
  let totalWeight = 0;
  for (let i = 0; i < n; i++) totalWeight += weights[i]!;
  if (totalWeight <= 0) throw new Error('no training rows carry weight');
  const l2 = opts.l2;
  const z = new Float64Array(n);
  const fg = (params: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    const b = params[dim]!;
    for (let i = 0; i < n; i++) {
      const wi = weights[i]!;
      if (wi === 0) continue;
      let s = b;
      const off = i * dim;
      for (let d = 0; d < dim; d++) s += params[d]! * x[off + d]!;
      z[i] = s;
      const y = labels[i]!;
      loss += wi * (softplus(s) - y * s);
      const r = wi * (sigmoid(s) - y);
      for (let d = 0; d < dim; d++) grad[d]! += r * x[off + d]!;
      grad[dim]! += r;
    }
    loss /= totalWeight;
    for (let d = 0; d <= dim; d++) grad[d]! /= totalWeight;
    for (let d = 0; d < dim; d++) {
      loss += 0.5 * l2 * params[d]! * params[d]!;
      grad[d]! += l2 * params[d]!;
    }
    return loss;
  };
  const params = lbfgs(fg, new Float64Array(dim + 1), { maxIterations: opts.maxIterations ?? 300, tolerance: opts.tolerance ?? 1e-6 });
  return { weights: params.slice(0, dim), bias: params[dim]! };
}

/** Platt scaling: p = sigmoid(a z + b), fitted on held-out scores by weighted logistic regression. */
export interface Platt {
  a: number;
  b: number;
}

export function fitPlatt(scores: readonly number[], labels: readonly number[], weights?: readonly number[]): Platt {
  const x = Float32Array.from(scores);
  const w = Float32Array.from(weights ?? scores.map(() => 1));
  const m = fitLogistic(x, 1, Uint8Array.from(labels), w, { l2: 0, maxIterations: 200, tolerance: 1e-9 });
  return { a: m.weights[0]!, b: m.bias };
}

export const applyPlatt = (p: Platt, z: number): number => sigmoid(p.a * z + p.b);
