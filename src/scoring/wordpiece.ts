/**
 * BERT's WordPiece tokenizer, from a Hugging Face tokenizer.json: the same token ids the
 * transformer sees, without loading the transformer. The static first stage uses it on every
 * signal, so it is written for speed: one pass per word, no regular expressions per token.
 */
import { SurgewatchError } from '../shared/errors.js';

export interface WordPieceOptions {
  vocab: ReadonlyMap<string, number>;
  unkToken: string;
  /** Prefix of a piece that continues a word ("##"). */
  continuingPrefix: string;
  /** Longer words become the unknown token. */
  maxCharsPerWord: number;
  lowercase: boolean;
  stripAccents: boolean;
  /** Put spaces around CJK ideographs, so each is a word of its own. */
  splitCjk: boolean;
}

/** The tokenizer file is not a BERT WordPiece tokenizer surgewatch can read. */
export class TokenizerFileError extends SurgewatchError {
  constructor(message: string) {
    super('MODEL_UNAVAILABLE', message);
    this.name = 'TokenizerFileError';
  }
}

interface TokenizerJson {
  normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null; handle_chinese_chars?: boolean } | null;
  model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
}

/** Reads the parts of a tokenizer.json that WordPiece needs; throws TokenizerFileError otherwise. */
export function wordPieceOptions(json: unknown): WordPieceOptions {
  const t = json as TokenizerJson;
  const model = t?.model;
  if (!model || model.type !== 'WordPiece' || !model.vocab || typeof model.vocab !== 'object')
    throw new TokenizerFileError(`not a WordPiece tokenizer (model.type is ${JSON.stringify(model?.type)})`);
  const vocab = new Map<string, number>();
  for (const [piece, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || id < 0) throw new TokenizerFileError(`vocabulary entry ${JSON.stringify(piece)} has id ${String(id)}`);
    vocab.set(piece, id);
  }
  const unkToken = model.unk_token ?? '[UNK]';
  if (!vocab.has(unkToken)) throw new TokenizerFileError(`the unknown token ${unkToken} is not in the vocabulary`);
  const norm = t.normalizer ?? {};
  const lowercase = norm.lowercase ?? true;
  return {
    vocab,
    unkToken,
    continuingPrefix: model.continuing_subword_prefix ?? '##',
    maxCharsPerWord: model.max_input_chars_per_word ?? 100,
    lowercase,
    // BertNormalizer: an unset strip_accents follows lowercase.
    stripAccents: norm.strip_accents ?? lowercase,
    splitCjk: norm.handle_chinese_chars ?? true,
  };
}

const COMBINING = /\p{Mn}/u;
const PUNCT = /\p{P}/u;
const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}]/u;
const SPACE = /\s/u;

function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/** BERT's punctuation: every non-alphanumeric ASCII symbol, and Unicode punctuation. */
function isPunct(cp: number, ch: string): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return cp > 127 && PUNCT.test(ch);
}

/** Tokenizes text into WordPiece ids (no [CLS]/[SEP]). */
export class WordPieceTokenizer {
  readonly unkId: number;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(readonly options: WordPieceOptions) {
    this.unkId = options.vocab.get(options.unkToken)!;
  }

  static fromJson(json: unknown): WordPieceTokenizer {
    return new WordPieceTokenizer(wordPieceOptions(json));
  }

  /** Vocabulary size (largest id + 1). */
  get size(): number {
    let max = -1;
    for (const id of this.options.vocab.values()) if (id > max) max = id;
    return max + 1;
  }

  /** The ids of a text, cut after maxTokens pieces. */
  encode(text: string, maxTokens = Infinity): number[] {
    const out: number[] = [];
    for (const word of this.words(text)) {
      for (const id of this.pieces(word)) {
        if (out.length >= maxTokens) return out;
        out.push(id);
      }
    }
    return out;
  }

  /** BertNormalizer and BertPreTokenizer: cleaned, folded words, punctuation split off. */
  words(text: string): string[] {
    const o = this.options;
    let t = o.lowercase ? text.toLowerCase() : text;
    if (o.stripAccents) {
      // Only text with a character outside ASCII needs the decomposition.
      if (/[^\u0000-\u007f]/.test(t)) t = [...t.normalize('NFD')].filter((c) => !COMBINING.test(c)).join('');
    }
    const words: string[] = [];
    let word = '';
    const flush = () => {
      if (word.length > 0) words.push(word);
      word = '';
    };
    for (const ch of t) {
      const cp = ch.codePointAt(0)!;
      if (cp === 0 || cp === 0xfffd) continue;
      if (cp === 32 || cp === 9 || cp === 10 || cp === 13 || (cp > 127 && SPACE.test(ch))) {
        flush();
        continue;
      }
      if (cp < 32 || cp === 127 || (cp > 127 && CONTROL.test(ch))) continue;
      if (isPunct(cp, ch) || (o.splitCjk && cp >= 0x3400 && isCjk(cp))) {
        flush();
        words.push(ch);
        continue;
      }
      word += ch;
    }
    flush();
    return words;
  }

  /** Greedy longest-match-first pieces of one word; the whole word is unknown if a piece is. */
  pieces(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const { vocab, continuingPrefix, maxCharsPerWord } = this.options;
    const chars = [...word];
    let ids: number[];
    if (chars.length > maxCharsPerWord) ids = [this.unkId];
    else {
      ids = [];
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: number | undefined;
        while (start < end) {
          const sub = (start > 0 ? continuingPrefix : '') + chars.slice(start, end).join('');
          found = vocab.get(sub);
          if (found !== undefined) break;
          end--;
        }
        if (found === undefined) {
          ids = [this.unkId];
          break;
        }
        ids.push(found);
        start = end;
      }
    }
    if (this.cache.size >= 200_000) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }
}
