#!/usr/bin/env bash
# setup.sh — installs what swacl needs to build and test on Debian 12, and only
# what is missing; safe to run again (it then changes nothing).
set -euo pipefail

# libc6-dev is listed because gcc only recommends it and recommends are skipped:
# --no-install-recommends keeps clang from pulling in llvm-dev and python3.
packages=(
    cmake gcc make pkg-config libc6-dev
    ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
    libclblast-dev libcmocka-dev libxxhash-dev libcjson-dev python3-venv
    oclgrind valgrind clang libclang-rt-14-dev
    clang-15 llvm-15 libclc-15 intel-opencl-icd mesa-opencl-icd
)

is_installed() {
    # dpkg -s also succeeds for removed packages that left config files behind
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

missing=()
for p in "${packages[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages already installed"
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "setup: missing ${missing[*]}; run as root or install sudo" >&2
        exit 1
    fi
fi

echo "setup: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
