#!/bin/sh
# oclgrind_check.sh — runs rel_oclgrind_cases under oclgrind and fails on any
# invalid access, data race, uninitialized value or API error oclgrind reports.
#
# oclgrind itself exits 0 on those, so its stderr is what is judged.
# Usage: oclgrind_check.sh OCLGRIND DRIVER CL_DIR
set -u
oclgrind=$1 driver=$2 cl_dir=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/swacl-oclgrind.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

# The Oclgrind platform is the only one its wrapper exposes; its programs are
# not worth caching and their binaries mean nothing to another device.
export SWACL_CACHE=off
unset SWACL_DEVICE SWACL_PARAMS SWACL_KERNEL_DIR

# Every oclgrind diagnostic names the kernel or says "Oclgrind"/"OCLGRIND";
# compiler warnings (a kernel's "1 warning generated.") are not diagnostics.
diagnostic='Kernel: |Entity: |OCLGRIND|Oclgrind - |Invalid (read|write)|data race|[Uu]ninitiali[sz]ed'

# The uninitialized-value plugin of oclgrind 21.10 has three defects worked
# around here, each seen on a minimal kernel:
#  - it aborts on LLVM's `freeze` instruction, which optimised builds contain:
#    kernels are built with -cl-opt-disable for that pass;
#  - its sincos() handler stores the cosine's shadow without the work-item and
#    dies ("Work item needed to access private memory!"): sincos is spelled
#    as sin and cos for that pass only;
#  - it keeps the shadow of a released buffer for the next buffer given the
#    same slot, and reports reads of data the host did write: each case runs
#    in its own process, and 16-wide vectors (whose halves it misreads when
#    passed to built-ins) are left to the memory/race pass.
uninit_build='-cl-opt-disable -Dsincos(x,c)=(*(c)=cos(x),sin(x))'

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# 1. Each pass must see the known-bad kernel's errors, or it is checking nothing.
"$oclgrind" --data-races "$driver" --known-bad >"$work/bad1.out" 2>"$work/bad1.err"
grep -q 'Invalid write' "$work/bad1.err" || fail "oclgrind missed the known out-of-bounds write"
grep -q 'data race' "$work/bad1.err" || fail "oclgrind --data-races missed the known race"
"$oclgrind" --uninitialized --build-options "$uninit_build" "$driver" --known-bad \
    >"$work/bad2.out" 2>"$work/bad2.err"
grep -q 'ninitiali' "$work/bad2.err" || fail "oclgrind --uninitialized missed the known read"

# 2. The kernels cl/ defines: each must be one the driver launches (checked
#    against its "kernels covered" line below).
: >"$work/kernels"
for k in $(sed -n 's/^[[:space:]]*__kernel[[:space:]]\{1,\}void[[:space:]]\{1,\}\([A-Za-z_0-9]*\).*/\1/p' "$cl_dir"/*.cl); do
    echo "$k" >>"$work/kernels"
done

# 3. Memory errors, races and API misuse: every case and parameter set in one
#    run, kernels optimised as the device builds them.
"$oclgrind" --data-races --check-api "$driver" >"$work/pass1.out" 2>"$work/pass1.err"
status=$?
cat "$work/pass1.out"
[ "$status" -eq 0 ] || fail "cases under oclgrind --data-races exited $status"
if grep -Eq "$diagnostic" "$work/pass1.err"; then
    fail "oclgrind --data-races --check-api reported errors:"
    grep -E -A6 "$diagnostic" "$work/pass1.err" | head -60
fi
if grep -q '^kernels covered: ' "$work/pass1.out"; then
    covered=$(sed -n 's/^kernels covered: //p' "$work/pass1.out")
    while read -r k; do
        case " $covered " in
        *" $k "*) ;;
        *) fail "kernel $k (cl/) is not launched by rel_oclgrind_cases" ;;
        esac
    done <"$work/kernels"
else
    fail "the run did not finish, so kernel coverage is unknown"
fi
[ -s "$work/kernels" ] || fail "no __kernel found in $cl_dir"

# 4. Uninitialized values: one process per case.
n_uninit=0
"$driver" --list --no-vec16 >"$work/labels" || fail "cannot list the cases"
while IFS= read -r label; do
    "$oclgrind" --uninitialized --check-api --build-options "$uninit_build" \
        "$driver" --no-vec16 "$label" >"$work/case.out" 2>"$work/case.err"
    status=$?
    n_uninit=$((n_uninit + 1))
    if [ "$status" -ne 0 ] || grep -Eq "$diagnostic" "$work/case.err"; then
        fail "oclgrind --uninitialized: $label (exit $status)"
        cat "$work/case.out"
        grep -E -A6 "$diagnostic" "$work/case.err" | head -40
    fi
done <"$work/labels"

echo "oclgrind: kernels $(tr '\n' ' ' <"$work/kernels")checked; $(grep -c '^ok' "$work/pass1.out") case runs under --data-races --check-api, $n_uninit under --uninitialized"
if [ "$failures" -ne 0 ]; then
    echo "oclgrind check: $failures failure(s)"
    exit 1
fi
echo "oclgrind check: clean"
