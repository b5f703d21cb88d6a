#!/bin/sh
# abi_exports.sh — the shared library exports exactly the functions swacl.h
# declares with SWACL_API, and the installed objects carry no test hooks.
# Usage: abi_exports.sh LIBSWACL.so SWACL_H [STATIC.a...]
set -u
lib=$1 header=$2
shift 2
tmp=${TMPDIR:-/tmp}/swacl-abi.$$
trap 'rm -f "$tmp".*' EXIT
# names starting with "_" are the toolchain's (sanitizer and linker symbols)
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ && $3 !~ /^_/ {print $3}' |
    sort -u > "$tmp.exported"
sed -n 's/^SWACL_API [^(]*[ *]\(swacl_[a-z0-9_]*\)(.*/\1/p' "$header" | sort -u > "$tmp.declared"
status=0
if [ ! -s "$tmp.declared" ]; then
    echo "FAIL: no SWACL_API declarations found in $header"
    exit 1
fi
extra=$(comm -23 "$tmp.exported" "$tmp.declared")
missing=$(comm -13 "$tmp.exported" "$tmp.declared")
if [ -n "$extra" ]; then
    echo "FAIL: exported but not public API:"; echo "$extra" | sed 's/^/  /'; status=1
fi
if [ -n "$missing" ]; then
    echo "FAIL: declared SWACL_API but not exported:"; echo "$missing" | sed 's/^/  /'; status=1
fi
for f in "$lib" "$@"; do
    hooks=$(nm "$f" 2>/dev/null | grep -c 'swacl_fault_')
    if [ "$hooks" != 0 ]; then
        echo "FAIL: $f carries $hooks fault-injection symbols"; status=1
    fi
done
echo "exported symbols: $(wc -l < "$tmp.exported") ($(wc -l < "$tmp.declared") declared SWACL_API)"
exit $status
