#!/usr/bin/env bash
# install.sh: installs the development-only PyTorch used by tools/reference (Debian python3-torch, CPU) and OpenBLAS
# (libopenblas0-openmp) under it: without OpenBLAS, Debian's torch runs its GEMMs on the reference BLAS (libblas3), about
# ten times slower, and every side-by-side benchmark against it is meaningless. Idempotent. Not a runtime dependency of SharpSeek.
set -euo pipefail
if /usr/bin/python3 -c "import torch, numpy" 2>/dev/null && dpkg -s libopenblas0-openmp >/dev/null 2>&1; then
    echo "python3-torch already installed: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), BLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
    exit 0
fi
apt-get update -qq
apt-get install -y -qq python3-torch libopenblas0-openmp
/usr/bin/python3 -c "import torch; print('python3-torch', torch.__version__)"
echo "BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
