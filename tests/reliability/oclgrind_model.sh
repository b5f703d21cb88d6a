#!/bin/sh
# oclgrind_model.sh — the model runner's kernels (cl/ops/, with swacl's attention)
# under oclgrind: the tiny Gemma 3 and Mistral fixtures through model_vs_hf, which
# must still match transformers, with no invalid access, data race or API error.
# oclgrind exits 0 on those, so its stderr is what is judged (as oclgrind_check.sh).
# Usage: oclgrind_model.sh OCLGRIND MODEL_VS_HF DATA_DIR
set -u
oclgrind=$1 driver=$2 data=$3
export SWACL_CACHE=off SWACL_RUN_GEMM=own
unset SWACL_DEVICE SWACL_PARAMS SWACL_KERNEL_DIR
diagnostic='Kernel: |Entity: |OCLGRIND|Oclgrind - |Invalid (read|write)|data race|[Uu]ninitiali[sz]ed'
err=$(mktemp "${TMPDIR:-/tmp}/swacl-oclgrind-model.XXXXXX") || exit 1
trap 'rm -f "$err"' EXIT INT TERM
failures=0
for arch in gemma3 mistral; do
    "$oclgrind" --data-races --check-api "$driver" "$data/tiny_$arch.gguf" \
        "$data/tiny_${arch}_logits.txt" 5 2>"$err"
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL: tiny_$arch under oclgrind exited $status"
        failures=$((failures + 1))
    fi
    if grep -Eq "$diagnostic" "$err"; then
        echo "FAIL: oclgrind reports on tiny_$arch:"
        grep -E -A4 "$diagnostic" "$err" | head -40
        failures=$((failures + 1))
    fi
done
[ "$failures" -eq 0 ] && echo "oclgrind: the model kernels of two tiny models are clean"
exit $((failures > 0))
