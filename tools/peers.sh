#!/usr/bin/env bash
# peers.sh — swacl's attention against llama.cpp's CPU flash attention (ggml) on
# the profiler's shapes, in alternating rounds on this machine.
#
# The measuring tools live outside the repository, in ../shared/peers (a driver
# timing ggml_flash_attn_ext, its build script, the round runner and the
# pairing script). This script only puts them to work:
#   1. downloads llama.cpp's sources as PyPI ships them (the llama-cpp-python
#      sdist) into a virtual environment's cache under WORK, once;
#   2. builds ggml's CPU backend and the driver there with the peers' build.sh,
#      once (about 25 minutes on 2 cores);
#   3. runs ROUNDS alternating rounds of the driver and build/tools/prof/swacl-prof
#      and writes the paired tables (markdown) to OUT/summary.md.
# Keep the machine otherwise idle while the rounds run. Record the result under
# docs/peers/ with the date and the machine.
#
# Usage: tools/peers.sh [ROUNDS] [OUT]        (from the project root)
# Environment: PEERS=../shared/peers  WORK=build/peers  PROF=build/tools/prof/swacl-prof
#              LLAMA_CPP_PYTHON=0.3.36 (the sdist version whose llama.cpp is built)
set -euo pipefail
rounds=${1:-3}
out=${2:-build/peers/rounds-$(date -u +%Y%m%d-%H%M)}
peers=${PEERS:-../shared/peers}
work=${WORK:-build/peers}
prof=${PROF:-build/tools/prof/swacl-prof}
version=${LLAMA_CPP_PYTHON:-0.3.36}

for f in build.sh rounds.sh compare.py; do
    [ -f "$peers/$f" ] || { echo "peers.sh: $peers/$f not found (set PEERS)" >&2; exit 1; }
done
[ -x "$prof" ] || { echo "peers.sh: $prof not built (cmake --build build)" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)

src=$work/llama_cpp_python-$version/vendor/llama.cpp
if [ ! -d "$src" ]; then
    [ -x "$work/venv/bin/pip" ] || python3 -m venv "$work/venv"
    "$work/venv/bin/pip" download --quiet --no-deps --no-binary :all: \
        "llama-cpp-python==$version" -d "$work"
    tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
fi
driver=$work/ggml-build/bin/ggml_swa
[ -x "$driver" ] || "$peers/build.sh" "$src" "$work/ggml-build"

"$peers/rounds.sh" "$driver" "$prof" "$out" "$rounds"
python3 "$peers/compare.py" "$out" > "$out/summary.md"
echo "peers.sh: tables in $out/summary.md"
