#!/usr/bin/env bash
# fetch-debs.sh — downloads (on a Debian 12 machine with apt) the .deb packages that
# tools/gpu/run-nvidia.sh unpacks on a GPU machine that has no network, into .gpu-debs/.
#
# .gpu-debs/*.deb        OpenCL loader and headers, CLBlast, cmocka, xxHash, clinfo, pkg-config
# .gpu-debs/cmake/*.deb  CMake and every library it loads beyond glibc, libgcc,
#                        libstdc++ and zlib: used there only when no CMake is installed
#
# Usage, from anywhere inside the repository: bash tools/gpu/fetch-debs.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# the build and the tests need these; the -dev packages bring the headers, the
# unversioned .so links, the .pc files and CLBlast's CMake package
main_pkgs=(ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers
    libclblast1 libclblast-dev libcmocka0 libcmocka-dev libxxhash0 libxxhash-dev clinfo
    pkg-config pkgconf pkgconf-bin libpkgconf3)
# the whole library closure of Debian's cmake (checked below with ldd), so that it
# runs on any x86-64 system with glibc >= 2.36 whatever else that system has
cmake_pkgs=(cmake cmake-data libarchive13 libcurl4 libjsoncpp25 librhash0 libuv1
    libxml2 libicu72 libacl1 liblz4-1 libzstd1 libexpat1 libbz2-1.0 liblzma5
    libbrotli1 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1
    libcom-err2 libldap-2.5-0 libsasl2-2 libnghttp2-14 libpsl5 libidn2-0 libunistring2
    librtmp1 libgnutls30 libhogweed6 libnettle8 libgmp10 libp11-kit0 libffi8
    libtasn1-6 libssh2-1 libssl3)

# git must never pick up the packages nor what the GPU script leaves behind
exclude=.git/info/exclude
if [ -d .git ]; then
    mkdir -p .git/info
    for pat in /.gpu-debs/ /gpu-out/; do
        grep -qxF "$pat" "$exclude" 2>/dev/null || echo "$pat" >>"$exclude"
    done
fi

# start empty so that older versions never travel beside newer ones
rm -rf .gpu-debs
mkdir -p .gpu-debs/cmake
echo "== downloading into $root/.gpu-debs"
# apt-get download writes into the current directory; as root it warns that the
# _apt user cannot write there, which is harmless
(cd .gpu-debs && apt-get download -q "${main_pkgs[@]}")
(cd .gpu-debs/cmake && apt-get download -q "${cmake_pkgs[@]}")

# ---- verification: unpack as the GPU script does and check that nothing is missing
tmp=$(mktemp -d /tmp/gpu-debs-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for f in .gpu-debs/*.deb; do dpkg -x "$f" "$tmp/main"; done
for f in .gpu-debs/cmake/*.deb; do dpkg -x "$f" "$tmp/cmake"; done

# Every shared library an unpacked program or library loads must come from the same
# unpacked tree, or be one that any x86-64 Linux has (glibc, libgcc, libstdc++, zlib).
libpath() { echo "$1/usr/lib/x86_64-linux-gnu:$1/lib/x86_64-linux-gnu"; }
base_re='/(libc|libm|libdl|libpthread|librt|libresolv|libutil|ld-linux-x86-64|libgcc_s|libstdc\+\+|libz)\.so'
check_closure() { # tree
    local tree=$1 bad=0 f
    while IFS= read -r f; do
        file -L "$f" 2>/dev/null | grep -q 'ELF 64-bit' || continue
        while read -r lib; do
            case $lib in
            "$tree"/*) ;;
            *) if ! [[ $lib =~ $base_re ]]; then
                echo "   $f needs $lib from outside the packages"
                bad=1
            fi ;;
            esac
        done < <(LD_LIBRARY_PATH=$(libpath "$tree") ldd "$f" 2>/dev/null |
            awk '$2 == "=>" && $3 ~ /^\// {print $3} $2 == "=>" && $3 == "not" {print "MISSING:" $1}')
    done < <(find "$tree/usr/bin" "$tree/usr/lib" "$tree/lib" -type f \( -perm -u+x -o -name '*.so*' \) 2>/dev/null)
    return $bad
}
echo "== library closure of the main packages"
check_closure "$tmp/main" && echo "   complete"
echo "== library closure of the CMake packages"
check_closure "$tmp/cmake" && echo "   complete"

# the unpacked CMake must find its own modules (it looks beside its binary)
echo "== the unpacked cmake"
echo 'message(STATUS "CMAKE_ROOT=${CMAKE_ROOT}")' >"$tmp/root.cmake"
LD_LIBRARY_PATH=$(libpath "$tmp/cmake") "$tmp/cmake/usr/bin/cmake" --version | head -1
LD_LIBRARY_PATH=$(libpath "$tmp/cmake") "$tmp/cmake/usr/bin/cmake" -P "$tmp/root.cmake"
echo "== the unpacked clinfo and loader"
LD_LIBRARY_PATH=$(libpath "$tmp/main") "$tmp/main/usr/bin/clinfo" --version

# ---- size: the working tree and .gpu-debs travel together, 64 MiB at most
kib=$(du -sk .gpu-debs | cut -f1)
tree_kib=$(git ls-files -z 2>/dev/null | du -ck --files0-from=- 2>/dev/null | tail -1 | cut -f1)
echo "== .gpu-debs: $(ls .gpu-debs/*.deb | wc -l) + $(ls .gpu-debs/cmake/*.deb | wc -l) packages," \
    "$((kib / 1024)) MiB ($(du -sk .gpu-debs/cmake | cut -f1) KiB of it CMake's);" \
    "tracked files $((${tree_kib:-0} / 1024)) MiB; limit 64 MiB together"
if [ $((kib + ${tree_kib:-0})) -gt $((48 * 1024)) ]; then
    echo "fetch-debs: over 48 MiB; leave the cmake/ folder out (rm -r .gpu-debs/cmake)" >&2
    exit 1
fi
