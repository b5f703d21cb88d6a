#!/usr/bin/env python3
"""make_quant_fixtures.py — writes tests/data/quant_blocks.bin: random blocks of each
tensor type swacl-run dequantises, with their values as the gguf Python package
(PyPI: gguf, numpy) dequantises them. Optional tooling, never part of the build.

    python3 -m venv /tmp/gg && /tmp/gg/bin/pip install gguf numpy
    /tmp/gg/bin/python tools/run/make_quant_fixtures.py tests/data/quant_blocks.bin

Record per type: u32 type, u32 n_blocks, u32 block_bytes, u32 block_elems, the raw
blocks, then n_blocks * block_elems float32 values (all little-endian)."""
import struct
import sys

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

rng = np.random.default_rng(20261130)
# byte offsets of each block's f16 scale fields, set to sane values (random bytes
# there could be inf or NaN)
HALF_FIELDS = {T.Q8_0: [0], T.Q5_0: [0], T.Q4_K: [0, 2], T.Q6_K: [208]}


def blocks(qtype, n):
    elems, size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F16:
        raw = rng.uniform(-4, 4, n).astype(np.float16).tobytes()
    elif qtype == T.BF16:
        raw = (rng.uniform(-4, 4, n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    else:
        b = bytearray(rng.integers(0, 256, n * size, dtype=np.uint8).tobytes())
        for k in range(n):
            for off in HALF_FIELDS[qtype]:
                d = np.float16(rng.uniform(-0.05, 0.05) if off == 0 or qtype != T.Q4_K else rng.uniform(0, 0.05))
                b[k * size + off:k * size + off + 2] = d.tobytes()
        raw = bytes(b)
    return raw, elems, size


def main(path):
    out = bytearray()
    for qtype, n in ((T.F16, 64), (T.BF16, 64), (T.Q8_0, 4), (T.Q5_0, 4), (T.Q4_K, 3), (T.Q6_K, 3)):
        raw, elems, size = blocks(qtype, n)
        vals = dequantize(np.frombuffer(raw, dtype=np.uint8), qtype).astype(np.float32).ravel()
        assert vals.size == n * elems
        out += struct.pack("<4I", int(qtype), n, size, elems) + raw + vals.tobytes()
    with open(path, "wb") as f:
        f.write(out)
    print(f"{path}: {len(out)} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/quant_blocks.bin")
