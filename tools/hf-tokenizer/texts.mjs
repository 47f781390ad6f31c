// texts.mjs: the text sets the golden scripts encode (make_golden.mjs for the small tokenizers, make_real_golden.mjs for
// the real DeepSeek-V3 and Qwen3 vocabularies) and the seeded generator behind their random texts. Not here: encoding,
// the tokenizer layouts, the golden files.

// Deterministic 32-bit generator (mulberry32), so the corpus and the random texts are the same on every run.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = (r, list) => list[Math.floor(r() * list.length)];

export const words = ['the', 'model', 'token', 'expert', 'router', 'attention', 'latent', 'gradient', 'batch', 'layer', 'value',
  'key', 'query', 'sum', 'answer', 'think', 'prime', 'number', 'loss', 'step', 'Hello', 'World', 'DeepSeek', 'mixture',
  'of', 'experts', 'is', 'a', 'and', 'to', 'in', 'we', 'compute', 'returns', 'if', 'else', 'for', 'while', 'int', 'var'];
export const cjk = ['你好', '世界', '模型', '专家', '注意力', '训练', '数据', 'こんにちは', 'カタカナ', '東京', '한국어', '深度求索'];
export const emoji = ['😀', '🚀', '👍🏽', '👩‍💻', '👨‍👩‍👧‍👦', '🏳️‍🌈', '❤️', '🇯🇵'];

// Hand-picked cases: each names a behaviour the two implementations must share.
export const fixedTexts = [
  '',
  ' ',
  '   ',
  '\t',
  '\n',
  '\r\n',
  'Hello world',
  'Hello, world! The model routes each token to 8 of 256 experts.',
  "It's what they've said: I'm sure we'll see, you'd agree. IT'S LOUD.",
  '1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890',
  'x=3.14159; y=-0.001; z=1e-9; 2024-12-26',
  'def f(x):\n    if x > 0:\n        return x * 2\n    return -x\n',
  'for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\r\n',
  '你好，世界！深度求索的模型。',
  'こんにちは、カタカナとひらがな。東京タワー',
  '한국어 텍스트와 English 섞기',
  '😀abc',
  'a😀b 😀 😀😀',
  '👨‍👩‍👧‍👦 family, 👩‍💻 coder, 👍🏽 ok, 🏳️‍🌈 flag, 🇯🇵',
  'e\u0301 cafe\u0301 Cafe\u0301 n\u0303 A\u030a',
  'caf\u00e9 vs cafe\u0301',
  'a  b   c    d\n\n\ne  \n  f',
  'trailing spaces   ',
  '   leading spaces',
  'line one\r\nline two\r\n\r\nline four',
  'mixed\t\ttabs \t and\u00a0nbsp\u3000ideographic space',
  'Ünïcödé Ελληνικά Кириллица עברית العربية हिन्दी',
  '𝟘𝟙𝟚 𝐀𝐁𝐂 𐍈 math and gothic',
  '①②③ ¼ ½ Ⅻ ٣٤٥ ३४५',
  "ALL CAPS 'S 'T 'RE 'VE 'M 'LL 'D and 's 't",
  '!!!??? ... --- *** ### @@@ $$$ %%%',
  '"quoted" (parens) [brackets] {braces} <angles>',
  'path/to/file.cs:42 https://example.com/a?b=c&d=e#f',
  'snake_case camelCase PascalCase kebab-case SCREAMING_CASE',
  '\u{20000}\u{20001} 中\u{20002}文 😀中文 かな😀 \u{1D7D9}\u{1D7DA}\u{1D7DB}\u{1D7DC}\u{1D7DD}\u{1D7DE}\u{1D7DF} \u{10400}\u{10428}',
  'a\u{1F600}1 \u{1F600}\u{1F600}x! x\u{1F44D}\u{1F3FD}y \u{E0041}tag \u{1D400}\u{0301}',
  'ws\u000b\u000cform\u0085nel\u2028ls\u2029ps\u200bzw\u001cfs\u00a0\u00a0 \u205f\u202f end',
  ' \n \r\n\t \n\n  x  \r',
  "don't DON'T it'S we'Ll I'M 's 'x 'd'd",
];

export function specialTexts(specials) {
  const [a, b, c] = specials;
  return [
    `${a}`,
    `${a}Hello${b}`,
    `${a} hi ${b} there ${c}`,
    `text${a}${a}${b}more`,
    `prefix ${c}\n\nsuffix`,
    `${a.slice(0, -1)} not quite a special token`,
  ];
}

export function randomTexts(seed, count, specials) {
  const r = rng(seed);
  const pool = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
    ...' \t\n\r  .,;:!?\'"()[]{}<>-_+=*/\\|@#$%^&~`', '\u00a0', '\u3000', '\u0301', '\u0308', 'é', 'ß', 'Ω', 'ж',
    '你', '好', '世', 'あ', 'カ', '한', '😀', '🚀', '\u200d', '👩', '💻', '🏽', 'ا', 'ب', 'ह', '٣', '𝟘', '\ufe0f', "'s"];
  const texts = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(r() * 60);
    let s = '';
    for (let j = 0; j < n; j++) {
      const u = r();
      if (u < 0.25) { s += pick(r, words) + ' '; }
      else if (u < 0.3 && specials.length > 0) { s += pick(r, specials); }
      else { s += pick(r, pool); }
    }
    texts.push(s);
  }
  return texts;
}

// For the real DeepSeek-V3 and Qwen3 vocabularies (make_real_golden.mjs): longer everyday text, code, numbers in many
// scripts, the reasoning tags, and long runs that go past the piece cache, on top of fixedTexts.
export const realTexts = [
  '<think>\nThe user asks for 2 + 2. That is 4.\n</think>\n\nThe answer is **4**.',
  '<think></think>',
  '<think>\n\n</think>\n\n',
  '</think>answer only',
  'a<think>b</think>c <think> spaced </think> d',
  '<thin k> < think> <think > <THINK> </ think> <think',
  'DeepSeek-V3 is a Mixture-of-Experts (MoE) language model with 671B total parameters, of which 37B are activated ' +
    'for each token. It adopts Multi-head Latent Attention (MLA) and DeepSeekMoE, and an auxiliary-loss-free strategy ' +
    'for load balancing.\n\nIt was pre-trained on 14.8 trillion diverse, high-quality tokens.',
  'DeepSeek-V3采用了多头潜在注意力（MLA）和DeepSeekMoE架构，总参数量为671B，每个token激活37B参数。我们在14.8万亿个高质量token上进行了预训练。',
  '「深度求索」は、こんにちは！東京の天気は晴れです。ラーメンを食べましょう。',
  '서울특별시는 대한민국의 수도이다. 인구는 약 940만 명이다.',
  'public static int Add(int a, int b)\n{\n    return a + b; // sum\n}\n',
  'def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n',
  '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}}',
  '<div class="note">\n  <p>Hello &amp; welcome</p>\n</div>',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC LIMIT 10;',
  'for f in *.txt; do echo "$f: $(wc -l < "$f")"; done && x=$((x+1))',
  '$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$ and $e^{i\\pi} + 1 = 0$',
  '| col | value |\n|-----|-------|\n| a   | 1.5   |\n\n- item one\n- item two\n\n1. first\n2. second',
  '3.14159265358979 1,234,567.89 -0.000001 6.02e23 0x7FFF_FFFF 0b1010 1_000_000 007 12:30:45 2025-01-31T23:59:59Z',
  '１２３４５ ٠١٢٣٤٥٦٧٨٩ ०१२३४५६७८९ ²³¹ ⅠⅡⅢⅫ ½¾ 一二三四五 ①⑩⑳',
  'Ça va? Déjà vu, naïve façade, Ångström, Øresund, Straße, Łódź, İstanbul, ǅemal, Ñandú, Škoda, ĳssel, Æsir, œuvre',
  'Ελληνικά: Καλημέρα κόσμε. Русский: Привет, мир! Українська: Ґанок. العربية: مرحبا بالعالم. עברית: שלום עולם.',
  'हिन्दी: नमस्ते दुनिया। ไทย: สวัสดีชาวโลก ქართული: გამარჯობა Tiếng Việt: Xin chào thế giới',
  '1️⃣ 2️⃣ #️⃣ 🧑🏿‍🚀 👩🏻‍❤️‍💋‍👨🏼 🇺🇸🇨🇳🇯🇵🇩🇪 🏴󠁧󠁢󠁳󠁣󠁴󠁿 ☺️ ✌🏾 🫠🫶🪿',
  ' '.repeat(20) + 'x' + '\t'.repeat(5) + 'y' + '\n'.repeat(6) + 'z' + ' \n'.repeat(4) + '\u3000'.repeat(3),
  '\n\n\n\n',
  'end with newlines\n\n\n',
  ' '.repeat(100),
  'a'.repeat(300),
  '='.repeat(80) + '\n' + '-'.repeat(80),
  'aGVsbG8gd29ybGQgdGhpcyBpcyBhIGxvbmcgYmFzZTY0IGJsb2IgdGhhdCBoYXMgbm8gc3BhY2VzIGF0IGFsbCBhbmQgZ29lcyBvbiBhbmQgb24=',
  'https://huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/tokenizer_config.json?download=true#L12',
  "'S 'ſ 'Ｓ 'LL 'Ll 'lL 'RE 'rE I'VE you'RE it'S",
  'emoji😀inside😀words and 中文English混合mixed 123中456文',
  'Tabs\tand\ttext\t\t\tend\t',
  'line\rcarriage\r\rreturns\r\n\r\nmixed',
  // Letters, marks and digits from recent Unicode versions (14: Vithkuqi, Toto; 15: Kawi, Nag Mundari, CJK Extension H;
  // 15.1: CJK Extension I; 16: Garay, Todhri, Sunuwar, Kirat Rai) next to Latin letters and digits.
  'a\u{10570}\u{10597}b \u{1E290}\u{1E2AE} c\u{11F04}\u{11F10}\u{11F50}\u{11F59}d \u{1E4D0}\u{1E4F0}\u{1E4F9} \u{31350}\u{323AF} \u{2EBF0}\u{2EE5D}',
  'x\u{10D4A}\u{10D50}\u{10D6E}y \u{105C0}\u{105F3} \u{11BC0}\u{11BF0}\u{11BF9} \u{16D40}\u{16D70}\u{16D79} \u{1FAE8}\u{1FA89}\u{1FAE9} 🫨1🫎2',
];

// Random code points: text from every plane, weighted toward the assigned ones, with ASCII letters, digits and spaces
// between, so category and script boundaries of the split regexes land between all kinds of characters.
export function randomCodePointTexts(seed, count) {
  const r = rng(seed);
  const ranges = [[0x20, 0x7e, 3], [0xa0, 0x24ff, 4], [0x2500, 0xd7ff, 4], [0xe000, 0xfffd, 1], [0x10000, 0x1ffff, 4],
    [0x20000, 0x323af, 2], [0xe0000, 0xe01ef, 1], [0xf0000, 0x10fffd, 1]];
  const total = ranges.reduce((n, [, , w]) => n + w, 0);
  const codePoint = () => {
    let u = r() * total;
    for (const [lo, hi, w] of ranges) {
      if ((u -= w) < 0) { return lo + Math.floor(r() * (hi - lo + 1)); }
    }
    return 0x41;
  };
  const texts = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(r() * 40);
    let s = '';
    for (let j = 0; j < n; j++) {
      const u = r();
      s += u < 0.15 ? ' ' : u < 0.25 ? pick(r, [...'abcXYZ0129']) : String.fromCodePoint(codePoint());
    }
    texts.push(s);
  }
  return texts;
}

// Texts with a tokenizer's own added tokens (special and not): adjacent, inside words, at the ends, and near misses.
export function realSpecialTexts(tokens) {
  const [a, b, c, d] = tokens;
  return [
    tokens.join(''),
    tokens.join(' '),
    `${a}${b}Hello${c}World${d}`,
    `word${a}word ${b} word\n${c}\n\n${d}  `,
    `${a.slice(0, -1)} ${b.slice(1)} ${c.toUpperCase()} ${d}${d}`,
  ];
}
