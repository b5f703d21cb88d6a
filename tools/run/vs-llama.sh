#!/usr/bin/env bash
# vs-llama.sh — swacl-run against llama.cpp's CPU backend on the same GGUF, in
# alternating rounds so that every swacl figure has a llama.cpp figure taken
# moments apart: prefill of tests/data/gemma3_270m_prompt.txt (518 tokens) and
# 128 decoded tokens for swacl-run --bench; llama-bench's pp512 and tg128 with 2
# threads. Prints each round and the medians. Keep the machine otherwise idle.
# llama-bench comes from ../shared/peers (build.sh with WITH_LLAMA_TOOLS=1); it is a
# measuring tool, not part of swacl.
# Usage: tools/run/vs-llama.sh LLAMA_BENCH MODEL.gguf [ROUNDS] [SWACL_RUN]
set -euo pipefail
llama=$1
model=$2
rounds=${3:-5}
run=${4:-build/tools/run/swacl-run}
prompt=$(cat "$(dirname "$0")/../../tests/data/gemma3_270m_prompt.txt")
pp=() tg=() lpp=() ltg=()
for r in $(seq "$rounds"); do
    out=$("$run" -m "$model" -p "$prompt" -n 128 --temp 0 --bench 2>&1)
    pp+=("$(sed -n 's/^prefill: .*: \([0-9.]*\) tokens\/s$/\1/p' <<<"$out")")
    tg+=("$(sed -n 's/^decode: .*: \([0-9.]*\) tokens\/s$/\1/p' <<<"$out")")
    # llama-bench's markdown table: the t/s column holds "mean ± sd"
    lout=$("$llama" -m "$model" -p 512 -n 128 -t 2 -r 1 2>/dev/null)
    lpp+=("$(awk -F'|' '/pp512/ {split($(NF-1), a, " "); print a[1]}' <<<"$lout")")
    ltg+=("$(awk -F'|' '/tg128/ {split($(NF-1), a, " "); print a[1]}' <<<"$lout")")
    echo "round $r: swacl-run prefill ${pp[-1]} decode ${tg[-1]} tokens/s; llama.cpp pp512 ${lpp[-1]} tg128 ${ltg[-1]} tokens/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
mp=$(median "${pp[@]}") mt=$(median "${tg[@]}") lp=$(median "${lpp[@]}") lt=$(median "${ltg[@]}")
echo "medians of $rounds rounds: swacl-run prefill $mp, decode $mt tokens/s; llama.cpp pp512 $lp, tg128 $lt tokens/s"
awk -v a="$mp" -v b="$lp" -v c="$mt" -v d="$lt" 'BEGIN {printf "swacl-run / llama.cpp: prefill %.2f, decode %.2f\n", a / b, c / d}'
