#!/usr/bin/env python3
"""Reads a GGUF written by tern with the PyPI gguf package and checks tensor names, types, shapes and bytes
(FNV-1a 64) and a few metadata values against what the C++ test wrote."""
import sys

import gguf
import numpy as np


def fnv1a(b: bytes) -> int:
    h = 1469598103934665603
    for x in b:
        h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


path, expected = sys.argv[1], sys.argv[2]
r = gguf.GGUFReader(path)
want = [line.split() for line in open(expected) if line.strip()]
assert len(r.tensors) == len(want), (len(r.tensors), len(want))
for t, w in zip(r.tensors, want):
    name, typ, *rest = w
    shape, h = [int(x) for x in rest[:-1]], int(rest[-1])
    assert t.name == name, (t.name, name)
    assert int(t.tensor_type) == int(typ), (name, t.tensor_type, typ)
    assert [int(x) for x in t.shape] == shape, (name, t.shape, shape)
    assert fnv1a(np.asarray(t.data).tobytes()) == h, f"{name}: tensor bytes differ"
f = r.fields
assert bytes(f["general.architecture"].parts[-1]).decode() == "llama"
assert int(f["t.u64"].parts[-1][0]) == 1 << 60
assert int(f["t.i8"].parts[-1][0]) == -100
assert bytes(f["t.str"].parts[-1]).decode() == "héllo"
assert [int(f["t.arr_i32"].parts[i][0]) for i in f["t.arr_i32"].data] == [1, -2, 3]
print("ok: gguf package read", len(r.tensors), "tensors and", len(f), "fields")
