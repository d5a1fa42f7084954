/**
 * Writes a tiny sentence-embedding model in the Hugging Face ONNX layout, so that the
 * transformers.js backend's real loading, tokenizing, batching and pooling code can run where
 * no model can be downloaded. The graph is one Gather over an embedding table: token i's hidden
 * state is row i of the table, which makes pooled results predictable.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// --- a few lines of protobuf encoding (enough for ONNX's ModelProto) ---

type Field = Uint8Array;

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);
const num = (field: number, n: number): Field => Uint8Array.from([...tag(field, 0), ...varint(n)]);
function bytes(field: number, data: Uint8Array): Field {
  return Uint8Array.from([...tag(field, 2), ...varint(data.length), ...data]);
}
const str = (field: number, s: string): Field => bytes(field, new TextEncoder().encode(s));
function msg(field: number, ...parts: Field[]): Field {
  return bytes(field, concat(parts));
}
function concat(parts: Field[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const FLOAT = 1;
const INT64 = 7;

/** ValueInfoProto with a tensor type whose dims are symbolic names or sizes. */
function valueInfo(field: number, name: string, elemType: number, dims: (string | number)[]): Field {
  const shape = dims.map((d) => msg(1, typeof d === 'number' ? num(1, d) : str(2, d)));
  return msg(field, str(1, name), msg(2, msg(1, num(1, elemType), msg(2, ...shape))));
}

export interface TinyModelOptions {
  /** Vocabulary words; ids 0 and 1 are [PAD] and [UNK]. */
  words: string[];
  /** One row per vocabulary entry (including [PAD] and [UNK]), all of the same width. */
  table: number[][];
  /** Truncation length written to tokenizer_config.json. */
  maxLength?: number;
  /**
   * Write a BERT WordPiece tokenizer (what the static first stage needs) instead of a
   * word-level one. `words` must then start with [CLS] and [SEP].
   */
  wordPiece?: boolean;
}

/** Writes the model into `dir` (config.json, tokenizer files, onnx/model.onnx); returns `dir`. */
export function writeTinyModel(dir: string, opts: TinyModelOptions): string {
  const vocab = ['[PAD]', '[UNK]', ...opts.words];
  if (opts.table.length !== vocab.length) throw new Error(`table needs ${vocab.length} rows, has ${opts.table.length}`);
  const dim = opts.table[0]!.length;
  const raw = new Float32Array(opts.table.flat());

  const table = msg(5, num(1, vocab.length), num(1, dim), num(2, FLOAT), str(8, 'embeddings'), bytes(9, new Uint8Array(raw.buffer)));
  const gather = msg(1, str(1, 'embeddings'), str(1, 'input_ids'), str(2, 'last_hidden_state'), str(3, 'gather'), str(4, 'Gather'));
  const graph = msg(
    7,
    gather,
    str(2, 'tiny'),
    table,
    valueInfo(11, 'input_ids', INT64, ['batch', 'sequence']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'sequence']),
    valueInfo(12, 'last_hidden_state', FLOAT, ['batch', 'sequence', dim]),
  );
  const model = concat([num(1, 8), str(2, 'surgewatch-tests'), graph, msg(8, str(1, ''), num(2, 17))]);

  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), model);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'PreTrainedTokenizer', pad_token: '[PAD]', unk_token: '[UNK]', model_max_length: opts.maxLength ?? 512 }),
  );
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: ['[PAD]', '[UNK]'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: opts.wordPiece ? { type: 'BertNormalizer', lowercase: true, strip_accents: null, handle_chinese_chars: true, clean_text: true } : { type: 'Lowercase' },
      pre_tokenizer: { type: opts.wordPiece ? 'BertPreTokenizer' : 'Whitespace' },
      post_processor: null,
      decoder: null,
      model: opts.wordPiece
        ? { type: 'WordPiece', vocab: Object.fromEntries(vocab.map((w, i) => [w, i])), unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100 }
        : { type: 'WordLevel', vocab: Object.fromEntries(vocab.map((w, i) => [w, i])), unk_token: '[UNK]' },
    }),
  );
  return dir;
}
