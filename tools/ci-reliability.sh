#!/usr/bin/env bash
# ci-reliability.sh — CI's reliability stage: the suite under ASan+UBSan, kernels
# under oclgrind, host code under valgrind, and a smoke run of every fuzzer.
#
# Each part builds in its own directory and runs even when an earlier one
# failed; the exit status says whether all passed.
# Usage: tools/ci-reliability.sh [asan] [oclgrind] [valgrind] [fuzz]  (default: all)
# Environment: SWACL_FUZZ_SECONDS (default 20) per fuzzer, JOBS (default 2).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
jobs=${JOBS:-2}
fuzz_seconds=${SWACL_FUZZ_SECONDS:-20}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(asan oclgrind valgrind fuzz)

# Sanitizer runtime settings, each for a reason:
#  - leaks are errors, but not those of PoCL's in-process compiler (lsan.supp);
#  - UBSan stops at the first report with a stack (the build already makes
#    undefined behaviour fatal with -fno-sanitize-recover);
#  - PoCL is not built with ASan, so its allocations are only checked for leaks.
export LSAN_OPTIONS="suppressions=$root/tests/reliability/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_string_checks=1"

# Mesa's OpenCL drivers (rusticl, clover) dlopen a library with RTLD_DEEPBIND,
# which the sanitizer runtime refuses, and leak a block while loading (which
# valgrind reports), and the ICD loader opens every driver it finds: sanitized
# and valgrind runs are shown PoCL's ICD only.
pocl_icd_dir="$root/build-icd"
mkdir -p "$pocl_icd_dir" && ln -sf /etc/OpenCL/vendors/pocl.icd "$pocl_icd_dir/pocl.icd"

failed=()
summary=()
stage() { echo; echo "=== ci-reliability: $* ==="; }

# the output of every test of the last ctest run in a build directory
test_log() { cat "$1/Testing/Temporary/LastTest.log" 2>/dev/null; }

configure_build() { # dir, then cmake options
    local dir=$1
    shift
    rm -f "$dir/Testing/Temporary/LastTest.log" # counts come from this run only
    cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
        cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 ||
        { tail -40 "$dir.build.log"; return 1; }
}

for part in "${parts[@]}"; do
    case $part in
    asan)
        stage "the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer"
        # the static GPU compile and the rusticl rerun check no host code that
        # the rest of the suite leaves out, nor does the 2000-token model run
        # beyond the model test, so the sanitizers skip them; the model file is
        # the main build's
        if configure_build build-asan -DSWACL_SANITIZE=ON -DSWACL_WERROR=ON \
            -DSWACL_MODEL_DIR="$root/build/models" &&
            OCL_ICD_VENDORS=$pocl_icd_dir ctest --test-dir build-asan --output-on-failure \
                -LE '^(gpu-static|rusticl|model-long)$'; then
            summary+=("asan: every test passed under ASan+UBSan (leaks checked)")
        else
            failed+=(asan)
        fi
        log=$(test_log build-asan)
        summary+=("fault injection: $(grep -m1 -o '[0-9]* fault points injected, [0-9]* misbehaved' <<<"$log")")
        summary+=("soak: $(grep -m1 -o '[0-9]* tokens decoded in [0-9]* batched steps' <<<"$log"), $(grep -m1 -o 'repeat: .*' <<<"$log")")
        ;;
    oclgrind | valgrind)
        stage "$part"
        # the main build's model file, so valgrind also runs the tokenizer on it
        if configure_build build-reliability -DSWACL_RELIABILITY=ON -DSWACL_WERROR=ON \
            -DSWACL_MODEL_DIR="$root/build/models" &&
            OCL_ICD_VENDORS=$pocl_icd_dir ctest --test-dir build-reliability \
                --output-on-failure -L "^$part\$"; then
            summary+=("$part: clean")
        else
            failed+=("$part")
        fi
        log=$(test_log build-reliability)
        [ "$part" = oclgrind ] && summary+=("$(grep -m1 '^oclgrind: kernels' <<<"$log")"
            "$(grep -m1 '^oclgrind: swacl-prof kernels' <<<"$log")"
            "$(grep -m1 '^oclgrind: the model kernels' <<<"$log")")
        [ "$part" = valgrind ] &&
            summary+=("valgrind: $(grep -c 'ERROR SUMMARY: 0 errors' <<<"$log") programs with 0 errors")
        ;;
    fuzz)
        stage "libFuzzer smoke runs, ${fuzz_seconds} s each"
        # -Werror is the gcc builds' job: clang warns about other things
        if CC=clang configure_build build-fuzz -DSWACL_FUZZ=ON -DSWACL_SANITIZE=ON \
            -DSWACL_BUILD_TOOLS=OFF -DSWACL_FUZZ_SECONDS="$fuzz_seconds" &&
            OCL_ICD_VENDORS=$pocl_icd_dir ctest --test-dir build-fuzz --output-on-failure \
                -L '^fuzz$'; then
            summary+=("fuzz: no findings")
        else
            failed+=(fuzz)
            ls build-fuzz/tests/fuzz/artifacts/ 2>/dev/null | sed 's/^/  finding: /'
        fi
        log=$(test_log build-fuzz)
        for h in config attention bincache seq_restore gguf; do
            runs=$(awk -v t="fuzz_$h" '$0 ~ "Test: " t "$" {on = 1; next}
                on && /Test: fuzz_/ {exit}
                on && /^stat::number_of_executed_units/ {print $2; exit}' <<<"$log")
            summary+=("fuzz_$h: ${runs:-?} executions")
        done
        ;;
    *)
        echo "ci-reliability: unknown part '$part' (asan, oclgrind, valgrind, fuzz)" >&2
        exit 2
        ;;
    esac
done

rows=$(grep -c '^| ' docs/bad-inputs.md 2>/dev/null)
summary+=("bad-input classes in docs/bad-inputs.md: $((rows > 0 ? rows - 1 : 0))")
stage "summary"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "ci-reliability: FAILED: ${failed[*]}"
    exit 1
fi
echo "ci-reliability: all passed"
