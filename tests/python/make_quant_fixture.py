#!/usr/bin/env python3
"""Writes a GGUF holding, for each quantized type, random data quantized by the PyPI `gguf` package (an
independent implementation of llama.cpp's formats) together with gguf's own dequantization. The C++ tests check
that tern dequantizes those bytes to exactly the same floats and quantizes the source to the same bytes."""
import sys

import gguf
import gguf.quants as q
import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(1234)
w = gguf.GGUFWriter(out, "llama")
x = (rng.standard_normal((4, 512)) * 0.05).astype(np.float32)
x[1, :] = np.round(x[1, :] / np.abs(x[1, :]).mean()).clip(-1, 1) * 0.02  # exactly ternary row
w.add_tensor("source", x)
for name in ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "TQ1_0", "TQ2_0"]:
    t = getattr(gguf.GGMLQuantizationType, name)
    data = q.quantize(x, t)
    w.add_tensor(f"q.{name}", data, raw_dtype=t)
    w.add_tensor(f"dq.{name}", q.dequantize(data, t).astype(np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
