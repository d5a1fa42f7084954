/**
 * The static first stage: a sentence vector without running the transformer. Each WordPiece
 * token has a fixed vector, distilled from the transformer when the model was fetched (each
 * vocabulary token run through the model alone, reduced with PCA, weighted down the more
 * common the token is: the Model2Vec recipe). A text's vector is the mean of its tokens'
 * vectors, scaled to unit length. Pure and fast enough for every signal.
 */
import { embeddingText, normalizeVector } from './embedder.js';
import type { WordPieceTokenizer } from './wordpiece.js';

export interface StaticTable {
  /** The model the table was distilled from. */
  model: string;
  dim: number;
  /** vocabulary size x dim, row-major; a token's row already carries its weight. */
  vectors: Float32Array;
}

export class StaticEmbedder {
  constructor(
    readonly table: StaticTable,
    readonly tokenizer: WordPieceTokenizer,
    /** Tokens read per text: far more than the transformer, since each costs a few adds. */
    readonly maxTokens = 256,
  ) {}

  get dim(): number {
    return this.table.dim;
  }

  /** The unit vector of one text (the zero vector when no token has a vector). */
  embed(text: string, into = new Float32Array(this.table.dim)): Float32Array {
    const { dim, vectors } = this.table;
    into.fill(0);
    const ids = this.tokenizer.encode(embeddingText(text, this.maxTokens * 8), this.maxTokens);
    for (const id of ids) {
      const row = id * dim;
      if (row + dim > vectors.length) continue;
      for (let d = 0; d < dim; d++) into[d]! += vectors[row + d]!;
    }
    return normalizeVector(into);
  }
}
