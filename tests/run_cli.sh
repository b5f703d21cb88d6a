#!/bin/sh
# run_cli.sh — swacl-run's command line on the tiny fixture models: a stream past
# the model's context, a sampled parallel batch, and bad arguments and files, each
# with its exit status and message.
# Usage: run_cli.sh SWACL_RUN DATA_DIR
run=$1
data=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect() { # status, pattern, command...
    want=$1 pattern=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    got=$?
    if [ "$got" != "$want" ] || ! grep -q -- "$pattern" "$tmp/out"; then
        echo "FAIL: $* -> exit $got (want $want), output:"
        sed 's/^/    /' "$tmp/out"
        fail=1
    else
        echo "ok: $* -> $got, '$pattern'"
    fi
}

m=$data/tiny_mistral.gguf
# StreamingLLM: 4 sinks and a window of 8, 300 tokens past a context of 256; the
# cache's bytes never change (else the exit status is 1)
expect 0 "decode: 299 tokens in 299 steps" "$run" -m "$m" -p "Hello" -n 300 --window 8 --sinks 4 --temp 0 --bench
# four sequences sampled as one batch, with the token ids
expect 0 "decode: 76 tokens in 19 steps of batch <= 4" "$run" -m "$data/tiny_gemma3.gguf" -p "abc" -n 20 --parallel 4 --temp 0.8 --top-k 10 --top-p 0.9 --seed 7 --bench
expect 0 "generated ids: " "$run" -m "$data/tiny_gemma2.gguf" -p "abc" -n 5 --temp 0 --ids
# the same seed gives the same tokens
"$run" -m "$m" -p "x" -n 12 --temp 1 --seed 5 --ids 2>/dev/null | grep "generated ids" >"$tmp/a"
"$run" -m "$m" -p "x" -n 12 --temp 1 --seed 5 --ids 2>/dev/null | grep "generated ids" >"$tmp/b"
if [ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b"; then echo "ok: a seed repeats"; else echo "FAIL: a seed does not repeat"; fail=1; fi
# bad arguments: exit 2, one line
expect 2 "no model" "$run" -p "hi"
expect 2 "no prompt" "$run" -m "$m"
expect 2 "bad value for" "$run" -m "$m" -p hi -n -3
expect 2 "bad value for" "$run" -m "$m" -p hi --top-p 0
expect 2 "unknown option" "$run" -m "$m" -p hi --frobnicate
expect 2 "missing value" "$run" -m "$m" -p hi --temp
expect 2 "needs --window" "$run" -m "$m" -p hi --sinks 4
# bad files: exit 1 with the reason
expect 1 "No such file" "$run" -m "$tmp/none.gguf" -p hi
head -c 1000 "$m" >"$tmp/cut.gguf"
expect 1 "swacl-run: $tmp/cut.gguf" "$run" -m "$tmp/cut.gguf" -p hi
printf 'GGUF not really' >"$tmp/bad.gguf"
expect 1 "swacl-run: $tmp/bad.gguf" "$run" -m "$tmp/bad.gguf" -p hi
expect 1 "no device matches" "$run" -m "$m" -p hi --device no-such-device
exit $fail
