#!/bin/sh
# gpu_static.sh — compiles every GPU kernel variant swacl-info lists with the
# vendors' compilers and prints one table: registers, spills, scratch/stack,
# local memory and occupancy per variant and target. docs/design.md §4 makes zero
# spills and zero scratch part of a GPU kernel's correctness, so this fails on
# any spill, scratch or stack use, unresolved symbol or compile error, and on
# more than 128 registers per NVIDIA thread for HEAD_DIM <= 128.
#
# Usage: gpu_static.sh SWACL_INFO [TARGET...]
#   sm_80 sm_90     clang → PTX (libclc nvptx64--nvidiacl), then ptxas -v
#   gfx90a gfx1100  clang AMDGPU (libclc amdgcn--amdhsa), resource remarks
#   tgllp dg2       ocloc (intel-opencl-icd), zebin .ze_info and its warnings
# Default: all six. A target whose tool is missing is skipped with the reason;
# exit 0 pass, 1 fail, 77 when every target was skipped.
# Tools: $CLANG (else clang-15, newer, clang), $LIBCLC_DIR (/usr/lib/clc),
# $PTXAS (else PATH, /usr/local/cuda/bin, or the Python environment where
# `pip install nvidia-cuda-nvcc-cu12` put one), $OCLOC (else PATH); $JOBS
# compiles at a time (2); SWACL_NV_FP16=1 gives NVIDIA targets cl_khr_fp16;
# GS_KEEP=1 keeps the work directory and its intermediates (PTX, objects).

# ---- one compile unit (a source file with one option set) for one target.
# Runs as `sh gpu_static.sh --unit TARGET INDEX` under xargs; writes one record
# per kernel to $GS_W/TARGET/INDEX.res:
#   kernel  regs  spill  scratch  lmem  occupancy  problems
# where kernel "*" carries problems of the whole program (compile errors,
# unresolved symbols) and problems is empty when the kernel passes.

record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }

# problem MESSAGE of the whole program; the "*" record is written by unit()
program_problem() { program_problems="${program_problems:+$program_problems; }$1"; }

# first error lines of the compile log, on one line
log_errors() {
    grep -i -m 3 'error' "$d/log" | sed "s|$GS_W/src/||g" | tr '\t\n' '  ' | cut -c 1-200
}

opt_value() { # NAME: value of -DNAME=... in $opts, empty when absent
    printf '%s\n' "$opts" | tr ' ' '\n' | sed -n "s/^-D$1=//p" | tail -n 1
}

# work-group size for occupancy of a kernel without reqd_work_group_size:
# -DWG_SIZE, else -DTM x -DTN; empty when unknown
wg_default() {
    wg=$(opt_value WG_SIZE)
    if [ -z "$wg" ]; then
        tm=$(opt_value TM) tn=$(opt_value TN)
        [ -n "$tm" ] && [ -n "$tn" ] && wg=$((tm * tn))
    fi
    printf '%s\n' "$wg"
}

nv_unit() {
    # NVIDIA's driver does not report cl_khr_fp16 (sm_53+ has fp16 arithmetic,
    # but the extension string lacks it), and neither does clang's nvptx
    # target, so kernels take their non-fp16 paths here as they do there;
    # SWACL_NV_FP16=1 compiles the fp16 paths instead.
    fp16=
    [ "${SWACL_NV_FP16:-0}" = 1 ] && fp16="-Xclang -cl-ext=+cl_khr_fp16"
    # shellcheck disable=SC2086 # options are words (globbing is off)
    # 32-bit local-memory pointers, as NVIDIA's compiler addresses shared memory
    # (clang's default 64-bit ones cost registers the driver would not use)
    if ! "$GS_CLANG" -x cl $opts $fp16 -target nvptx64-nvidia-nvcl -march="$GS_DEV" -O3 \
        -Xclang -fcuda-short-ptr -mllvm --nvptx-short-ptr \
        -Xclang -finclude-default-header -Xclang -mlink-builtin-bitcode \
        -Xclang "$GS_LIBCLC/nvptx64--nvidiacl.bc" -Wno-linker-warnings \
        -S -emit-llvm -o "$d/k.ll" "$src" > "$d/log" 2>&1; then
        program_problem "compile failed: $(log_errors)"
        return
    fi
    ll=$d/k.ll
    # libclc's nvptx native_exp2/exp/log2/log/sin/cos (and native_powr, _tan,
    # _exp10 built on them) are LLVM intrinsics the NVPTX back end of LLVM 15
    # cannot select; NVIDIA's compiler maps them to the approximate SFU
    # instructions, so do the same here (vector forms split first).
    natives='@llvm\.(exp2?|log2?|sin|cos)\.'
    if grep -Eq "${natives}v[0-9]+f32" "$ll"; then
        "$GS_LLVM/opt" -passes=scalarizer -S -o "$d/s.ll" "$ll" >> "$d/log" 2>&1 || {
            program_problem "scalarizer failed: $(log_errors)"; return; }
        ll=$d/s.ll
    fi
    if grep -Eq "${natives}f32\(" "$ll"; then
        {
            sed -E -e "/^declare .*${natives}f32\(/d" \
                -e '/^declare .*@llvm\.nvvm\.(ex2|lg2|sin|cos)\.approx\.f\(/d' \
                -e 's/@llvm\.exp2\.f32\(/@llvm.nvvm.ex2.approx.f(/g' \
                -e 's/@llvm\.log2\.f32\(/@llvm.nvvm.lg2.approx.f(/g' \
                -e 's/@llvm\.sin\.f32\(/@llvm.nvvm.sin.approx.f(/g' \
                -e 's/@llvm\.cos\.f32\(/@llvm.nvvm.cos.approx.f(/g' \
                -e 's/@llvm\.exp\.f32\(/@swacl.native.exp(/g' \
                -e 's/@llvm\.log\.f32\(/@swacl.native.log(/g' "$ll"
            # the constants are log2(e) and ln(2) rounded to float
            cat <<'EOF'
declare float @llvm.nvvm.ex2.approx.f(float)
declare float @llvm.nvvm.lg2.approx.f(float)
declare float @llvm.nvvm.sin.approx.f(float)
declare float @llvm.nvvm.cos.approx.f(float)
define internal float @swacl.native.exp(float %x) alwaysinline {
  %y = fmul float %x, 0x3FF7154760000000
  %r = call float @llvm.nvvm.ex2.approx.f(float %y)
  ret float %r
}
define internal float @swacl.native.log(float %x) alwaysinline {
  %y = call float @llvm.nvvm.lg2.approx.f(float %x)
  %r = fmul float %y, 0x3FE62E4300000000
  ret float %r
}
EOF
        } > "$d/n.ll"
        "$GS_LLVM/opt" -passes=always-inline -S -o "$d/i.ll" "$d/n.ll" >> "$d/log" 2>&1 || {
            program_problem "native rewrite failed: $(log_errors)"; return; }
        ll=$d/i.ll
    fi
    if ! "$GS_LLVM/llc" -O3 -mcpu="$GS_DEV" --nvptx-short-ptr -o "$d/g.ptx" "$ll" >> "$d/log" 2>&1; then
        program_problem "llc failed: $(log_errors)"
        return
    fi
    # clang leaves reqd_work_group_size out of the PTX; NVIDIA's compiler
    # passes it to ptxas (.reqntid), which then caps registers to fit.
    awk '/^define .*spir_kernel .*!reqd_work_group_size ![0-9]+/ {
             name = $0; sub(/^[^@]*@/, "", name); sub(/\(.*/, "", name)
             md = $0; sub(/.*!reqd_work_group_size !/, "", md); sub(/[^0-9].*/, "", md)
             kernel_md[name] = md
         }
         /^![0-9]+ = !\{i32 [0-9]+, i32 [0-9]+, i32 [0-9]+\}/ {
             s = $0; gsub(/i32 /, "", s); split(s, v, /[^0-9]+/)
             size[v[2]] = v[3] " " v[4] " " v[5]
         }
         END { for (k in kernel_md) print k, size[kernel_md[k]] }' "$ll" > "$d/reqd"
    # PTX generated for an older sm (see setup) is retargeted; sm_90 needs
    # PTX ISA 7.8
    ver=
    if [ "$GS_DEV" != "$target" ]; then
        case $target in sm_90) ver=7.8 ;; esac
    fi
    awk -v reqd="$d/reqd" -v gen="$GS_DEV" -v arch="$target" -v ver="$ver" '
        BEGIN { while ((getline l < reqd) > 0) { split(l, a, " "); S[a[1]] = a[2] ", " a[3] ", " a[4] } }
        gen != arch && $1 == ".target" { sub(gen, arch) }
        ver != "" && $1 == ".version" && $2 + 0 < ver + 0 { $0 = ".version " ver }
        /^(\.visible )?\.entry / { cur = $0; sub(/^.*\.entry /, "", cur); sub(/\(.*/, "", cur) }
        { print }
        cur != "" && /\)[ \t]*$/ { if (cur in S) print ".reqntid " S[cur]; cur = "" }
    ' "$d/g.ptx" > "$d/k.ptx"
    unresolved=$(sed -n 's/^\.extern \.func.*[ )]\([A-Za-z_$][A-Za-z0-9_$]*\)($/\1/p' "$d/k.ptx" |
        tr '\n' ' ')
    [ -n "$unresolved" ] && program_problem "unresolved: ${unresolved% }"
    if ! "$GS_PTXAS" -v -arch="$target" -o "$d/k.cubin" "$d/k.ptx" > "$d/ptxas.log" 2>&1; then
        cat "$d/ptxas.log" >> "$d/log"
        program_problem "ptxas failed: $(log_errors)"
        return
    fi
    awk -v q="'" -v arch="$target" -v hd="$(opt_value HEAD_DIM)" -v wg="$(wg_default)" \
        -v reqd="$d/reqd" '
        BEGIN { while ((getline l < reqd) > 0) { split(l, a, " "); R[a[1]] = a[2] * a[3] * a[4] } }
        /Function properties for / { k = $NF; stack[k] = 0 }
        /bytes stack frame/ { stack[k] = $1; spill[k] = $5 + $9 }
        /Compiling entry function/ { split($0, p, q); k = p[2]; entry[k] = 1 }
        /Used [0-9]+ registers/ {
            for (i = 1; i < NF; i++) {
                if ($(i + 1) == "registers,") regs[k] = $i
                if ($(i + 1) == "bytes" && $(i + 2) ~ /^smem/) smem[k] += $i
                if ($(i + 1) == "bytes" && $(i + 2) == "cumulative" && $i > stack[k]) stack[k] = $i
            }
        }
        # occupancy as CUDA computes it: registers per warp in units of 256 in
        # 4 SM sub-partitions, 1 KiB of shared memory reserved per block (sm_80+)
        function occupancy(r, sm, n,   warps, rpw, lim, b, x, smem_sm) {
            if (arch == "sm_80") smem_sm = 164 * 1024
            else if (arch == "sm_90") smem_sm = 228 * 1024
            else return "-"
            if (n + 0 <= 0) return "-"
            if (n + 0 > 1024) return "0% wg>1024"
            warps = int((n + 31) / 32)
            rpw = int((r * 32 + 255) / 256) * 256
            if (rpw * warps > 65536) return "0% regs"
            b = 32; lim = "blocks"
            x = int(64 / warps); if (x < b) { b = x; lim = "warps" }
            x = int(int(16384 / rpw) * 4 / warps); if (x < b) { b = x; lim = "regs" }
            x = int(smem_sm / (int((sm + 1024 + 127) / 128) * 128)); if (x < b) { b = x; lim = "smem" }
            return int(b * warps * 100 / 64 + 0.5) "% " lim
        }
        END {
            for (k in entry) {
                n = (k in R) ? R[k] : wg
                occ = occupancy(regs[k], smem[k] + 0, n)
                bad = ""
                if (spill[k] > 0) bad = bad "; spills " spill[k] " B"
                if (stack[k] > 0) bad = bad "; stack " stack[k] " B"
                if (hd != "" && hd + 0 <= 128 && regs[k] + 0 > 128) bad = bad "; " regs[k] " regs > 128"
                if (occ ~ /^0%/) bad = bad "; work-group does not fit (" occ ")"
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k, regs[k], spill[k], stack[k],
                    smem[k] + 0, occ, substr(bad, 3)
            }
        }' "$d/ptxas.log"
}

amd_unit() {
    # clang's amdgcn target reports cl_khr_fp16 as ROCm does; nothing to add.
    # shellcheck disable=SC2086 # options are words (globbing is off)
    if ! "$GS_CLANG" -x cl $opts -target amdgcn-amd-amdhsa -mcpu="$GS_DEV" -nogpulib -O3 \
        -Xclang -finclude-default-header -Xclang -mlink-builtin-bitcode \
        -Xclang "$GS_LIBCLC/amdgcn--amdhsa.bc" -Wno-linker-warnings \
        -Rpass-analysis=kernel-resource-usage -c -o "$d/k.o" "$src" > "$d/log" 2>&1; then
        program_problem "compile failed: $(log_errors)"
        return
    fi
    # a C99 `inline` the compiler declined to inline is left undefined
    unresolved=$("$GS_LLVM/llvm-nm" -u "$d/k.o" 2>> "$d/log" | awk '{ print $NF }' | tr '\n' ' ')
    [ -n "$unresolved" ] && program_problem "unresolved: ${unresolved% }"
    awk '/remark: / {
             s = $0; sub(/.*remark: +/, "", s); sub(/ *\[-Rpass.*/, "", s)
             key = s; sub(/: .*/, "", key); val = s; sub(/.*: /, "", val)
             if (key == "Function Name") { k = val; names[k] = 1 } else F[k, key] = val
         }
         END {
             for (k in names) {
                 regs = "v" F[k, "VGPRs"]
                 if (F[k, "AGPRs"] + 0 > 0) regs = regs " a" F[k, "AGPRs"]
                 regs = regs " s" F[k, "SGPRs"]
                 # SGPRs spill to VGPR lanes (scratch stays 0), VGPRs to scratch
                 spill = ""
                 if (F[k, "VGPRs Spill"] + 0 > 0) spill = "v" F[k, "VGPRs Spill"]
                 if (F[k, "SGPRs Spill"] + 0 > 0) spill = spill (spill == "" ? "" : " ") "s" F[k, "SGPRs Spill"]
                 scratch = F[k, "ScratchSize [bytes/lane]"] + 0
                 # an SGPR spill is a v_writelane into a VGPR, no memory traffic:
                 # shown, but only VGPR spills and scratch fail
                 bad = ""
                 if (F[k, "VGPRs Spill"] + 0 > 0) bad = bad "; spills " F[k, "VGPRs Spill"] " VGPRs"
                 if (spill == "") spill = 0
                 if (scratch > 0) bad = bad "; scratch " scratch " B"
                 printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k, regs, spill, scratch,
                     F[k, "LDS Size [bytes/block]"], F[k, "Occupancy [waves/SIMD]"] " w/SIMD", substr(bad, 3)
             }
         }' "$d/log"
}

# .ze_info (section type 0xff000011) of a zebin, without needing an ELF tool
zeinfo() {
    od -A n -t u1 -v "$1" | awk '
        { for (i = 1; i <= NF; i++) b[n++] = $i }
        function u(o, w,   v, j) { v = 0; for (j = w - 1; j >= 0; j--) v = v * 256 + b[o + j]; return v }
        END {
            shoff = u(40, 8); shentsize = u(58, 2); shnum = u(60, 2)
            for (s = 0; s < shnum; s++) {
                h = shoff + s * shentsize
                if (u(h + 4, 4) != 4278190097) continue
                off = u(h + 24, 8); len = u(h + 32, 8)
                for (j = 0; j < len; j++) printf "%c", b[off + j]
            }
        }'
}

intel_unit() {
    # -q would also silence IGC's spill warning, the only place it reports spills
    if ! (cd "$d" && "$GS_OCLOC" compile -file "$src" -device "$GS_DEV" -options "$opts" \
        -output_no_suffix -output k --format zebin) > "$d/log" 2>&1; then
        program_problem "compile failed: $(log_errors)"
        return
    fi
    zeinfo "$d/k" > "$d/zeinfo.yaml"
    awk -v build_log="$d/log" '
        BEGIN {
            while ((getline l < build_log) > 0)
                if (l ~ /kernel .* compiled SIMD[0-9]+ allocated [0-9]+ regs and spilled around [0-9]+/) {
                    n = split(l, w, " ")
                    for (i = 1; i < n; i++) if (w[i] == "kernel") spilled[w[i + 1]] = w[n]
                }
        }
        /^[a-z_]+:/ { top = $1 }
        top != "kernels:" { next }
        /^  - name:/ { k = $3; names[k] = 1; sub_ = ""; next }
        /^    [a-z_]+:/ { sub_ = $1 }
        sub_ == "execution_env:" && $1 == "simd_size:" { simd[k] = $2 }
        sub_ == "execution_env:" && $1 == "grf_count:" { grf[k] = $2 }
        sub_ == "execution_env:" && $1 == "slm_size:" { slm[k] = $2 }
        sub_ == "per_thread_memory_buffers:" && $1 == "-" { type = $NF }
        sub_ == "per_thread_memory_buffers:" && $1 == "usage:" { usage = $2 }
        sub_ == "per_thread_memory_buffers:" && $1 == "size:" { mem[k] += $2; what[k] = what[k] " " type "/" usage " " $2 " B" }
        END {
            for (k in names) {
                bad = ""
                if (spilled[k] != "") bad = bad "; spilled around " spilled[k]
                if (mem[k] > 0) bad = bad ";" what[k]
                printf "%s\tgrf%s\t%s\t%s\t%s\tSIMD%s\t%s\n", k, grf[k],
                    spilled[k] != "" ? "~" spilled[k] : 0, mem[k] + 0, slm[k] + 0, simd[k], substr(bad, 3)
            }
        }' "$d/zeinfo.yaml"
}

unit() {
    target=$1 idx=$2
    d=$GS_W/$target/$idx
    mkdir -p "$d"
    line=$(sed -n "${idx}p" "$GS_W/$GS_SET.units")
    src=$GS_W/src/${line%%"	"*}
    opts=${line#*"	"}
    program_problems=
    {
        case $target in
        sm_*) nv_unit ;;
        gfx*) amd_unit ;;
        *) intel_unit ;;
        esac
        [ -z "$program_problems" ] || record '*' - - - - - "$program_problems"
    } > "$GS_W/$target/$idx.res"
    # keep the log for the report, drop the large intermediates
    [ -n "${GS_KEEP:-}" ] || find "$d" -type f ! -name log -exec rm -f {} +
}

if [ "${1:-}" = --unit ]; then
    set -f # options are split into words, never expanded as file names
    unit "$2" "$3"
    exit 0
fi

# ---- main: find the tools, query swacl-info, compile, print the table

if [ $# -lt 1 ]; then
    echo "usage: $0 SWACL_INFO [TARGET...]" >&2
    exit 1
fi
info=$1
shift
targets=${*:-sm_80 sm_90 gfx90a gfx1100 tgllp dg2}
jobs=${JOBS:-2}
start=$(date +%s)

GS_W=$(mktemp -d "${TMPDIR:-/tmp}/gpu_static.XXXXXX") || exit 1
[ -n "${GS_KEEP:-}" ] || trap 'rm -rf "$GS_W"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$GS_W/src"

first_tool() { # prints the first of the given commands found on PATH
    for c in "$@"; do
        p=$(command -v "$c" 2>/dev/null) && { printf '%s\n' "$p"; return 0; }
    done
    return 1
}

GS_CLANG=${CLANG:-$(first_tool clang-15 clang-16 clang-17 clang-18 clang-19 clang-20 clang)}
# llc, opt and llvm-nm must match clang's LLVM; an unversioned one on PATH may not
GS_LLVM=
[ -n "$GS_CLANG" ] && GS_LLVM=$(dirname "$(readlink -f "$GS_CLANG")")
GS_LIBCLC=${LIBCLC_DIR:-/usr/lib/clc}
GS_PTXAS=${PTXAS:-$(first_tool ptxas /usr/local/cuda/bin/ptxas)}
if [ -z "$GS_PTXAS" ]; then
    # the nvidia-cuda-nvcc-cu12 wheel ships ptxas inside the package
    for py in ${VIRTUAL_ENV:+"$VIRTUAL_ENV/bin/python3"} python3; do
        dir=$("$py" -c 'import importlib.util as u; s = u.find_spec("nvidia.cuda_nvcc"); print(list(s.submodule_search_locations)[0])' 2>/dev/null) &&
            [ -x "$dir/bin/ptxas" ] && { GS_PTXAS=$dir/bin/ptxas; break; }
    done
fi
GS_OCLOC=${OCLOC:-$(first_tool ocloc)}
export GS_W GS_CLANG GS_LLVM GS_LIBCLC GS_PTXAS GS_OCLOC

printf '__kernel void probe(__global float *p) { p[get_global_id(0)] = 1.0f; }\n' > "$GS_W/probe.cl"

have() { [ -n "$1" ] && command -v "$1" > /dev/null 2>&1; }

# missing TOOL...: the tools a target lacks, empty when it has them all
missing() {
    m=
    for tool in "$@"; do
        case $tool in
        clang) have "$GS_CLANG" || m="$m clang-15" ;;
        llc | opt | llvm-nm)
            ! have "$GS_CLANG" || [ -f "$GS_LLVM/$tool" ] || m="$m $tool (of $GS_CLANG's LLVM)" ;;
        *.bc) [ -f "$GS_LIBCLC/$tool" ] || m="$m libclc $GS_LIBCLC/$tool" ;;
        ptxas) have "$GS_PTXAS" || m="$m ptxas (CUDA, or pip install nvidia-cuda-nvcc-cu12)" ;;
        ocloc) have "$GS_OCLOC" || m="$m ocloc (intel-opencl-icd)" ;;
        esac
    done
    printf '%s\n' "${m# }"
}

# setup TARGET: sets pset (parameter set) and dev (what the compiler is given),
# or prints why the target is skipped and returns 1
setup() {
    t=$1
    case $t in
    sm_*)
        # this is how LLVM-based drivers on NVIDIA GPUs (PoCL's CUDA device,
        # rusticl) compile, and they take the generic set; NVIDIA's own driver
        # takes gpu-nvidia, proved by its compiler on the device
        # (tools/gpu/kstats.c, docs/devices/nvidia-h200.md)
        pset=gpu
        why=$(missing clang llc opt nvptx64--nvidiacl.bc ptxas)
        [ -z "$why" ] || { echo "skip $t: missing $why"; return 1; }
        # an LLVM that does not know this sm (LLVM 15: sm_90) generates for
        # the newest one it knows; the PTX is then retargeted for ptxas
        n=${t#sm_}
        dev=$("$GS_LLVM/llc" -march=nvptx64 -mcpu=help 2>&1 | sed -n 's/^ *sm_\([0-9]*\) .*/\1/p' |
            sort -n -u | awk -v n="$n" '$1 <= n { d = $1 } END { if (d != "") print "sm_" d }')
        [ -n "$dev" ] || { echo "skip $t: $GS_CLANG knows no sm_ at or below it"; return 1; }
        case $t in sm_9*) ver=7.8 ;; *) ver=7.0 ;; esac
        printf '.version %s\n.target %s\n.address_size 64\n' "$ver" "$t" > "$GS_W/probe.ptx"
        "$GS_PTXAS" -arch="$t" -o "$GS_W/probe.cubin" "$GS_W/probe.ptx" > /dev/null 2>&1 ||
            { echo "skip $t: $GS_PTXAS does not support $t"; return 1; }
        ;;
    gfx*)
        pset=gpu-amd
        why=$(missing clang llvm-nm amdgcn--amdhsa.bc)
        [ -z "$why" ] || { echo "skip $t: missing $why"; return 1; }
        "$GS_LLVM/llc" -march=amdgcn -mcpu=help 2>&1 | grep -q "^ *$t " ||
            { echo "skip $t: $GS_CLANG does not know $t"; return 1; }
        dev=$t
        ;;
    *)
        pset=gpu-intel
        why=$(missing ocloc)
        [ -z "$why" ] || { echo "skip $t: missing $why"; return 1; }
        case $t in dg2) names="dg2-g10 acm-g10 dg2" ;; *) names=$t ;; esac
        dev=
        for name in $names; do
            if (cd "$GS_W" && "$GS_OCLOC" compile -file probe.cl -device "$name" -q \
                -output_no_suffix -output probe --format zebin) > /dev/null 2>&1; then
                dev=$name
                break
            fi
        done
        [ -n "$dev" ] || { echo "skip $t: $GS_OCLOC does not know $t"; return 1; }
        ;;
    esac
}

# query SET: the variant lines of a parameter set, split into compile units
# (file + options, shared by kernels of one program) and table rows
query() {
    s=$1
    [ -f "$GS_W/$s.rows" ] && return 0
    # a set that failed once is reported once
    [ -f "$GS_W/$s.failed" ] && return 1
    : > "$GS_W/$s.failed"
    if ! "$info" --kernel-options "$s" > "$GS_W/$s.lines" 2> "$GS_W/$s.err"; then
        echo "FAIL: $info --kernel-options $s: $(head -n 3 "$GS_W/$s.err" | tr '\n' ' ')"
        return 1
    fi
    awk -v units="$GS_W/$s.units" '
        NF >= 2 && $1 !~ /^#/ {
            file = $1; n = split(file, p, "/"); file = p[n]
            opts = $0; sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]*/, "", opts)
            key = file "\t" opts
            if (!(key in unit)) { unit[key] = ++u; print key > units }
            print ++r "\t" unit[key] "\t" $2 "\t" file "\t" opts
        }' "$GS_W/$s.lines" > "$GS_W/$s.new"
    if [ ! -s "$GS_W/$s.new" ]; then
        echo "FAIL: $info --kernel-options $s listed no variants"
        return 1
    fi
    # shellcheck disable=SC2013 # file names are single words
    for f in $(cut -f 1 "$GS_W/$s.units" | sort -u); do
        [ -f "$GS_W/src/$f" ] && continue
        if ! "$info" --kernel-source "$f" > "$GS_W/src/$f" 2> "$GS_W/$s.err" || [ ! -s "$GS_W/src/$f" ]; then
            echo "FAIL: $info --kernel-source $f: $(head -n 3 "$GS_W/$s.err" | tr '\n' ' ')"
            rm -f "$GS_W/src/$f"
            return 1
        fi
    done
    mv "$GS_W/$s.new" "$GS_W/$s.rows"
    rm -f "$GS_W/$s.failed"
}

status=0
ran=
for t in $targets; do
    setup "$t" || continue
    query "$pset" || { status=1; continue; }
    n=$(wc -l < "$GS_W/$pset.units")
    printf 'compiling %s programs for %s (%s, %s)' "$n" "$t" "$pset" "$dev" >&2
    t0=$(date +%s)
    mkdir -p "$GS_W/$t"
    GS_SET=$pset GS_DEV=$dev
    export GS_SET GS_DEV
    awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) print i }' |
        xargs -n 1 -P "$jobs" sh "$0" --unit "$t"
    echo ": $(($(date +%s) - t0)) s" >&2
    echo "$pset" > "$GS_W/$t/set"
    ran="$ran $t"
done

if [ -z "$ran" ]; then
    [ $status -eq 0 ] && exit 77
    exit $status
fi

# ---- the table: rows grouped by variant, one per target
awk -v W="$GS_W" -v targets="$ran" '
    function tsv(line, f) { return split(line, f, "\t") }
    # short name of a variant from its kernel and -D values
    function digest(kernel, opts,   D, n, t, i, nv, name, s, m) {
        n = split(opts, t, " ")
        for (i = 1; i <= n; i++) if (t[i] ~ /^-D/) {
            nv = substr(t[i], 3)
            if (index(nv, "=")) { name = substr(nv, 1, index(nv, "=") - 1); D[name] = substr(nv, index(nv, "=") + 1) }
            else D[nv] = 1
        }
        s = kernel
        if ("HEAD_DIM" in D) s = s " hd" D["HEAD_DIM"]
        if (D["IO_HALF"] == 1) s = s " io=f16"
        if (D["KV_HALF"] == 1) s = s " kv=f16"
        if ("BLOCK_M" in D || "BLOCK_N" in D) s = s " m" D["BLOCK_M"] "n" D["BLOCK_N"]
        if ("WG_M" in D || "WG_N" in D) s = s " wg" D["WG_M"] "x" D["WG_N"]
        if ("TM" in D || "TN" in D) s = s " t" D["TM"] "x" D["TN"]
        if ("DVEC" in D) s = s " dv" D["DVEC"]
        if (D["TILED"] != "" && D["TILED"] != 0) s = s " tiled"
        if (D["DECODE_GH"] != "" && D["DECODE_GH"] != 0) s = s " gh" D["DECODE_GH"]
        # HAS_FMA is a device capability, the same for every variant of a set
        for (name in D) if (name ~ /^HAS_/ && name != "HAS_FMA" && D[name] != 0) {
            m = tolower(substr(name, 5)); gsub(/_/, "", m); flags[m] = 1
        }
        # flags in a fixed order, whatever order awk keeps the array in
        n = 0; for (m in flags) t[++n] = m
        for (i = 2; i <= n; i++) for (nv = i; nv > 1 && t[nv - 1] > t[nv]; nv--) { m = t[nv]; t[nv] = t[nv - 1]; t[nv - 1] = m }
        for (i = 1; i <= n; i++) s = s " " t[i]
        delete flags
        return s
    }
    # other -D values of opts that differ from those of ref: tells apart
    # variants the digest folds together
    function differing(opts, ref,   a, b, n, i, s, R) {
        n = split(ref, b, " "); for (i = 1; i <= n; i++) R[b[i]] = 1
        n = split(opts, a, " ")
        for (i = 1; i <= n; i++) if (a[i] ~ /^-D/ && !(a[i] in R)) s = s " " tolower(substr(a[i], 3))
        return s
    }
    # the problems of a row in a word each
    function brief(problems,   n, p, i, w, s) {
        n = split(problems, p, "; ")
        for (i = 1; i <= n; i++) {
            w = p[i]
            if (w ~ /regs > 128/) w = "regs>128"
            else if (w ~ /does not fit/) w = "no-fit"
            else if (w ~ /failed/) w = "compile"
            else if (w ~ /not in the compiled/) w = "no-kernel"
            else if (w ~ /^global\//) w = "private"
            else if (w ~ /^scratch\//) w = "scratch"
            else if (w ~ /^spill/) w = "spill"
            else { sub(/[ :].*/, "", w) }
            if (index(" " s " ", " " w " ") == 0) s = s (s == "" ? "" : " ") w
        }
        return s
    }
    function cell(r, c, v) { C[r, c] = v; if (length(v) > Wd[c]) Wd[c] = length(v) }
    BEGIN {
        nt = split(targets, T, " ")
        for (ti = 1; ti <= nt; ti++) {
            t = T[ti]; getline s < (W "/" t "/set")
            set_of[t] = s
            if (!(s in nlines)) {
                sets[++ns] = s; nlines[s] = 0
                while ((getline line < (W "/" s ".rows")) > 0) {
                    tsv(line, f); l = f[1]; nlines[s] = l
                    unit[s, l] = f[2]; kern[s, l] = f[3]; src[s, l] = f[4]; opt[s, l] = f[5]
                    name = digest(f[3], f[5])
                    if ((s, name) in seen) {
                        extra = differing(f[5], opt[s, seen[s, name]])
                        if (extra == "" || (s, name extra) in seen) extra = extra " #" l
                        name = name extra
                    } else seen[s, name] = l
                    seen[s, name] = l; vname[s, l] = name
                }
            }
            # records of each program for this target
            for (l = 1; l <= nlines[s]; l++) {
                u = unit[s, l]
                if ((t, u) in loaded) continue
                loaded[t, u] = 1
                while ((getline line < (W "/" t "/" u ".res")) > 0) { tsv(line, f); rec[t, u, f[1]] = line }
            }
        }
        split("variant|target|regs|spill|scratch/stack|lmem|occupancy|result", H, "|")
        for (c = 1; c <= 8; c++) cell(0, c, H[c])
        rows = 0; fails = 0
        for (si = 1; si <= ns; si++) {
            s = sets[si]
            for (l = 1; l <= nlines[s]; l++) for (ti = 1; ti <= nt; ti++) {
                t = T[ti]; if (set_of[t] != s) continue
                u = unit[s, l]; k = kern[s, l]
                problems = ""
                if ((t, u, "*") in rec) {
                    n = split(rec[t, u, "*"], f, "\t")
                    problems = f[7]
                }
                for (c = 2; c <= 6; c++) v[c] = "-"
                if ((t, u, k) in rec) {
                    tsv(rec[t, u, k], f)
                    for (c = 2; c <= 6; c++) v[c] = f[c]
                    if (f[7] != "") problems = problems (problems != "" ? "; " : "") f[7]
                } else if (problems == "")
                    problems = "kernel " k " not in the compiled program"
                r = ++rows
                cell(r, 1, vname[s, l]); cell(r, 2, t)
                for (c = 2; c <= 6; c++) cell(r, c + 1, v[c])
                cell(r, 8, problems == "" ? "ok" : "FAIL " brief(problems))
                if (problems != "") fails++
                # the columns hold the numbers; what they cannot hold is
                # listed below the table, with the options to reproduce it
                if (problems ~ /failed|unresolved|not in the compiled/) {
                    detail[++nd] = "FAIL " vname[s, l] " on " t ": " problems
                    if (!((s, l) in shown)) { shown[s, l] = 1; detail[nd] = detail[nd] "\n     " src[s, l] " " k " " opt[s, l] }
                }
            }
        }
        for (r = 0; r <= rows; r++) {
            line = ""
            for (c = 1; c <= 8; c++) {
                x = C[r, c]
                if (c == 1 || c == 2 || c == 8) line = line sprintf("%-" Wd[c] "s", x)
                else line = line sprintf("%" Wd[c] "s", x)
                if (c < 8) line = line " | "
            }
            sub(/ +$/, "", line)
            print line
            if (r == 0) { gsub(/[^|]/, "-", line); gsub(/\|/, "+", line); print line }
        }
        print ""
        print "regs: NVIDIA per thread; AMD VGPRs (v), AGPRs (a), SGPRs (s); Intel GRFs per hardware thread."
        print "spill: NVIDIA bytes stored + loaded; AMD spilled VGPRs (v) and SGPRs (s, into VGPR lanes);"
        print "  Intel IGC estimate (~)."
        print "scratch/stack: bytes; NVIDIA stack frame and AMD scratch per work-item; Intel scratch per"
        print "  hardware thread plus private memory per work-item. lmem: static local memory per work-group."
        print "occupancy: NVIDIA share of 64 warps and its limit; AMD waves per SIMD; Intel SIMD width."
        for (i = 1; i <= nd; i++) print detail[i]
        printf "%d rows, %d failed\n", rows, fails
        exit (fails > 0)
    }' || status=1

echo "gpu_static: $(($(date +%s) - start)) s"
exit $status
