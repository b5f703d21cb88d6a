#!/usr/bin/env bash
# run-nvidia.sh — one unattended run of swacl on a machine with an NVIDIA GPU and driver but no
# OpenCL packages and no network; every result lands in ${OUT:-./gpu-out} (8 files at most).
#
# Needs .gpu-debs/ from tools/gpu/fetch-debs.sh beside the sources. Run: bash tools/gpu/run-nvidia.sh
# Steps, each with a time limit (the whole run stays under 8 minutes), each going on after a
# failure of the one before, each one's exit status in summary.txt:
#   unpack     .gpu-debs into /tmp/deps (and CMake into /tmp/deps-cmake when none is installed)
#   driver     find libnvidia-opencl, register it with the OpenCL loader    -> clinfo.txt
#   configure, build                                                     -> build.log (tail)
#   ctest      the device tests (label "device") on SWACL_DEVICE=nvidia     -> ctest.log
#   info       swacl-info and swacl-prof list                               -> info.txt
#   prof       swacl-prof on the GPU                                        -> prof.json, prof.txt
#   kstats     every kernel build of a few parameter sets on the device's own compiler:
#              registers, spills, private memory, work-group limit (tools/gpu/kstats.c) -> info.txt
#   tune       swacl-prof again under each of a few SWACL_PARAMS variants      -> prof.txt (end)
#   kprobe     only if a kernel failed to compile: its whole build log     -> kernels.log
# Without libnvidia-opencl anywhere it writes "no OpenCL driver on that machine" and exits 0.
#
# Optional environment:
#   SWACL_GPU_ICD=/path/lib.so  register this OpenCL driver instead of NVIDIA's (a dry run
#                               elsewhere: /usr/lib/x86_64-linux-gnu/libpocl.so.2)
#   SWACL_GPU_DEVICE=SEL        SWACL_DEVICE selector for tests and tools (default nvidia)
#   SWACL_GPU_PROF_ARGS="..."   swacl-prof options instead of the default set (-d, --json added)
#   SWACL_GPU_CTEST_ARGS="..."  more ctest options (e.g. "-R test_dev_errors")
#   SWACL_GPU_TUNE="A;B;..."    SWACL_PARAMS variants the tune step times ("" skips it)
#   SWACL_GPU_TUNE_ARGS="..."   swacl-prof options of the tune step
#   SWACL_GPU_KSTATS="A;B"      parameter sets (swacl-info --kernel-options) kstats builds
#   SWACL_GPU_KSTATS_OPTS=".."  build options kstats adds (default -cl-nv-verbose on NVIDIA)
#   SWACL_GPU_BUDGET_S=450      seconds for the whole run     SWACL_GPU_TEST_TIMEOUT=120 per test
#   SWACL_GPU_JOBS=16           build jobs                    SWACL_GPU_CTEST_J=3 tests at once
#   SWACL_GPU_TMP=/tmp          holds deps/, deps-cmake/, icd/ and the full build log
#   SWACL_GPU_BUILD=build-gpu   build directory
set -u -o pipefail
# the step_* functions run through "--step NAME", which shellcheck cannot follow
# shellcheck disable=SC2317

self=$(readlink -f "$0")
root=$(cd "$(dirname "$self")/../.." && pwd)
cd "$root" || exit 1

arch=x86_64-linux-gnu
tmpr=${SWACL_GPU_TMP:-/tmp}
deps=$tmpr/deps
deps_cmake=$tmpr/deps-cmake
icd_dir=$tmpr/icd
build=${SWACL_GPU_BUILD:-$root/build-gpu}
jobs=${SWACL_GPU_JOBS:-16}
sel=${SWACL_GPU_DEVICE:-nvidia}
budget=${SWACL_GPU_BUDGET_S:-450}
per_test=${SWACL_GPU_TEST_TIMEOUT:-120}
ctest_j=${SWACL_GPU_CTEST_J:-3}
# the quick run (laptop shape end to end, mistral decode) widened to the mistral shape's
# prefill n=4096 and decode b=1,8 with an fp16 (and fp32) cache, in one report
prof_args=${SWACL_GPU_PROF_ARGS:---quick --shapes laptop,mistral --n 4096 --batch 1,8 --kv f32,f16 --max-run 30 --no-progress}
# the set's own values against the ones they replaced (16 x 16 work-items, full-range trig,
# 256 keys per decode split), alternating twice, each shape prefill, chunked and decode
tune_old="set=gpu-nvidia,wg_m=16,decode_wg=0,native_trig=0,split_keys=256"
tune_default="set=gpu-nvidia;$tune_old;set=gpu-nvidia;$tune_old"
tune_variants=${SWACL_GPU_TUNE-$tune_default}
tune_args=${SWACL_GPU_TUNE_ARGS:---suites prefill,chunked,decode --shapes laptop,mistral,gemma2 --n 4096 --batch 1,8 --kv f16 --samples 5 --max-run 10 --no-baselines --no-progress}
kstats_sets=${SWACL_GPU_KSTATS-gpu-nvidia}
kstats_opts=${SWACL_GPU_KSTATS_OPTS-$([ -z "${SWACL_GPU_ICD:-}" ] && echo -cl-nv-verbose)}

out=${OUT:-$root/gpu-out}
mkdir -p "$out" "$tmpr" || exit 1
out=$(cd "$out" && pwd)
summary=$out/summary.txt
t0=$SECONDS

# ---- helpers ----------------------------------------------------------------------------

log() { printf '%s\n' "$*" | tee -a "$summary"; } # a line for the console and summary.txt
left() { echo $((budget - (SECONDS - t0))); }
describe_rc() {
    case $1 in
    0) echo ok ;;
    124 | 137) echo "timed out" ;;
    skip) echo skipped ;;
    *) echo failed ;;
    esac
}
record() { # step rc seconds [detail]
    printf '%-10s rc=%-4s %4ss  %s%s\n' "$1" "$2" "$3" "$(describe_rc "$2")" "${4:+; $4}" |
        tee -a "$summary"
}

# run_step NAME CAP RESERVE LOG CMD...: CMD under a limit of CAP seconds, cut so that RESERVE
# seconds stay for the steps after it; output appended to LOG and shown (only its tail when
# QUIET=1); the exit status is left in step_rc and recorded
run_step() {
    local name=$1 cap=$2 reserve=$3 logf=$4
    shift 4
    local lim=$(($(left) - reserve))
    ((lim > cap)) && lim=$cap
    if ((lim < 5)); then
        step_rc=skip
        record "$name" skip 0 "no time left"
        return
    fi
    echo "== $name (limit ${lim}s)"
    local start=$SECONDS
    if [ "${QUIET:-0}" = 1 ]; then
        timeout -k 5 "$lim" "$@" >>"$logf" 2>&1
        step_rc=$?
        tail -n 15 "$logf"
    else
        timeout -k 5 "$lim" "$@" 2>&1 | tee -a "$logf"
        step_rc=${PIPESTATUS[0]}
    fi
    record "$name" "$step_rc" $((SECONDS - start))
}

# a .deb's files into a directory: dpkg -x, or ar + tar where dpkg is missing
unpack_deb() { # deb dir
    if command -v dpkg-deb >/dev/null; then
        dpkg-deb -x "$1" "$2"
    else
        local member
        member=$(ar t "$1" | grep '^data\.tar') || return 1
        case $member in
        *.xz) ar p "$1" "$member" | tar -xJ -C "$2" ;;
        *.zst) ar p "$1" "$member" | zstd -dc | tar -x -C "$2" ;;
        *.gz) ar p "$1" "$member" | tar -xz -C "$2" ;;
        *) ar p "$1" "$member" | tar -x -C "$2" ;;
        esac
    fi
}

# ---- steps that run under a time limit (this script calls itself with --step NAME) ----------

# the packages' files under $deps, with the /usr they name in .pc files and CMake packages
# turned into $deps/usr: nothing there points at the system's /usr any more
step_unpack() {
    rm -rf "$deps" && mkdir -p "$deps" || return 1
    local f n=0 bad=0
    for f in .gpu-debs/*.deb; do
        [ -e "$f" ] || break
        if unpack_deb "$f" "$deps"; then n=$((n + 1)); else echo "could not unpack $f"; bad=1; fi
    done
    echo "unpacked $n packages into $deps"
    ((n > 0)) || { echo "no .gpu-debs/*.deb: run tools/gpu/fetch-debs.sh first and carry .gpu-debs"; return 1; }
    local files
    files=$(find "$deps/usr/lib/$arch/pkgconfig" "$deps/usr/share/pkgconfig" "$deps/usr/lib/$arch/cmake" \
        -type f \( -name '*.pc' -o -name '*.cmake' \) 2>/dev/null)
    for f in $files; do
        # prefix=/usr, -I/usr/include, -L/usr/lib/..., "/usr/lib/.../libOpenCL.so"
        sed -i -E "s#(^|[=\" ;]|-I|-L)/usr(/|\"|;| |\$)#\1$deps/usr\2#g" "$f"
    done
    echo "rewrote /usr to $deps/usr in $(echo "$files" | grep -c .) .pc and CMake files"
    ls "$deps/usr/lib/$arch"
    return "$bad"
}

step_unpack_cmake() {
    rm -rf "$deps_cmake" && mkdir -p "$deps_cmake/bin" || return 1
    local f
    for f in .gpu-debs/cmake/*.deb; do
        [ -e "$f" ] || { echo "no .gpu-debs/cmake/*.deb"; return 1; }
        unpack_deb "$f" "$deps_cmake" || return 1
    done
    # wrappers give cmake and ctest their libraries without putting them in front of the
    # system's for everything else; CMake finds its modules beside the real binary
    for f in cmake ctest; do
        printf '#!/bin/sh\nLD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec %s "$@"\n' \
            "$deps_cmake/usr/lib/$arch:$deps_cmake/lib/$arch" "$deps_cmake/usr/bin/$f" >"$deps_cmake/bin/$f"
        chmod +x "$deps_cmake/bin/$f"
    done
    "$deps_cmake/bin/cmake" --version
}

step_configure() {
    local gen=() opencl=()
    # Makefiles when make is there, else Ninja (the CUDA image has ninja)
    command -v make >/dev/null || ! command -v ninja >/dev/null || gen=(-G Ninja)
    # the loader and headers from the packages, never another libOpenCL (CUDA ships one)
    if [ -e "$deps/usr/lib/$arch/libOpenCL.so" ]; then
        opencl=(-DOpenCL_INCLUDE_DIR="$deps/usr/include" -DOpenCL_LIBRARY="$deps/usr/lib/$arch/libOpenCL.so")
    elif [ -e /usr/local/cuda/include/CL/cl.h ] && [ -e /usr/local/cuda/lib64/libOpenCL.so ]; then
        echo "no carried OpenCL loader: using CUDA's headers and loader"
        opencl=(-DOpenCL_INCLUDE_DIR=/usr/local/cuda/include -DOpenCL_LIBRARY=/usr/local/cuda/lib64/libOpenCL.so)
    fi
    local tests=ON
    if ! pkg-config --exists cmocka 2>/dev/null; then
        echo "cmocka not found by pkg-config: building without the tests"
        tests=OFF
    fi
    local args=(-S "$root" -B "$build" "${gen[@]}" "${opencl[@]}" -DCMAKE_BUILD_TYPE=Release
        -DSWACL_WERROR=OFF -DSWACL_BUILD_TESTS="$tests" -DSWACL_BUILD_TOOLS=ON
        -DSWACL_SOAK_SECONDS=$((per_test > 40 ? per_test - 20 : per_test)))
    echo "\$ cmake ${args[*]}"
    cmake "${args[@]}"
}

step_build() { cmake --build "$build" -j "$jobs"; }

step_ctest() {
    cd "$build" || return 1
    # word splitting of SWACL_GPU_CTEST_ARGS is wanted: it holds options
    # shellcheck disable=SC2086
    ctest -L device --output-on-failure --timeout "$per_test" -j "$ctest_j" ${SWACL_GPU_CTEST_ARGS:-}
}

step_info() {
    echo "\$ swacl-info"
    "$build/tools/swacl-info"
    local rc=$?
    echo
    echo "\$ swacl-prof list"
    "$build/tools/prof/swacl-prof" list || rc=$?
    return "$rc"
}

step_prof() { # JSON-FILE [options...]
    local json=$1
    shift
    echo "\$ swacl-prof $* -d $sel --json $json"
    "$build/tools/prof/swacl-prof" "$@" -d "$sel" --json "$json"
}

# the profiler once per SWACL_PARAMS variant, each report shown as a table as it lands (so a
# cut run keeps the variants done); a variant's own build failure does not stop the others
step_tune() {
    local v i=0 rc=0
    local IFS=';'
    for v in $tune_variants; do
        i=$((i + 1))
        echo "## tune $i: SWACL_PARAMS=$v"
        IFS=' '
        # shellcheck disable=SC2086 # tune_args holds options
        SWACL_PARAMS=$v "$build/tools/prof/swacl-prof" $tune_args -d "$sel" --json "$tmpr/tune-$i.json" \
            >"$tmpr/tune-$i.log" 2>&1 || rc=$?
        if [ -s "$tmpr/tune-$i.json" ]; then
            "$build/tools/prof/swacl-prof" show "$tmpr/tune-$i.json" | grep -E '^ *(prefill|decode|chunked) '
        else
            tail -n 5 "$tmpr/tune-$i.log"
        fi
        IFS=';'
    done
    return "$rc"
}

# each set's kernel builds on the device's compiler, 8 builds at a time
step_kstats() {
    local ocl=$deps/usr/lib/$arch/libOpenCL.so rc=0 s i
    [ -e "$ocl" ] || ocl=-lOpenCL
    cc -std=c11 -O1 -I"$root/include" -I"$root/runtime" "$root/tools/gpu/kstats.c" \
        "$build/libswacl_internal.a" "$ocl" -lm -o "$build/kstats" || return 1
    local IFS=';'
    for s in $kstats_sets; do
        IFS=' '
        echo "## kstats: $s"
        rm -rf "$tmpr/kstats" && mkdir -p "$tmpr/kstats"
        "$build/tools/swacl-info" --kernel-options "$s" >"$tmpr/kstats/lines" || { rc=1; continue; }
        split -n r/8 "$tmpr/kstats/lines" "$tmpr/kstats/part."
        for i in "$tmpr"/kstats/part.*; do
            # the first builds' compiler messages and binary directives, from one process
            KSTATS_SHOW=$([ "${i##*.}" = aa ] && echo 2 || echo 0) \
                "$build/kstats" "$kstats_opts" <"$i" >"$i.out" 2>&1 &
        done
        wait
        cat "$tmpr"/kstats/part.*.out >"$tmpr/kstats/all"
        grep -m1 '^# kstats on' "$tmpr/kstats/all"
        grep -m1 '^kernel ' "$tmpr/kstats/all"
        grep -v '^#\|^kernel ' "$tmpr/kstats/all"
        awk '/^(append|attend|rope|kv)/ {n++} $8 == "FAIL" || / FAIL / {f++}
             END {printf "# %d builds, %d failed\n", n, f}' "$tmpr/kstats/all"
        grep -q ' FAIL ' "$tmpr"/kstats/part.*.out && rc=1
        IFS=';'
    done
    return "$rc"
}

step_kprobe() {
    local lib=$build/libswacl_internal.a ocl=$deps/usr/lib/$arch/libOpenCL.so
    [ -e "$lib" ] || lib=$build/libswacl.so
    [ -e "$ocl" ] || ocl=-lOpenCL
    cc -std=c11 -O1 -DCL_TARGET_OPENCL_VERSION=120 -I"$root/include" "$root/tools/gpu/kprobe.c" \
        "$lib" "$ocl" -lm -o "$build/kprobe" && "$build/kprobe"
}

if [ "${1:-}" = --step ]; then
    shift
    "step_$1" "${@:2}"
    exit
fi

# ---- the run ----------------------------------------------------------------------------

: >"$summary"
log "swacl GPU run, $(date -u +%Y-%m-%dT%H:%M:%SZ), budget ${budget}s, output $out"
log "device selector: SWACL_DEVICE=$sel"
log "host: $(uname -srm); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); $(nproc) CPUs"
log "source: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "no git") $(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo "(with local changes)")"
log "tools: gcc $(gcc -dumpfullversion 2>/dev/null || echo missing); cmake $(cmake --version 2>/dev/null | awk 'NR == 1 {print $3}' | grep . || echo missing); make $(command -v make >/dev/null && echo yes || echo no); ninja $(command -v ninja >/dev/null && echo yes || echo no); pkg-config $(command -v pkg-config >/dev/null && echo yes || echo no); dpkg $(command -v dpkg-deb >/dev/null && echo yes || echo no)"
smi=$(command -v nvidia-smi || ls /usr/local/nvidia/bin/nvidia-smi 2>/dev/null)
if [ -n "$smi" ]; then
    log "gpu: $(timeout 20 "$smi" --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2 | tr '\n' ' ')"
fi
log ""

# -- unpack
run_step unpack 60 0 /dev/null bash "$self" --step unpack
export LD_LIBRARY_PATH="$deps/usr/lib/$arch${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CPATH="$deps/usr/include${CPATH:+:$CPATH}"
export PKG_CONFIG_PATH="$deps/usr/lib/$arch/pkgconfig:$deps/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export CMAKE_PREFIX_PATH="$deps/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
# after the system's, so the shell uses the packages' pkg-config and clinfo only where the
# system has none (CMake searches CMAKE_PREFIX_PATH's bin/ first and takes theirs anyway)
export PATH="$PATH:$deps/usr/bin"

# CMake: the installed one if it is new enough (3.16), else the carried one
printf 'if(CMAKE_VERSION VERSION_LESS 3.16)\n  message(FATAL_ERROR "too old")\nendif()\n' \
    >"$tmpr/swacl-cmake-version.cmake"
cmake_ok() { cmake -P "$tmpr/swacl-cmake-version.cmake" >/dev/null 2>&1; }
if ! cmake_ok; then
    run_step cmake 60 0 /dev/null bash "$self" --step unpack_cmake
    export PATH="$deps_cmake/bin:$PATH"
    cmake_ok && log "using the carried CMake: $(cmake --version | head -1)"
fi

# -- the OpenCL driver
clinfo_txt=$out/clinfo.txt
: >"$clinfo_txt"
start=$SECONDS
if [ -n "${SWACL_GPU_ICD:-}" ]; then
    lib=$SWACL_GPU_ICD
    echo "SWACL_GPU_ICD: using $lib instead of NVIDIA's driver" | tee -a "$clinfo_txt"
else
    lib=
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/$arch /usr/lib64 \
        /usr/lib/$arch/nvidia/current /usr/lib/nvidia; do
        for f in "$d"/libnvidia-opencl.so.1 "$d"/libnvidia-opencl.so.*; do
            [ -e "$f" ] && { lib=$f; break 2; }
        done
    done
    [ -n "$lib" ] || lib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ {print $NF; exit}')
    if [ -z "$lib" ]; then
        echo "searching / for libnvidia-opencl.so* (30 s at most)"
        lib=$(timeout 30 find / -maxdepth 7 \( -path /proc -o -path /sys -o -path /dev -o -path /run \
            -o -path "$root" -o -path "$tmpr" \) -prune -o -name 'libnvidia-opencl.so*' -print 2>/dev/null |
            sort | head -1)
    fi
fi
if [ -z "$lib" ] || [ ! -e "$lib" ]; then
    {
        echo "no OpenCL driver on that machine: no libnvidia-opencl.so* in /usr/local/nvidia, /usr/lib*, ldconfig's cache or / (depth 7)"
        echo "--- ls /usr/local/nvidia/lib64 /usr/local/nvidia/lib"
        ls /usr/local/nvidia/lib64 /usr/local/nvidia/lib 2>&1 | head -60
        echo "--- NVIDIA libraries ldconfig knows"
        ldconfig -p 2>/dev/null | grep -i nvidia | head -40
        echo "--- nvidia-smi"
        [ -n "$smi" ] && timeout 20 "$smi" 2>&1 | head -30
    } >>"$clinfo_txt"
    record driver 1 $((SECONDS - start)) "no libnvidia-opencl"
    log ""
    log "REPORT: no OpenCL driver on that machine (no libnvidia-opencl.so* found); nothing built or run"
    exit 0
fi
lib=$(readlink -f "$lib")
mkdir -p "$icd_dir" && rm -f "$icd_dir"/*.icd
echo "$lib" >"$icd_dir/driver.icd"
export OCL_ICD_VENDORS=$icd_dir # the loader reads only this folder, not /etc/OpenCL/vendors
libdir=$(dirname "$lib")
# the driver's own folder (libcuda.so.1 beside it) when it is not one the linker searches anyway
case $libdir in "/usr/lib/$arch" | /usr/lib64 | "/lib/$arch" | /lib64) ;;
*) export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$libdir" ;; esac
{
    echo "OpenCL driver: $lib (ICD file $icd_dir/driver.icd, OCL_ICD_VENDORS=$icd_dir)"
    missing=$(ldd "$lib" 2>&1 | grep 'not found')
    [ -n "$missing" ] && echo "the driver's missing libraries: $missing"
    [ -n "$smi" ] && timeout 20 "$smi" --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory,power.limit --format=csv 2>&1
} | tee -a "$clinfo_txt"
clinfo_bin=$(command -v clinfo || echo "$deps/usr/bin/clinfo")
echo "\$ clinfo -l" >>"$clinfo_txt"
timeout 30 "$clinfo_bin" -l 2>&1 | tee -a "$clinfo_txt"
clinfo_rc=${PIPESTATUS[0]}
n_platforms=$(grep -c '^Platform #' "$clinfo_txt")
detail="$n_platforms OpenCL platform(s), driver $lib"
if [ "$n_platforms" = 0 ]; then
    # the loader says why it skipped the driver
    echo "\$ OCL_ICD_DEBUG=15 clinfo -l" >>"$clinfo_txt"
    OCL_ICD_DEBUG=15 timeout 30 "$clinfo_bin" -l >>"$clinfo_txt" 2>&1
    detail="the loader sees no platform (see clinfo.txt), driver $lib"
    [ "$clinfo_rc" = 0 ] && clinfo_rc=1
fi
echo "\$ clinfo" >>"$clinfo_txt"
timeout 60 "$clinfo_bin" >>"$clinfo_txt" 2>&1
sed '/NULL platform behavior/q' "$clinfo_txt" | grep -E '^\s+(Platform (Name|Version)|Device (Name|Version)|Driver Version|Device OpenCL C Version|Max compute units|Max clock frequency|Global memory size|Local memory size|Max memory allocation|Max work group size|Preferred work group size multiple|Half-precision Floating-point support|Sub-group sizes)' |
    head -40
record driver "$clinfo_rc" $((SECONDS - start)) "$detail"

export SWACL_DEVICE=$sel
# kernel binaries compiled by the tests serve swacl-info and swacl-prof too
export SWACL_CACHE_DIR=$build/tests/kcache

# -- configure and build
configure_log=$tmpr/swacl-gpu-configure.log
full_build_log=$tmpr/swacl-gpu-build.log
: >"$configure_log"
: >"$full_build_log"
# the reserves keep about half the budget for the tests and the profiler
QUIET=1 run_step configure 90 $((budget / 2)) "$configure_log" bash "$self" --step configure
build_rc=1
if [ "$step_rc" = 0 ]; then
    QUIET=1 run_step build 180 $((budget / 2)) "$full_build_log" bash "$self" --step build
    build_rc=$step_rc
else
    record build skip 0 "configure failed"
fi
{
    echo "# configure (in full), then the last 200 lines of the build (all of it: $full_build_log there)"
    cat "$configure_log"
    echo "# ---- build"
    tail -n 200 "$full_build_log"
} >"$out/build.log"
if [ "$build_rc" != 0 ]; then
    log "configure/build errors:"
    grep -h -E 'error|Error' "$configure_log" "$full_build_log" | head -20 | tee -a "$summary"
fi

# -- device tests, swacl-info, swacl-prof
if [ "$build_rc" = 0 ]; then
    if [ -f "$build/tests/CTestTestfile.cmake" ]; then
        # at most half of what is left, so that the profiler gets its turn
        run_step ctest 240 $(($(left) / 2 > budget / 3 ? $(left) / 2 : budget / 3)) "$out/ctest.log" \
            bash "$self" --step ctest
        grep -E 'tests passed|tests failed' "$out/ctest.log" | tail -1 | tee -a "$summary"
        sed -n '/The following tests FAILED/,$p' "$out/ctest.log" | head -20 | tee -a "$summary"
    else
        record ctest skip 0 "tests not built"
    fi
    run_step info 30 $((budget / 4)) "$out/info.txt" bash "$self" --step info
    # word splitting of prof_args is wanted: it holds options
    # shellcheck disable=SC2086
    # 40 s (a quarter of small budgets) stay for kprobe (below) when kernels failed to build
    prof_reserve=$(($(left) > 160 ? 40 : $(left) / 4))
    # and the tune step gets up to 120 s after the profiler when time is that plentiful
    tune_reserve=0
    [ -n "$tune_variants" ] && tune_reserve=$(($(left) > 360 ? 120 : 0))
    run_step prof 360 $((prof_reserve + tune_reserve)) "$out/prof.txt" bash "$self" --step prof "$out/prof.json" $prof_args
    prof_rc=$step_rc
    case $prof_rc in
    0 | 3 | skip) ;;
    *) # a crash, a timeout or options this swacl-prof refuses: the plain quick run if time allows
        if (($(left) > 75)); then
            echo "== swacl-prof failed ($prof_rc): the plain quick run instead" | tee -a "$out/prof.txt"
            run_step prof-quick 240 "$prof_reserve" "$out/prof.txt" bash "$self" --step prof "$out/prof.json" --quick --no-progress
        fi
        ;;
    esac
    if [ -n "$kstats_sets" ]; then
        QUIET=1 run_step kstats 90 "$prof_reserve" "$out/info.txt" bash "$self" --step kstats
        grep -h '^# [0-9]* builds' "$out/info.txt" | tr '\n' ' ' | sed 's/^/kstats: /' | tee -a "$summary"
        echo | tee -a "$summary" >/dev/null
    fi
    if [ -n "$tune_variants" ]; then
        echo "# tune: $tune_args" >>"$out/prof.txt"
        run_step tune 200 "$prof_reserve" "$out/prof.txt" bash "$self" --step tune
    fi
    if [ -s "$out/prof.json" ]; then
        log "prof rows: $(grep -o '"status": *"[a-z]*"' "$out/prof.json" | sed 's/.*"\([a-z]*\)"$/\1/' | sort | uniq -c | xargs)"
    fi
else
    record tests skip 0 "the build failed: no tests, swacl-info or swacl-prof"
fi

# -- build logs of kernels that did not compile. The tests and swacl-prof cut swacl's error
# ('... program build failed: building FILE.cl with "OPTIONS" ...') to a line, the log lost; so
# the lines say where, and kprobe (tools/gpu/kprobe.c) builds the same kernels again and
# prints each failure's whole message, log included
where=$(grep -h 'program build failed' "$out/ctest.log" "$build/Testing/Temporary/LastTest.log" \
    "$out/info.txt" "$out/prof.txt" 2>/dev/null | sed 's/^ *//' | cut -c1-400 | sort -u)
if [ -n "$where" ]; then
    {
        echo "# kernel builds failed; the lines that said so (cut to 400 characters):"
        echo "$where" | head -60
        echo
        echo "# kprobe: every failing build's complete message"
    } >"$out/kernels.log"
    QUIET=1 run_step kprobe 120 3 "$out/kernels.log" bash "$self" --step kprobe
fi
if [ -s "$out/kernels.log" ]; then
    log "kernel builds failed: $(grep -m1 '^kprobe: .*calls' "$out/kernels.log" || echo "see kernels.log")"
else
    rm -f "$out/kernels.log"
    log "no kernel build failures in the logs"
fi
log "done in $((SECONDS - t0))s; files: $(find "$out" -type f -printf '%f ')"
# the summary last, where the console's tail keeps it
echo
cat "$summary"
exit 0
