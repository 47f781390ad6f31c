#!/usr/bin/env bash
# install.sh: installs the development-only PyTorch used by tools/reference (Debian python3-torch, CPU).
# Idempotent: does nothing when /usr/bin/python3 already imports torch. Not a runtime dependency of SharpSeek.
set -euo pipefail
if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then
    echo "python3-torch already installed: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
    exit 0
fi
apt-get update -qq
apt-get install -y -qq python3-torch
/usr/bin/python3 -c "import torch; print('python3-torch', torch.__version__)"
