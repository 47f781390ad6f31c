#!/usr/bin/env bash
# install.sh: installs the pinned Hugging Face tokenizers Node package (Rust core; the linux-x64, macOS and Windows
# native binaries ship inside the npm tarball) from package-lock.json. Run before make_golden.mjs.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node -e "import('tokenizers').then(() => console.log('tokenizers ready'))"
