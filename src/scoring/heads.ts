/**
 * Trained topic classifier heads: per topic, a small model over sentence vectors that gives a
 * calibrated probability. One head file holds the heads of one embedding model, for both
 * stages: the static first stage (every signal) and the transformer (what the first stage
 * flags). `surgewatch train` writes them; pipelines name them in `semantic.heads`.
 */
import { z } from 'zod';
import { SurgewatchError } from '../shared/errors.js';

export const HEADS_FORMAT = 1;

/** A linear head (logistic regression) or a one-hidden-layer network, before calibration. */
export type HeadModel =
  | { kind: 'linear'; dim: number; w: Float32Array; b: number }
  | { kind: 'mlp'; dim: number; hidden: number; w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: number };

/** Platt scaling of the raw score: p = sigmoid(a z + b). */
export interface Calibration {
  a: number;
  b: number;
}

/** Quality figures measured when the head was trained (on a split it did not train on). */
export interface StageFigures {
  split: string;
  positives: number;
  /** True and false hits. */
  tp: number;
  fp: number;
  benign: number;
  precision: number;
  recall: number;
  f1: number;
  benignFpr: number;
}

export interface StageHead {
  model: HeadModel;
  calibration: Calibration;
  /** Probability at or above which the topic is a hit. */
  threshold: number;
  /** Static stage only: probability at or above which the transformer re-scores the signal. */
  flagThreshold?: number;
  figures?: StageFigures;
}

export interface TopicHead {
  topic: string;
  /** The data labels its positives carried. */
  labels: string[];
  transformer: StageHead;
  static?: StageHead;
}

/** Reference vectors of a few probe texts, to check at load that the model is the one trained on. */
export interface Probes {
  texts: string[];
  transformer: Float32Array[];
  static?: Float32Array[];
}

export interface HeadSet {
  format: typeof HEADS_FORMAT;
  /** Names the set in `why`, e.g. "default-heads". */
  name: string;
  /** Content version: the date and a short hash of the weights. */
  version: string;
  /** The embedding model (manifest id) whose vectors the heads read. */
  model: string;
  staticDim?: number;
  /**
   * What the transformer stage's heads read: the transformer's vector alone, or followed by the
   * static stage's vector (which adds which word pieces the text has).
   */
  transformerInput: 'transformer' | 'transformer+static';
  createdAt: string;
  /** The datasheet beside the file: rows, licences, figures. */
  datasheet?: string;
  topics: TopicHead[];
  probes: Probes;
}

/** A head file that is unreadable or does not match its model. */
export class HeadFileError extends SurgewatchError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
    this.name = 'HeadFileError';
  }
}

// ---- serialization: float arrays as base64 of little-endian float32 ----

export function encodeFloats(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeFloats(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 4 !== 0) throw new HeadFileError('a weight array is not a whole number of float32 values');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

const floats = z.string().transform((s, ctx) => {
  try {
    return decodeFloats(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const modelSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('linear'), dim: z.number().int().positive(), w: floats, b: z.number() }),
  z.object({ kind: z.literal('mlp'), dim: z.number().int().positive(), hidden: z.number().int().positive(), w1: floats, b1: floats, w2: floats, b2: z.number() }),
]);

const figuresSchema = z.object({
  split: z.string(),
  positives: z.number(),
  tp: z.number(),
  fp: z.number(),
  benign: z.number(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  benignFpr: z.number(),
});

const stageSchema = z.object({
  model: modelSchema,
  calibration: z.object({ a: z.number(), b: z.number() }),
  threshold: z.number().min(0).max(1),
  flagThreshold: z.number().min(0).max(1).optional(),
  figures: figuresSchema.optional(),
});

export const headSetSchema = z.object({
  format: z.literal(HEADS_FORMAT),
  name: z.string().min(1).max(64),
  version: z.string().min(1).max(64),
  model: z.string().min(1),
  staticDim: z.number().int().positive().optional(),
  transformerInput: z.enum(['transformer', 'transformer+static']).default('transformer'),
  createdAt: z.string(),
  datasheet: z.string().optional(),
  topics: z.array(z.object({ topic: z.string().min(1), labels: z.array(z.string()), transformer: stageSchema, static: stageSchema.optional() })),
  probes: z.object({ texts: z.array(z.string()), transformer: z.array(floats), static: z.array(floats).optional() }),
});

function modelToJson(m: HeadModel): unknown {
  return m.kind === 'linear'
    ? { kind: m.kind, dim: m.dim, w: encodeFloats(m.w), b: m.b }
    : { kind: m.kind, dim: m.dim, hidden: m.hidden, w1: encodeFloats(m.w1), b1: encodeFloats(m.b1), w2: encodeFloats(m.w2), b2: m.b2 };
}

function stageToJson(s: StageHead): unknown {
  return { ...s, model: modelToJson(s.model) };
}

/** The head file's JSON text. */
export function serializeHeadSet(set: HeadSet): string {
  const json = {
    ...set,
    topics: set.topics.map((t) => ({ ...t, transformer: stageToJson(t.transformer), ...(t.static && { static: stageToJson(t.static) }) })),
    probes: { texts: set.probes.texts, transformer: set.probes.transformer.map(encodeFloats), ...(set.probes.static && { static: set.probes.static.map(encodeFloats) }) },
  };
  return `${JSON.stringify(json, null, 1)}\n`;
}

/** Parses and checks a head file's JSON: every weight array has the size its head declares. */
export function parseHeadSet(json: unknown, source = 'head file'): HeadSet {
  const parsed = headSetSchema.safeParse(json);
  if (!parsed.success) throw new HeadFileError(`${source}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ')}`);
  const set = parsed.data as HeadSet;
  for (const t of set.topics) {
    for (const [stage, head] of [['transformer', t.transformer], ['static', t.static]] as const) {
      if (!head) continue;
      const m = head.model;
      const ok = m.kind === 'linear' ? m.w.length === m.dim : m.w1.length === m.hidden * m.dim && m.b1.length === m.hidden && m.w2.length === m.hidden;
      if (!ok) throw new HeadFileError(`${source}: topic ${t.topic}, ${stage} head: weight sizes do not match dim ${m.dim}`);
      if (stage === 'static' && set.staticDim !== undefined && m.dim !== set.staticDim) throw new HeadFileError(`${source}: topic ${t.topic}: static head reads ${m.dim} dims, the set says ${set.staticDim}`);
    }
  }
  if (set.transformerInput === 'transformer+static' && set.staticDim === undefined) throw new HeadFileError(`${source}: transformerInput transformer+static needs staticDim`);
  return set;
}

/** The head's raw score (a logit) for a vector. */
export function headScore(m: HeadModel, x: Float32Array): number {
  if (m.kind === 'linear') {
    let s = m.b;
    for (let d = 0; d < m.dim; d++) s += m.w[d]! * x[d]!;
    return s;
  }
  let z = m.b2;
  const { dim, w1, b1, w2 } = m;
  for (let j = 0; j < m.hidden; j++) {
    let a = b1[j]!;
    const row = j * dim;
    for (let d = 0; d < dim; d++) a += w1[row + d]! * x[d]!;
    if (a > 0) z += w2[j]! * a;
  }
  return z;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** The calibrated probability of a stage head for a vector. */
export function headProbability(head: StageHead, x: Float32Array): number {
  return sigmoid(head.calibration.a * headScore(head.model, x) + head.calibration.b);
}

const cosine = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? s / Math.sqrt(na * nb) : 0;
};

/**
 * The lowest cosine between the probe vectors a head file recorded and the ones a model gives
 * now: near 1 when it is the model the heads were trained on (int8 kernels differ a little
 * between CPUs), far below when it is not.
 */
export function probeAgreement(recorded: readonly Float32Array[], now: readonly Float32Array[]): number {
  if (recorded.length !== now.length || recorded.length === 0) return 0;
  return Math.min(...recorded.map((r, i) => (r.length === now[i]!.length ? cosine(r, now[i]!) : 0)));
}

/** Probes must agree at least this well for a head set to be used. */
export const MIN_PROBE_AGREEMENT = 0.98;
