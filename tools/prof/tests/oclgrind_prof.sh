#!/bin/sh
# oclgrind_prof.sh — swacl-prof's own kernels under oclgrind: the naive and GEMM
# baselines (cl/baselines.cl: naive_attention, band_softmax) verified against the
# reference and timed once on the tiny shape. Fails on any invalid access, data
# race or API error oclgrind reports, and on a baseline row that is not ok.
# (cl/limits.cl streams tens of MiB and CLBlast SGEMMs up to 4096: beyond an
# interpreter; the warning check compiles it.)
# Usage: oclgrind_prof.sh OCLGRIND SWACL_PROF
set -u
oclgrind=$1 prof=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/swacl-prof-oclgrind.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
export SWACL_CACHE=off # binaries for the simulator are not worth keeping
unset SWACL_DEVICE SWACL_PARAMS SWACL_KERNEL_DIR

# the same diagnostics tests/reliability/oclgrind_check.sh looks for
diagnostic='Kernel: |Entity: |OCLGRIND|Oclgrind - |Invalid (read|write)|data race|[Uu]ninitiali[sz]ed'
"$oclgrind" --data-races --check-api "$prof" --shapes tiny --n 64 --suites prefill,baselines \
    --samples 1 --target-ms 1 --no-progress >"$work/out" 2>"$work/err"
status=$?
cat "$work/out"
fail=0
[ "$status" -eq 0 ] || { echo "FAIL: swacl-prof under oclgrind exited $status"; fail=1; }
if grep -Eq "$diagnostic" "$work/err"; then
    echo "FAIL: oclgrind reported errors:"
    grep -E -A6 "$diagnostic" "$work/err" | head -60
    fail=1
fi
grep -q '^  naive    prefill tiny n=64 .* ok, verified' "$work/out" ||
    { echo "FAIL: the naive baseline did not verify"; fail=1; }
grep -Eq '^  gemm     prefill tiny n=64 .* (ok, verified|without CLBlast)' "$work/out" ||
    { echo "FAIL: the GEMM baseline did not verify"; fail=1; }
[ "$fail" -eq 0 ] && echo "oclgrind: swacl-prof kernels naive_attention band_softmax clean"
exit "$fail"
