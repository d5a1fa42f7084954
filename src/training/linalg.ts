/** Small dense linear algebra for PCA and classifier heads: row-major Float64Array matrices. */

/**
 * Eigenvalues and eigenvectors of a symmetric n x n matrix (cyclic Jacobi rotations), sorted by
 * eigenvalue, largest first. Each eigenvector's largest component is made positive, so the
 * result does not depend on the order of rotations (PCA runs on two machines agree in sign).
 */
export function symmetricEigen(matrix: Float64Array, n: number, maxSweeps = 60): { values: Float64Array; vectors: Float64Array[] } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y]! - a[x * n + x]!);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = order.map((col) => {
    const e = new Float64Array(n);
    let big = 0;
    for (let k = 0; k < n; k++) {
      e[k] = v[k * n + col]!;
      if (Math.abs(e[k]!) > Math.abs(e[big]!)) big = k;
    }
    if (e[big]! < 0) for (let k = 0; k < n; k++) e[k] = -e[k]!;
    return e;
  });
  return { values, vectors };
}

export interface Pca {
  mean: Float64Array;
  /** components[k] is the k-th principal axis (unit length). */
  components: Float64Array[];
  /** Share of the variance each component explains. */
  explained: number[];
}

/** Principal components of `rows` (each of width `dim`), the `k` largest. */
export function fitPca(rows: readonly Float32Array[], dim: number, k: number): Pca {
  const n = rows.length;
  const mean = new Float64Array(dim);
  for (const r of rows) for (let d = 0; d < dim; d++) mean[d]! += r[d]!;
  for (let d = 0; d < dim; d++) mean[d]! /= n;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (const r of rows) {
    for (let d = 0; d < dim; d++) centred[d] = r[d]! - mean[d]!;
    for (let i = 0; i < dim; i++) {
      const ci = centred[i]!;
      const row = i * dim;
      for (let j = i; j < dim; j++) cov[row + j]! += ci * centred[j]!;
    }
  }
  for (let i = 0; i < dim; i++)
    for (let j = i; j < dim; j++) {
      cov[i * dim + j]! /= n;
      cov[j * dim + i] = cov[i * dim + j]!;
    }
  const { values, vectors } = symmetricEigen(cov, dim);
  const total = values.reduce((s, x) => s + Math.max(0, x), 0) || 1;
  return { mean, components: vectors.slice(0, k), explained: [...values.slice(0, k)].map((x) => Math.max(0, x) / total) };
}

/** A row projected on the principal axes (centred first). */
export function project(pca: Pca, row: Float32Array): Float32Array {
  const out = new Float32Array(pca.components.length);
  pca.components.forEach((c, k) => {
    let s = 0;
    for (let d = 0; d < c.length; d++) s += (row[d]! - pca.mean[d]!) * c[d]!;
    out[k] = s;
  });
  return out;
}
