#!/usr/bin/env python3
"""GGUF files as llama.cpp and bitnet.cpp write and read them, built here with numpy and the PyPI gguf package
(independent of tern's writer) from the TinyStories checkpoint:

- a BitNet GGUF in bitnet.cpp's layout (Hugging Face q/k row order, I2_S packed as bitnet.cpp packs it, scale in
  the 32-byte tail) reproduces the expected greedy text of ../shared/models/README.md;
- the same weights named bitnet-25 (what bitnet.cpp's converter for Microsoft checkpoints writes) and
  bitnet-b1.58 load and run the relu² graph those names stand for;
- a BitNet GGUF that tern export wrote before it followed the peers (interleaved q/k rows, tern.converter set,
  no tern.rope_layout) still gives the expected text.
"""
import argparse
import os
import subprocess
import sys
import unittest

import gguf
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import gguf_raw  # noqa: E402

ARGS = None
PROMPT = "Once upon a time"
EXPECTED = ("Once upon a time, there was a little girl named Lily. She loved to play outside and explore the world "
            "around her.")


def tern(*args):
    return subprocess.run([ARGS.tern, *args], capture_output=True, text=True, timeout=120)


def greedy(path, n=40):
    r = tern("run", "-m", path, "-p", PROMPT, "-n", str(n), "--temp", "0")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def load_checkpoint():
    from safetensors.numpy import load_file
    return load_file(os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed", "model.safetensors"))


def unpack_ternary(st, prefix):
    """HF offline-quant layout: uint8 [N/4, K], bits 2j..2j+1 of byte [r, c] = value + 1 of row r + j*N/4."""
    packed = st[prefix + ".weight"]
    q, k = packed.shape
    vals = np.zeros((4 * q, k), dtype=np.int8)
    for j in range(4):
        vals[j * q:(j + 1) * q] = ((packed >> (2 * j)) & 3).astype(np.int8) - 1
    return vals, np.float32(1.0 / st[prefix + ".weight_scale"][0])


def i2s_bytes(trits, scale):
    """bitnet.cpp's I2_S: codes 0/1/2 for -1/0/+1, 128-value blocks packed 4 x 32 into 32 bytes (first quarter
    in the top bits), then a 32-byte tail whose first 4 bytes are the f32 scale."""
    q = (trits.reshape(-1) + 1).astype(np.uint8).reshape(-1, 4, 32)
    packed = (q[:, 0] << 6) | (q[:, 1] << 4) | (q[:, 2] << 2) | q[:, 3]
    tail = np.zeros(32, dtype=np.uint8)
    tail[:4] = np.frombuffer(np.float32(scale).tobytes(), dtype=np.uint8)
    return packed.astype(np.uint8).tobytes() + tail.tobytes()


HF_TO_GGUF = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
              "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.down_proj": "ffn_down"}
NORMS = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
         "self_attn.attn_sub_norm": "attn_sub_norm", "mlp.ffn_sub_norm": "ffn_sub_norm"}


def write_bitnet_cpp_style(path, arch):
    """The TinyStories model as bitnet.cpp's converters lay it out, under architecture `arch` (its keys prefixed
    with `arch`, as the converters' GGUFWriter does)."""
    st = load_checkpoint()
    V = gguf.GGUFValueType
    vocab = [kv for kv in gguf_raw.read_model(os.path.join(ARGS.exported, "clean-f16.gguf"))[0]
             if kv[0].startswith("tokenizer.")]
    kvs = [("general.architecture", V.STRING, arch, None), ("general.name", V.STRING, "tinystories", None),
           ("general.file_type", V.UINT32, 40, None)]  # LLAMA_FTYPE_MOSTLY_I2_S
    for key, value in (("vocab_size", 512), ("context_length", 512), ("embedding_length", 256), ("block_count", 8),
                       ("feed_forward_length", 256), ("rope.dimension_count", 32), ("attention.head_count", 8),
                       ("attention.head_count_kv", 4)):
        kvs.append((f"{arch}.{key}", V.UINT32, value, None))
    kvs.append((f"{arch}.attention.layer_norm_rms_epsilon", V.FLOAT32, 1e-12, None))
    kvs.append((f"{arch}.rope.freq_base", V.FLOAT32, 10000.0, None))
    kvs += vocab

    def f32(name, a):
        a = np.ascontiguousarray(a, dtype=np.float32)
        return {"name": name, "shape": list(reversed(a.shape)), "type": 0, "data": a.tobytes()}
    tensors = [f32("token_embd.weight", st["model.embed_tokens.weight"]), f32("output_norm.weight", st["model.norm.weight"])]
    for layer in range(8):
        for hf, name in NORMS.items():
            tensors.append(f32(f"blk.{layer}.{name}.weight", st[f"model.layers.{layer}.{hf}.weight"]))
        for hf, name in HF_TO_GGUF.items():
            trits, scale = unpack_ternary(st, f"model.layers.{layer}.{hf}")
            n, k = trits.shape
            tensors.append({"name": f"blk.{layer}.{name}.weight", "shape": [k, n], "type": 36,
                            "data": i2s_bytes(trits, scale)})
    return gguf_raw.write(path, kvs, tensors)


class BitnetCppFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = {}
        for arch in ("bitnet", "bitnet-25", "bitnet-b1.58"):
            cls.files[arch] = write_bitnet_cpp_style(os.path.join(ARGS.tmp, f"interchange_{arch}.gguf"), arch)

    def test_bitnet_layout_reproduces_the_expected_text(self):
        self.assertTrue(greedy(self.files["bitnet"]).startswith(EXPECTED), greedy(self.files["bitnet"]))

    def test_bitnet_25_is_the_relu2_graph(self):
        r = tern("inspect", self.files["bitnet-25"])
        self.assertEqual(r.returncode, 0, r.stderr)
        relu2 = greedy(self.files["bitnet-25"])
        self.assertEqual(relu2, greedy(self.files["bitnet-b1.58"]))
        # TinyStories is a SiLU model: under the relu² graph it must not produce the SiLU text.
        self.assertNotEqual(relu2, greedy(self.files["bitnet"]))

    def test_pre_change_tern_export_still_loads(self):
        kvs, ts = gguf_raw.read_model(os.path.join(ARGS.exported, "clean-f16.gguf"))
        kvs = [kv for kv in kvs if kv[0] != "tern.rope_layout"]
        self.assertIn("tern.converter", [kv[0] for kv in kvs])
        heads = {"attn_q": 8, "attn_k": 4}
        for t in ts:
            kind = t["name"].split(".")[-2]
            if kind in heads:
                k, n = t["shape"]
                w = np.frombuffer(t["data"], dtype=np.float16).reshape(n, k)
                # llama.cpp's permutation, as tern export applied it to every architecture before
                w = w.reshape(heads[kind], 2, n // heads[kind] // 2, k).swapaxes(1, 2).reshape(n, k)
                t["data"] = np.ascontiguousarray(w).tobytes()
        legacy = gguf_raw.write(os.path.join(ARGS.tmp, "interchange_legacy.gguf"), kvs, ts)
        self.assertTrue(greedy(legacy).startswith(EXPECTED), greedy(legacy))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--tmp", required=True)
    ARGS, rest = ap.parse_known_args()
    ARGS.exported = os.path.join(ARGS.tmp, "interchange_export")
    r = tern("export", os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed"), "-o", ARGS.exported)
    assert r.returncode == 0, r.stderr
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
