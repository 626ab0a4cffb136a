"""Decoder LLMs in the layout ONNX Runtime GenAI's model builder writes, built with the PyPI `onnx` helper API
from float weights, as test fixtures for tern's ONNX reader. Nothing here comes from tern: the weights are read
with PyPI `gguf` / `safetensors`-format parsing in numpy, quantized to MatMulNBits by the rule ORT's quantizer
uses, and ONNX Runtime runs the result as the oracle.

The layout (per layer; the builder's node names):
  /model/layers.i/input_layernorm      SimplifiedLayerNormalization (layer 0) or SkipSimplifiedLayerNormalization
  /model/layers.i/attn/{q,k,v}_proj    MatMul on [K, N] float weights, or MatMulNBits (4-bit)
  /model/layers.i/attn/{q,k}_rotary    RotaryEmbedding (unless GroupQueryAttention applies RoPE: do_rotary=1)
  /model/layers.i/attn/GroupQueryAttention  with seqlens_k / total_sequence_length from attention_mask
  /model/layers.i/attn/o_proj, post_attention_layernorm (SkipSimplified...), mlp gate/up, SiLU as Sigmoid * x,
  down_proj; then a final SkipSimplifiedLayerNormalization and lm_head.
"""
import json
import os
import shutil
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"


# ---- weights ----
def read_safetensors(path):
    """name -> float32 array for F32 / F16 / BF16 tensors, uint8 for U8 (BitNet's packed codes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b0, b1 = t["data_offsets"]
        raw = data[b0:b1]
        if t["dtype"] == "BF16":
            a = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif t["dtype"] == "F16":
            a = np.frombuffer(raw, np.float16).astype(np.float32)
        elif t["dtype"] == "F32":
            a = np.frombuffer(raw, np.float32)
        elif t["dtype"] == "U8":
            a = np.frombuffer(raw, np.uint8)
        else:
            raise ValueError(f"{path}: {name} has dtype {t['dtype']}")
        out[name] = a.reshape(t["shape"])
    return out


def bitnet_online_weights(ckpt_dir):
    """The BitNet TinyStories bf16 checkpoint's real (ternary * absmean) weights in Hugging Face names and
    row order, and its config. The graph keeps llama's ops: BitNet's sub-norms and int8 activations have no
    counterpart in the builder's layout, so this is a llama-structured model over real trained weights."""
    with open(os.path.join(ckpt_dir, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(os.path.join(ckpt_dir, "model.safetensors"))
    out = {}
    for name, a in w.items():
        if name.endswith("_proj.weight"):
            g = np.abs(a).mean()
            a = (np.clip(np.round(a / g), -1, 1) * g).astype(np.float32)
        out[name] = a
    return out, cfg


def gguf_llama_weights(gguf_path):
    """A llama GGUF (PyPI gguf reads and dequantizes it) in Hugging Face names, q/k rows back in rotate-half
    order (GGUF stores them interleaved, as llama.cpp's converter permutes them)."""
    import gguf
    r = gguf.GGUFReader(gguf_path)

    def field(key):
        f = r.fields[key]
        v = f.parts[f.data[0]]
        return v.tobytes().decode() if f.types[0] == gguf.GGUFValueType.STRING else v.item()

    heads, kv_heads = field("llama.attention.head_count"), field("llama.attention.head_count_kv")
    cfg = {
        "hidden_size": field("llama.embedding_length"), "num_hidden_layers": field("llama.block_count"),
        "intermediate_size": field("llama.feed_forward_length"), "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "rms_norm_eps": field("llama.attention.layer_norm_rms_epsilon"),
        "rope_theta": field("llama.rope.freq_base"), "max_position_embeddings": field("llama.context_length"),
        "bos_token_id": field("tokenizer.ggml.bos_token_id"), "eos_token_id": field("tokenizer.ggml.eos_token_id"),
    }
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    per_layer = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
                 "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
                 "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    out = {}
    for t in r.tensors:
        a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape([int(d) for d in reversed(t.shape)])
        if t.name in names:
            out[names[t.name]] = a
            continue
        _, layer, role, _ = t.name.split(".")
        if role in ("attn_q", "attn_k"):  # undo llama.cpp's permute: rows (h, pair, 2) -> (h, 2, pair)
            n = heads if role == "attn_q" else kv_heads
            a = a.reshape(n, a.shape[0] // n // 2, 2, a.shape[1]).swapaxes(1, 2).reshape(a.shape)
        out[f"model.layers.{layer}.{per_layer[role]}.weight"] = a
    cfg["vocab_size"] = out["model.embed_tokens.weight"].shape[0]
    cfg["tie_word_embeddings"] = "lm_head.weight" not in out
    return out, cfg


# ---- MatMulNBits ----
def quantize_nbits(w, block, zero_points):
    """W [N, K] -> MatMulNBits' B [N, n_blocks, block / 2] (4-bit, element 2i in the low nibble), scales
    [N * n_blocks] and packed uint8 zero points [N * ceil(n_blocks / 2)] (or None: symmetric, zero point 8).
    K is zero-padded to whole blocks, as ORT's quantizer does."""
    n, k = w.shape
    nb = -(-k // block)
    wp = np.zeros((n, nb * block), np.float32)
    wp[:, :k] = w
    wb = wp.reshape(n, nb, block)
    if zero_points:
        lo = np.minimum(wb.min(axis=2), 0)
        hi = np.maximum(wb.max(axis=2), 0)
        scale = (hi - lo) / 15
        safe = np.where(scale == 0, 1, scale)
        zp = np.where(scale == 0, 8, np.clip(np.round(-lo / safe), 0, 15)).astype(np.int32)
    else:
        amax_idx = np.abs(wb).argmax(axis=2)
        mx = np.take_along_axis(wb, amax_idx[..., None], axis=2)[..., 0]
        scale = mx / -8
        safe = np.where(scale == 0, 1, scale)
        zp = np.full((n, nb), 8, np.int32)
    q = np.clip(np.round(wb / safe[..., None]) + zp[..., None], 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    zpb = None
    if zero_points:
        zpad = np.zeros((n, nb + nb % 2), np.uint8)
        zpad[:, :nb] = zp
        zpb = (zpad[:, 0::2] | (zpad[:, 1::2] << 4)).reshape(-1)
    return packed, scale.astype(np.float32).reshape(-1), zpb


class Builder:
    def __init__(self, weights, cfg, *, nbits=None, block=32, zero_points=False, rotary_in_attention=False):
        self.w, self.cfg = weights, cfg
        self.nbits, self.block, self.zp, self.rot_in_gqa = nbits, block, zero_points, rotary_in_attention
        self.nodes, self.inits = [], []

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, outputs, name, domain="", **attrs):
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, domain=domain, **attrs))
        return outputs[0]

    def linear(self, prefix, x, hf_weight, nbits=True):
        w = self.w[hf_weight]
        n, k = w.shape
        out = f"{prefix}/output_0"
        if self.nbits and nbits:
            b, s, z = quantize_nbits(w, self.block, self.zp)
            base = prefix.lstrip("/").replace("/", ".")
            ins = [x, self.init(base + ".weight_Q4", b), self.init(base + ".weight_scales", s)]
            if z is not None:
                ins.append(self.init(base + ".weight_zero_points", z))
            return self.node("MatMulNBits", ins, [out], prefix + "/MatMulNBits", MS, K=k, N=n, bits=4,
                             block_size=self.block, accuracy_level=0)
        base = prefix.lstrip("/").replace("/", ".")
        return self.node("MatMul", [x, self.init(base + ".weight", np.ascontiguousarray(w.T))], [out],
                         prefix + "/MatMul")

    def build(self, out_dir):
        c = self.cfg
        L, H, KV = c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"]
        D = c["hidden_size"] // H
        eps = float(c["rms_norm_eps"])
        ctx = c["max_position_embeddings"]
        inv = 1.0 / (float(c["rope_theta"]) ** (np.arange(0, D, 2, dtype=np.float32) / D))
        freqs = np.outer(np.arange(ctx, dtype=np.float32), inv)
        self.init("cos_cache", np.cos(freqs).astype(np.float32))
        self.init("sin_cache", np.sin(freqs).astype(np.float32))

        x = self.node("Gather", [self.init("model.embed_tokens.weight", self.w["model.embed_tokens.weight"]), "input_ids"],
                      ["/model/embed_tokens/Gather/output_0"], "/model/embed_tokens/Gather")
        m = "/model/attn_mask_reformat/attn_mask_subgraph"
        rs = self.node("ReduceSum", ["attention_mask", self.init(m + "/ReduceSum/Constant", np.array([1], np.int64))],
                       [m + "/ReduceSum/output_0"], m + "/ReduceSum", keepdims=0)
        sub = self.node("Sub", [rs, self.init(m + "/Sub/Constant", np.array(1, np.int64))], [m + "/Sub/output_0"], m + "/Sub")
        seqlens = self.node("Cast", [sub], [m + "/Sub/Cast/output_0"], m + "/Sub/Cast", to=TensorProto.INT32)
        shape = self.node("Shape", ["attention_mask"], [m + "/Shape/output_0"], m + "/Shape")
        tot = self.node("Gather", [shape, self.init(m + "/Gather/Constant", np.array(1, np.int64))],
                        [m + "/Gather/output_0"], m + "/Gather", axis=0)
        total = self.node("Cast", [tot], [m + "/Gather/Cast/output_0"], m + "/Gather/Cast", to=TensorProto.INT32)

        residual, pending = x, None
        for i in range(L):
            p = f"/model/layers.{i}"
            g = self.init(f"model.layers.{i}.input_layernorm.weight", self.w[f"model.layers.{i}.input_layernorm.weight"])
            if pending is None:
                h = self.node("SimplifiedLayerNormalization", [residual, g], [f"{p}/input_layernorm/output_0"],
                              f"{p}/input_layernorm/LayerNorm", epsilon=eps, axis=-1, stash_type=1)
            else:
                h = f"{p}/input_layernorm/output_0"
                res = f"{p}/input_layernorm/output_3"
                self.node("SkipSimplifiedLayerNormalization", [pending, residual, g], [h, "", "", res],
                          f"{p}/input_layernorm/SkipLayerNorm", MS, epsilon=eps)
                residual = res
            q = self.linear(f"{p}/attn/q_proj", h, f"model.layers.{i}.self_attn.q_proj.weight")
            k = self.linear(f"{p}/attn/k_proj", h, f"model.layers.{i}.self_attn.k_proj.weight")
            v = self.linear(f"{p}/attn/v_proj", h, f"model.layers.{i}.self_attn.v_proj.weight")
            if not self.rot_in_gqa:
                q = self.node("RotaryEmbedding", [q, "position_ids", "cos_cache", "sin_cache"], [f"{p}/attn/q_rotary/output_0"],
                              f"{p}/attn/q_rotary/RotaryEmbedding", MS, interleaved=0, num_heads=H)
                k = self.node("RotaryEmbedding", [k, "position_ids", "cos_cache", "sin_cache"], [f"{p}/attn/k_rotary/output_0"],
                              f"{p}/attn/k_rotary/RotaryEmbedding", MS, interleaved=0, num_heads=KV)
            gqa_in = [q, k, v, f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens, total]
            if self.rot_in_gqa:
                gqa_in += ["cos_cache", "sin_cache"]
            a = self.node("GroupQueryAttention", gqa_in,
                          [f"{p}/attn/GroupQueryAttention/output_0", f"present.{i}.key", f"present.{i}.value"],
                          f"{p}/attn/GroupQueryAttention", MS, num_heads=H, kv_num_heads=KV, scale=float(1 / np.sqrt(D)),
                          local_window_size=-1, do_rotary=int(self.rot_in_gqa), rotary_interleaved=0, softcap=0.0)
            o = self.linear(f"{p}/attn/o_proj", a, f"model.layers.{i}.self_attn.o_proj.weight")
            g = self.init(f"model.layers.{i}.post_attention_layernorm.weight",
                          self.w[f"model.layers.{i}.post_attention_layernorm.weight"])
            h2, res2 = f"{p}/post_attention_layernorm/output_0", f"{p}/post_attention_layernorm/output_3"
            self.node("SkipSimplifiedLayerNormalization", [o, residual, g], [h2, "", "", res2],
                      f"{p}/post_attention_layernorm/SkipLayerNorm", MS, epsilon=eps)
            residual = res2
            gate = self.linear(f"{p}/mlp/gate_proj", h2, f"model.layers.{i}.mlp.gate_proj.weight")
            up = self.linear(f"{p}/mlp/up_proj", h2, f"model.layers.{i}.mlp.up_proj.weight")
            sig = self.node("Sigmoid", [gate], [f"{p}/mlp/act_fn/Sigmoid/output_0"], f"{p}/mlp/act_fn/Sigmoid")
            act = self.node("Mul", [gate, sig], [f"{p}/mlp/act_fn/Mul/output_0"], f"{p}/mlp/act_fn/Mul")
            prod = self.node("Mul", [act, up], [f"{p}/mlp/Mul/output_0"], f"{p}/mlp/Mul")
            pending = self.linear(f"{p}/mlp/down_proj", prod, f"model.layers.{i}.mlp.down_proj.weight")
        p = f"/model/layers.{L}/final_norm_layernorm"
        g = self.init("model.norm.weight", self.w["model.norm.weight"])
        h = self.node("SkipSimplifiedLayerNormalization", [pending, residual, g], [p + "/output_0"],
                      p + "/SkipLayerNorm", MS, epsilon=eps)
        head = "lm_head.weight" if "lm_head.weight" in self.w else "model.embed_tokens.weight"
        self.w["lm_head.weight"] = self.w[head]
        self.linear("/lm_head", h, "lm_head.weight")
        self.nodes[-1].output[0] = "logits"

        f32, i64 = TensorProto.FLOAT, TensorProto.INT64
        inputs = [helper.make_tensor_value_info("input_ids", i64, ["batch_size", "sequence_length"]),
                  helper.make_tensor_value_info("attention_mask", i64, ["batch_size", "total_sequence_length"])]
        if not self.rot_in_gqa:
            inputs.append(helper.make_tensor_value_info("position_ids", i64, ["batch_size", "sequence_length"]))
        outputs = [helper.make_tensor_value_info("logits", f32, ["batch_size", "sequence_length", c["vocab_size"]])]
        for i in range(L):
            for kv in ("key", "value"):
                inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", f32,
                                                            ["batch_size", KV, "past_sequence_length", D]))
                outputs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", f32,
                                                             ["batch_size", KV, "total_sequence_length", D]))
        graph = helper.make_graph(self.nodes, "main_graph", inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(MS, 1)],
                                  producer_name="onnxruntime-genai")
        model.ir_version = 10
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        onnx.save_model(model, os.path.join(out_dir, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=1024)
        dec_inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask",
                      "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value"}
        if not self.rot_in_gqa:
            dec_inputs["position_ids"] = "position_ids"
        genai = {"model": {
            "bos_token_id": c.get("bos_token_id", 1), "eos_token_id": c.get("eos_token_id", 2),
            "pad_token_id": c.get("eos_token_id", 2), "context_length": ctx, "vocab_size": c["vocab_size"], "type": "llama",
            "decoder": {"session_options": {"log_id": "onnxruntime-genai", "provider_options": []}, "filename": "model.onnx",
                        "head_size": D, "hidden_size": c["hidden_size"], "num_attention_heads": H,
                        "num_hidden_layers": L, "num_key_value_heads": KV, "inputs": dec_inputs,
                        "outputs": {"logits": "logits", "present_key_names": "present.%d.key",
                                    "present_value_names": "present.%d.value"}}},
            "search": {"max_length": ctx, "do_sample": False}}
        with open(os.path.join(out_dir, "genai_config.json"), "w") as f:
            json.dump(genai, f, indent=4)
        return out_dir


def build(weights, cfg, out_dir, tokenizer_dir, **options):
    """Writes the fixture directory: model.onnx + model.onnx.data, genai_config.json and the tokenizer files
    found in `tokenizer_dir` (no config.json, as the builder writes none)."""
    Builder(dict(weights), cfg, **options).build(out_dir)
    for name in ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(tokenizer_dir, name)):
            shutil.copy(os.path.join(tokenizer_dir, name), out_dir)
    return out_dir
