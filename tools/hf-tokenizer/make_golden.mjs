// make_golden.mjs: golden token ids from Hugging Face tokenizers (the Rust library through its official Node bindings)
// for the parity tests in TokenizerHfParityTests. Not here: the tokenizer under test (SharpSeek.Model/Tokenizer).
//
//   node tools/hf-tokenizer/make_golden.mjs              derive the DeepSeek-V3 and Qwen2 layouts from trained.tokenizer.json
//                                                        and write <name>.expected.json for every tokenizer
//   node tools/hf-tokenizer/make_golden.mjs --corpus F   write the training text for `sharpseek tokenizer train` to F
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Tokenizer } from 'tokenizers';
import { rng, pick, fixedTexts, specialTexts, randomTexts, words, cjk, emoji } from './texts.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', '..', 'tests', 'data', 'tokenizer');
const version = createRequire(import.meta.url)('tokenizers/package.json').version;

// A made-up word of two to four syllables, so the merges go beyond the fixed word list.
function syllables(r) {
  const n = 2 + Math.floor(r() * 3);
  let w = r() < 0.15 ? 'X' : '';
  for (let i = 0; i < n; i++) { w += pick(r, ['ka', 'ro', 'mi', 'ten', 'sor', 'lu', 'vex', 'qua', 'dri', 'ne', 'sta', 'pol']); }
  return w;
}

function corpus() {
  const r = rng(20250101);
  const lines = [];
  for (let i = 0; i < 4000; i++) {
    const n = 3 + Math.floor(r() * 12);
    const parts = [];
    for (let j = 0; j < n; j++) {
      const u = r();
      if (u < 0.45) { parts.push(pick(r, words)); }
      else if (u < 0.7) { parts.push(syllables(r)); }
      else if (u < 0.8) { parts.push(String(Math.floor(r() * 10 ** (1 + Math.floor(r() * 7))))); }
      else if (u < 0.9) { parts.push(pick(r, cjk)); }
      else if (u < 0.95) { parts.push(pick(r, emoji)); }
      else { parts.push(pick(r, ['(x)', 'f(x);', '{', '}', '==', '+=', '->', '...', '!', '?', ','])); }
    }
    const indent = r() < 0.2 ? ' '.repeat(4 * (1 + Math.floor(r() * 2))) : '';
    lines.push(indent + parts.join(' ') + (r() < 0.5 ? '.' : ''));
  }
  return lines.join('\n') + '\n';
}

// Every text yields three golden rows: ids (encode without special tokens), decoded (decode of those ids, specials
// kept) and pieces (the pre-tokenizer alone on the raw text, in byte-level chars: the regex split boundaries).

// DeepSeek-V3 style: three isolating splits (digit groups of up to three, CJK/kana runs, then a GPT-4-like
// letters/punctuation pattern), ByteLevel without its own regex, an empty normalizer Sequence, merges as pairs.
const deepSeekSplits = [
  '\\p{N}{1,3}',
  '[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+',
  '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
];

// Qwen2's split regex, as ByteLevelBpe.SplitPattern spells it.
const qwenSplit = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const byteLevel = (addPrefixSpace, trimOffsets, useRegex) =>
  ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: useRegex });

const split = pattern => ({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false });

const addedToken = (id, content) =>
  ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

// The trained model's byte-level vocab and merges, without its special tokens, renumbered densely.
function baseModel(trained) {
  const specials = new Set(trained.added_tokens.map(t => t.content));
  const entries = Object.entries(trained.model.vocab).filter(([token]) => !specials.has(token)).sort((x, y) => x[1] - y[1]);
  const vocab = Object.fromEntries(entries.map(([token], i) => [token, i]));
  const merges = trained.model.merges.map(m => (Array.isArray(m) ? m : m.split(' ')));
  return { vocab, merges, size: entries.length };
}

function bpeModel(vocab, merges) {
  return { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges };
}

function deepSeekLayout(trained) {
  const { vocab, merges, size } = baseModel(trained);
  const names = ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜▁pad▁｜>', '<｜User｜>', '<｜Assistant｜>',
    '<think>', '</think>', '<｜tool▁calls▁begin｜>', '<｜tool▁call▁end｜>'];
  const added = names.map((content, i) => addedToken(size + i, content));
  const bos = added[0];
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: { type: 'Sequence', normalizers: [] },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [...deepSeekSplits.map(split), byteLevel(false, true, false)] },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: bos.content, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos.content]: { id: bos.content, ids: [bos.id], tokens: [bos.content] } },
    },
    decoder: byteLevel(true, true, true),
    model: bpeModel(vocab, merges),
  };
}

function qwenLayout(trained) {
  const { vocab, merges, size } = baseModel(trained);
  const added = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'].map((content, i) => addedToken(size + i, content));
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [split(qwenSplit), byteLevel(false, false, false)] },
    post_processor: byteLevel(false, false, false),
    decoder: byteLevel(false, false, false),
    model: bpeModel(vocab, merges.map(([l, r]) => `${l} ${r}`)),
  };
}

function writeAtomic(path, text) {
  writeFileSync(path + '.tmp', text);
  renameSync(path + '.tmp', path);
}

async function golden(name) {
  const file = join(dataDir, `${name}.tokenizer.json`);
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const specials = json.added_tokens.map(t => t.content);
  const texts = [...fixedTexts, ...specialTexts(specials), ...randomTexts(7 + name.length, 60, specials)];
  const tokenizer = Tokenizer.fromFile(file);
  const preTokenizer = tokenizer.getPreTokenizer();
  const ids = [];
  const decoded = [];
  const pieces = [];
  for (const text of texts) {
    pieces.push(preTokenizer.preTokenizeString(text).map(([piece]) => piece));
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const row = Array.from(encoding.getIds());
    ids.push(row);
    decoded.push(await tokenizer.decode(row, false));
  }
  const out = { reference: `tokenizers ${version} (npm, Rust core)`, tokenizer: `${name}.tokenizer.json`, texts, ids, decoded, pieces };
  writeAtomic(join(dataDir, `${name}.expected.json`), JSON.stringify(out) + '\n');
  console.log(`${name}: ${texts.length} texts, ${ids.reduce((n, r) => n + r.length, 0)} ids`);
}

const args = process.argv.slice(2);
if (args[0] === '--corpus') {
  if (!args[1]) { throw new Error('--corpus needs an output file'); }
  writeAtomic(args[1], corpus());
  console.log(`corpus written to ${args[1]}`);
} else {
  const trained = JSON.parse(readFileSync(join(dataDir, 'trained.tokenizer.json'), 'utf8'));
  writeAtomic(join(dataDir, 'deepseek_v3.tokenizer.json'), JSON.stringify(deepSeekLayout(trained), null, 1) + '\n');
  writeAtomic(join(dataDir, 'qwen2.tokenizer.json'), JSON.stringify(qwenLayout(trained), null, 1) + '\n');
  for (const name of ['trained', 'deepseek_v3', 'qwen2']) { await golden(name); }
}
