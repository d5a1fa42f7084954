import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoTokenizer } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { TokenizerFileError, WordPieceTokenizer } from '../../../src/scoring/wordpiece.js';
import { defaultModelDir } from '../../_util/default-model.js';
import { readLabelledDev } from '../../_util/shared-data.js';

const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'i', 'want', 'to', 'die', 'un', '##alive', '##d', 'cafe', '!', '.', '你', '好', 'self', '-', 'harm'];
const json = { normalizer: { type: 'BertNormalizer', lowercase: true, strip_accents: null, handle_chinese_chars: true }, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 10, vocab: Object.fromEntries(vocab.map((w, i) => [w, i])) } };
const tok = WordPieceTokenizer.fromJson(json);
const pieces = (text: string) => tok.encode(text).map((id) => vocab[id]);

describe('WordPiece tokenizer', () => {
  it.each([
    ['I want to DIE!', ['i', 'want', 'to', 'die', '!']],
    ['unalived', ['un', '##alive', '##d']],
    ['Café', ['cafe']],
    ['self-harm', ['self', '-', 'harm']],
    ['你好', ['你', '好']],
    ['wa\u200bnt', ['want']],
    ['zzz want', ['[UNK]', 'want']],
    ['unaliveunalive!', ['[UNK]', '!']],
    ['', []],
  ])('%j -> %j', (text, expected) => {
    expect(pieces(text)).toEqual(expected);
  });

  it('stops after maxTokens pieces', () => {
    expect(tok.encode('i want to die', 2)).toEqual([4, 5]);
  });

  it('refuses a tokenizer file that is not WordPiece, or whose unknown token is not in the vocabulary', () => {
    expect(() => WordPieceTokenizer.fromJson({ model: { type: 'BPE', vocab: {} } })).toThrow(TokenizerFileError);
    expect(() => WordPieceTokenizer.fromJson({ model: { type: 'WordPiece', vocab: { a: 0 }, unk_token: '[UNK]' } })).toThrow(/unknown token/);
  });

  it("gives the same ids as transformers.js's tokenizer on real posts, with the default model's vocabulary", async () => {
    const dir = defaultModelDir();
    const real = WordPieceTokenizer.fromJson(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')));
    const reference = await AutoTokenizer.from_pretrained(dir);
    const texts = readLabelledDev().rows.filter((_, i) => i % 40 === 0).map((r) => r.text);
    const differ = texts.filter((t) => real.encode(t).join() !== (reference.encode(t, { add_special_tokens: false }) as number[]).join());
    expect(texts.length).toBeGreaterThan(1500);
    expect(differ).toEqual([]);
  });
});
