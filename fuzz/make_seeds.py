#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made from ../shared (never committed): small but valid inputs of every
kind each parser accepts, so that libFuzzer starts from deep inside the formats.

usage: make_seeds.py SHARED_DIR OUT_DIR   (writes OUT_DIR/<target>/seed-*)
"""
import json
import os
import struct
import sys

import gguf
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import genai_fixture  # noqa: E402
import tiny_gguf  # noqa: E402

shared, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def tiny_model(path, arch, wtype, vocab):
    """A complete model of arch with 1 layer, dim 128, 4 heads, ffn 128: every tensor the model loads."""
    n, ff, nv = 128, 128, len(vocab)
    w = tiny_gguf.start(path, arch, vocab, n, ff, layers=1)
    rng = np.random.default_rng(0)

    def mat(rows, cols):
        m = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
        if wtype == "f32":
            return m
        return gguf.quantize(m, gguf.GGMLQuantizationType.Q8_0)
    qtype = None if wtype == "f32" else gguf.GGMLQuantizationType.Q8_0
    w.add_tensor("token_embd.weight", rng.standard_normal((nv, n)).astype(np.float32))
    w.add_tensor("output_norm.weight", np.ones(n, dtype=np.float32))
    for name in ("attn_norm", "ffn_norm") + (("attn_sub_norm",) if arch != "llama" else ()):
        w.add_tensor(f"blk.0.{name}.weight", np.ones(n, dtype=np.float32))
    if arch != "llama":
        w.add_tensor("blk.0.ffn_sub_norm.weight", np.ones(ff, dtype=np.float32))
    for name, rows, cols in (("attn_q", n, n), ("attn_k", n // 2, n), ("attn_v", n // 2, n), ("attn_output", n, n),
                             ("ffn_gate", ff, n), ("ffn_up", ff, n), ("ffn_down", n, ff)):
        m = mat(rows, cols)
        w.add_tensor(f"blk.0.{name}.weight", m, raw_dtype=qtype)
    tiny_gguf.finish(w)


# ---- fuzz_gguf: complete tiny models, and the start of the vocabulary-only files
vocab = ["<unk>", "<s>", "</s>", "\u2581", "\u2581the", "a", "b", "c", "<0x41>", "\u2581hello", "lo", "wor", "ld"]
tmp = os.path.join(out, "tmp.gguf")
for arch, wtype in (("llama", "f32"), ("bitnet", "q8_0"), ("bitnet-b1.58", "f32")):
    tiny_model(tmp, arch, wtype, vocab)
    put("fuzz_gguf", f"{arch}-{wtype}.gguf", open(tmp, "rb").read())
os.remove(tmp)
for v in ("llama-spm", "gpt-2"):
    data = open(os.path.join(shared, "tokenizers", "llamacpp-vocab", f"ggml-vocab-{v}.gguf"), "rb").read()
    put("fuzz_gguf", f"vocab-{v}-head.gguf", data[:65536])

# ---- fuzz_safetensors: the TinyStories checkpoint cut to one layer (u16 config length, u16 index length, ...)
ckpt = os.path.join(shared, "models", "bitnet-tinystories-3m-packed")
raw = open(os.path.join(ckpt, "model.safetensors"), "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + hlen])
keep = {k: v for k, v in header.items() if k == "__metadata__" or ".layers." not in k or ".layers.0." in k}
keep = {k: v for k, v in keep.items() if k == "__metadata__" or "embed" not in k}  # the embedding is most bytes
data, new_header = b"", {}
for k, v in keep.items():
    if k == "__metadata__":
        new_header[k] = v
        continue
    b, e = v["data_offsets"]
    chunk = raw[8 + hlen + b:8 + hlen + e]
    new_header[k] = dict(v, data_offsets=[len(data), len(data) + len(chunk)])
    data += chunk
h = json.dumps(new_header).encode()
st = struct.pack("<Q", len(h)) + h + data
cfg = json.load(open(os.path.join(ckpt, "config.json")))
cfg["num_hidden_layers"] = 1
cfg_b = json.dumps(cfg).encode()
put("fuzz_safetensors", "one-layer", struct.pack("<HH", len(cfg_b), 0) + cfg_b + st)
index = json.dumps({"weight_map": {k: "model.safetensors" for k in new_header if k != "__metadata__"}}).encode()
put("fuzz_safetensors", "one-layer-indexed", struct.pack("<HH", len(cfg_b), len(index)) + cfg_b + index + st)

# ---- fuzz_tokenizer_files: the SentencePiece model, and a small tokenizer.json in the Llama 3 format
put("fuzz_tokenizer_files", "spm", b"\x01" + open(os.path.join(ckpt, "tokenizer.model"), "rb").read())
full = json.load(open(os.path.join(shared, "tokenizers", "llama3", "tokenizer.json")))
vocab = {k: v for k, v in full["model"]["vocab"].items() if v < 300}
merges = []
for m in full["model"]["merges"]:
    a, b = m.split(" ") if isinstance(m, str) else m
    if a in vocab and b in vocab and a + b in vocab:
        merges.append(m)
small = dict(full, model=dict(full["model"], vocab=vocab, merges=merges[:200]),
             added_tokens=[dict(t, id=300 + i) for i, t in enumerate(full["added_tokens"][:4])])
put("fuzz_tokenizer_files", "bpe.json", b"\x00" + json.dumps(small).encode())
# the TinyStories vocabulary in Hugging Face's SentencePiece form (byte fallback, merges from scores)
spm_json = {"added_tokens": [{"id": 1, "content": "<s>", "special": True}], "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": None, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}]},
    "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": True,
              "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x41>": 3, "\u2581": 4, "a": 5, "b": 6, "\u2581a": 7, "ab": 8, "\u2581ab": 9},
              "merges": [["\u2581", "a"], ["a", "b"], ["\u2581a", "b"], ["\u2581", "ab"]]}}
put("fuzz_tokenizer_files", "spm.json", b"\x00" + json.dumps(spm_json).encode())

# ---- fuzz_tokenize: llama.cpp's tokenizer test inputs
for v in ("llama-spm", "llama-bpe", "gpt-2"):
    text = open(os.path.join(shared, "tokenizers", "llamacpp-vocab", f"ggml-vocab-{v}.gguf.inp"), "rb").read()
    for i, part in enumerate(text.split(b"\n__ggml_vocab_test__\n")):
        if part:
            put("fuzz_tokenize", f"{v}-{i}", part)

# ---- fuzz_chat_template: the test fixtures and Llama 3's template, alone and with a JSON context
fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "chat_templates")
for name in sorted(os.listdir(fixtures)):
    put("fuzz_chat_template", name, open(os.path.join(fixtures, name), "rb").read())
llama3 = json.load(open(os.path.join(shared, "tokenizers", "llama3", "tokenizer_config.json")))["chat_template"]
context = {"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": True,
           "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
put("fuzz_chat_template", "llama3", llama3.encode() + b"\0" + json.dumps(context).encode())

# ---- fuzz_onnx: a small graph in tern's layout (a few of its nodes, inline and external initializers) with
# the TinyStories config.json (u16 config length, u32 model length, config, model.onnx, model.onnx.data)
from onnx import TensorProto, helper  # noqa: E402

ext = np.arange(256, dtype=np.float32).tobytes()
norm = TensorProto(name="model.layers.0.input_layernorm.weight", data_type=TensorProto.FLOAT, dims=[256])
norm.data_location = TensorProto.EXTERNAL
for k, v in (("location", "model.onnx.data"), ("offset", "0"), ("length", str(len(ext)))):
    norm.external_data.add(key=k, value=v)
one = helper.make_tensor("/const/one", TensorProto.INT64, [], np.array(1, np.int64).tobytes(), raw=True)
nodes = [helper.make_node("Shape", ["input_ids"], ["/Shape_0/output_0"], name="/Shape_0"),
         helper.make_node("Gather", ["/Shape_0/output_0", "/const/one"], ["/Gather_1/output_0"], name="/Gather_1", axis=0)]
graph = helper.make_graph(nodes, "tern", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", 512])],
                          [one, norm])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], producer_name="tern")
model.ir_version = 10
mb = model.SerializeToString()
cfg_onnx = open(os.path.join(ckpt, "config.json"), "rb").read()
put("fuzz_onnx", "tern-layout", struct.pack("<HI", len(cfg_onnx), len(mb)) + cfg_onnx + mb + ext)

# ---- fuzz_onnx: a one-layer decoder in ONNX Runtime GenAI's layout (4-bit MatMulNBits with zero points, RoPE
# in GroupQueryAttention), random weights, "{}" as config.json
import tempfile  # noqa: E402

rng = np.random.default_rng(7)
H, F, V = 64, 64, 32
tiny = {"model.embed_tokens.weight": rng.normal(size=(V, H)).astype(np.float32), "model.norm.weight": np.ones(H, np.float32),
        "model.layers.0.input_layernorm.weight": np.ones(H, np.float32),
        "model.layers.0.post_attention_layernorm.weight": np.ones(H, np.float32)}
for name, shape in (("self_attn.q_proj", (H, H)), ("self_attn.k_proj", (H // 2, H)), ("self_attn.v_proj", (H // 2, H)),
                    ("self_attn.o_proj", (H, H)), ("mlp.gate_proj", (F, H)), ("mlp.up_proj", (F, H)), ("mlp.down_proj", (H, F))):
    tiny[f"model.layers.0.{name}.weight"] = rng.normal(size=shape).astype(np.float32)
tiny_cfg = {"num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "hidden_size": H,
            "rms_norm_eps": 1e-5, "max_position_embeddings": 8, "rope_theta": 10000.0, "vocab_size": V}
with tempfile.TemporaryDirectory() as tmp:
    genai_fixture.Builder(tiny, tiny_cfg, nbits=4, block=32, zero_points=True, rotary_in_attention=True).build(tmp)
    mb = open(os.path.join(tmp, "model.onnx"), "rb").read()
    ext = open(os.path.join(tmp, "model.onnx.data"), "rb").read()
put("fuzz_onnx", "genai-layout", struct.pack("<HI", 2, len(mb)) + b"{}" + mb + ext)
