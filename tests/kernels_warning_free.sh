#!/bin/sh
# kernels_warning_free.sh — compiles every kernel source in cl/, the model
# runner's cl/ops/ (and swacl-prof's tools/prof/cl/) with clang's OpenCL front
# end over the variants the host can ask for, and fails on any warning: OpenCL
# compilers print warnings to stderr, and swacl must not print.
# Usage: kernels_warning_free.sh CLANG CL_DIR [PROF_CL_DIR]
clang=$1
dir=$2
prof_dir=${3:-}
fail=0
n=0
# compile NAME FILE DEFINES...: one variant; prints what the compiler says, if anything
compile() {
    c_name=$1 c_file=$2
    shift 2
    n=$((n + 1))
    # helpers are static, and each variant leaves some unused
    # (drivers do not enable -Wunused-function)
    c_out=$("$clang" -x cl -cl-std=CL1.2 -fsyntax-only -Wall -Wno-unused-function -Xclang \
        -finclude-default-header "$@" "$c_file" 2>&1)
    if [ -n "$c_out" ]; then
        echo "$c_name with $*:"
        echo "$c_out"
        fail=1
    fi
}
for file in attend append rope; do
    src=$(mktemp /tmp/swacl-kernel-XXXXXX.cl)
    cat "$dir/common.h.cl" "$dir/$file.cl" > "$src"
    for shape in "-DHEAD_DIM=64 -DVEC=16" "-DHEAD_DIM=40 -DVEC=8" "-DHEAD_DIM=256 -DVEC=4"; do
        for io in "-DIO_HALF=0 -DKV_HALF=0" "-DIO_HALF=1 -DKV_HALF=1"; do
            for path in "-DK_TRANSPOSED=1" "-DK_TRANSPOSED=0 -DDIRECT_KV=0" \
                        "-DK_TRANSPOSED=0 -DDIRECT_KV=1" "-DK_TRANSPOSED=1 -DCONTIGUOUS=0" \
                        "-DDECODE_GH=3" "-DDECODE_GH=8" \
                        "-DTILED=1 -DBLOCK_M=32 -DBLOCK_N=32 -DWG_M=16 -DWG_N=2 -DDVEC=4" \
                        "-DTILED=1 -DBLOCK_M=4 -DBLOCK_N=16 -DWG_M=4 -DWG_N=4 -DDVEC=2" \
                        "-DTILED=1 -DBLOCK_M=32 -DBLOCK_N=32 -DWG_M=32 -DWG_N=8 -DDVEC=1"; do
                for feat in "" "-DHAS_SOFTCAP=1 -DHAS_SINK_LOGITS=1 -DHAS_DILATION=1" \
                            "-DHAS_ROPE=1 -DPOLY_EXP2=1 -DHAS_FMA=1"; do
                    case "$path$feat" in *DIRECT_KV=1*HAS_ROPE=1*) continue ;; esac
                    # shellcheck disable=SC2086 # each list is several defines
                    compile "$file.cl" "$src" $shape $io $path $feat
                done
            done
        done
    done
    rm -f "$src"
done
# the model runner's kernels: one program, built without defines (tools/run/model.c)
if [ -d "$dir/ops" ]; then
    ops=$(mktemp /tmp/swacl-ops-XXXXXX.cl)
    cat "$dir"/ops/*.cl >"$ops"
    compile "ops/*.cl" "$ops"
    rm -f "$ops"
fi
# swacl-prof's kernels, with the defines tools/prof/baselines.c and limits.c pass
if [ -n "$prof_dir" ]; then
    for head_dim in 32 40 64 128 256; do
        compile baselines.cl "$prof_dir/baselines.cl" -DHEAD_DIM=$head_dim -DWG_SIZE=64
    done
    for fma_w in 4 8 16; do
        compile limits.cl "$prof_dir/limits.cl" -DFMA_W=$fma_w
    done
fi
echo "$n kernel variants compiled"
exit $fail
