#!/usr/bin/env python3
"""`tern export --format safetensors`: GGUF -> Hugging Face checkpoint directory, checked by independent readers.
PyPI safetensors reads the weights, PyPI gguf compares GGUF -> HF -> GGUF bit for bit, numpy checks the packed
2-bit layout and the q/k row order, PyPI tokenizers / sentencepiece tokenize with the tokenizer files tern wrote."""
import json
import os
import shutil
import subprocess
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import cli_test_main  # noqa: E402

ARGS = None
PROMPTS = ("Once upon a time", "One day, a little dog")
# The hyper-parameters of config.json that tern reads (arch.cpp's table).
HPARAMS = ("hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads", "num_key_value_heads",
           "vocab_size", "max_position_embeddings", "rope_theta", "rms_norm_eps")


def tern(*args, timeout=300):
    return subprocess.run([ARGS.tern, *args], capture_output=True, text=True, timeout=timeout)


def ok(*args):
    r = tern(*args)
    assert r.returncode == 0, f"tern {' '.join(args)}: {r.stderr}"
    return r.stdout


def greedy(model, prompt, n=30):
    # An F32 KV cache, as the expected outputs were made (see test_tooling.py's greedy).
    return ok("run", model, "-p", prompt, "-n", str(n), "--temp", "0", "--threads", "1", "-ctk", "f32", "-ctv", "f32")


def checkpoint(layout):
    return os.path.join(ARGS.shared, "models", f"bitnet-tinystories-3m-{layout}")


def out_dir(name):
    d = os.path.join(ARGS.tmp, "st_export", name)
    shutil.rmtree(d, ignore_errors=True)
    return d


def export(source, name, *extra, formats="safetensors"):
    d = out_dir(name)
    ok("export", source, "-o", d, "--format", formats, *extra)
    return d


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def bf16_tensor(path, name):
    """A BF16 tensor as float32, read from the file's own header (numpy has no bfloat16)."""
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        t = header[name]
        assert t["dtype"] == "BF16", t
        begin, end = t["data_offsets"]
        f.seek(8 + n + begin)
        raw = np.frombuffer(f.read(end - begin), dtype=np.uint16)
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(t["shape"])


def load_st(path):
    from safetensors.numpy import load_file
    return load_file(path)


def gguf_tensors(path):
    import gguf
    return {t.name: t for t in gguf.GGUFReader(path).tensors}


_packed_export = None


def packed_export():
    """The packed checkpoint exported to GGUF and to Hugging Face in one run (shared by several tests)."""
    global _packed_export
    if _packed_export is None:
        _packed_export = export(checkpoint("packed"), "packed", formats="gguf,safetensors")
    return _packed_export


class BitNetExport(unittest.TestCase):
    def test_packed_checkpoint_comes_back_as_it_was(self):
        d = packed_export()
        orig = load_st(os.path.join(checkpoint("packed"), "model.safetensors"))
        mine = load_st(os.path.join(d, "hf", "model.safetensors"))
        self.assertEqual(sorted(orig), sorted(mine))
        for name, want in orig.items():
            got = mine[name]
            self.assertEqual((got.dtype, got.shape), (want.dtype, want.shape), name)
            if name.endswith("weight_scale"):  # the same 1 / scale, the number both runtimes use
                self.assertEqual(np.float32(1) / got[0], np.float32(1) / want[0], name)
            else:
                self.assertTrue(np.array_equal(got, want), name)
        cfg = read_json(os.path.join(d, "hf", "config.json"))
        want_cfg = read_json(os.path.join(checkpoint("packed"), "config.json"))
        for key in HPARAMS + ("architectures", "model_type", "hidden_act", "tie_word_embeddings", "bos_token_id",
                              "eos_token_id"):
            self.assertEqual(cfg[key], want_cfg[key], key)
        self.assertEqual(cfg["quantization_config"]["quantization_mode"], "offline")

    def test_gguf_to_hf_to_gguf_is_bit_exact(self):
        clean = os.path.join(packed_export(), "clean-f16.gguf")
        hf = export(clean, "from_gguf")
        again = export(os.path.join(hf, "hf"), "back_to_gguf", formats="gguf")
        a, b = gguf_tensors(clean), gguf_tensors(os.path.join(again, "clean-f16.gguf"))
        self.assertEqual(sorted(a), sorted(b))
        for name in a:
            self.assertEqual(a[name].tensor_type, b[name].tensor_type, name)
            self.assertEqual(a[name].data.tobytes(), b[name].data.tobytes(), name)

    def test_i2s_model_runs_the_same_from_its_hf_export(self):
        d = packed_export()
        q = out_dir("i2s")
        ok("quantize", os.path.join(d, "clean-f16.gguf"), q, "--type", "i2_s")
        i2s = os.path.join(q, "clean-i2_s.gguf")
        hf = export(i2s, "from_i2s")
        for p in PROMPTS:
            self.assertEqual(greedy(os.path.join(hf, "hf"), p), greedy(i2s, p), p)

    def test_online_layout_gives_back_the_codes_and_scales(self):
        d = packed_export()
        online = export(os.path.join(d, "clean-f16.gguf"), "online", "--bitnet-layout", "online")
        cfg = read_json(os.path.join(online, "hf", "config.json"))
        self.assertEqual(cfg["quantization_config"]["quantization_mode"], "online")
        packed = load_st(os.path.join(checkpoint("packed"), "model.safetensors"))
        w = bf16_tensor(os.path.join(online, "hf", "model.safetensors"), "model.layers.0.mlp.up_proj.weight")
        scale = np.abs(w).mean()  # transformers' online rule: codes round(w / mean|w|), scale mean|w|
        codes = np.clip(np.round(w / scale), -1, 1)
        p = packed["model.layers.0.mlp.up_proj.weight"]
        unpacked = np.concatenate([((p >> (2 * j)) & 3).astype(np.int8) - 1 for j in range(4)], axis=0)
        self.assertTrue(np.array_equal(codes, unpacked))
        want = np.float32(1) / packed["model.layers.0.mlp.up_proj.weight_scale"][0]
        self.assertLess(abs(scale / want - 1), 1e-2)  # bf16 latent weights
        for prompt in PROMPTS:
            self.assertEqual(greedy(os.path.join(online, "hf"), prompt), greedy(checkpoint("packed"), prompt), prompt)

    def test_shards_and_index(self):
        d = export(checkpoint("packed"), "sharded", "--max-shard-size", "1")
        hf = os.path.join(d, "hf")
        index = read_json(os.path.join(hf, "model.safetensors.index.json"))
        shards = sorted(set(index["weight_map"].values()))
        self.assertGreaterEqual(len(shards), 2)
        self.assertFalse(os.path.exists(os.path.join(hf, "model.safetensors")))
        seen, total = {}, 0
        for s in shards:
            self.assertLessEqual(os.path.getsize(os.path.join(hf, s)), (1 << 20) + 65536)
            for name, t in load_st(os.path.join(hf, s)).items():
                self.assertEqual(index["weight_map"][name], s)
                seen[name] = t
                total += t.nbytes
        self.assertEqual(total, index["metadata"]["total_size"])
        whole = load_st(os.path.join(packed_export(), "hf", "model.safetensors"))
        self.assertEqual(sorted(seen), sorted(whole))
        for name in whole:
            self.assertTrue(np.array_equal(seen[name], whole[name]), name)
        self.assertEqual(greedy(hf, PROMPTS[0]), greedy(checkpoint("packed"), PROMPTS[0]))

    def test_sentencepiece_reads_the_tokenizer_model(self):
        import sentencepiece
        sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(packed_export(), "hf", "tokenizer.model"))
        for text in PROMPTS + ("Tom and Sue saw 3 birds!\n\nThey  ran.",):
            want = json.loads(ok("tokenize", checkpoint("packed"), "-p", text, "--ids", "--no-bos"))
            self.assertEqual(sp.encode(text), want, text)

    def test_tokenizers_reads_the_spm_tokenizer_json(self):
        """The same vocabulary in Hugging Face's form (merges from the scores): PyPI tokenizers encodes and
        decodes as SentencePiece and tern do, llama.cpp's SPM test text included."""
        import tokenizers
        tok = tokenizers.Tokenizer.from_file(os.path.join(packed_export(), "hf", "tokenizer.json"))
        vectors = os.path.join(ARGS.shared, "tokenizers", "llamacpp-vocab", "ggml-vocab-llama-spm.gguf.inp")
        with open(vectors, encoding="utf-8") as f:
            texts = f.read().split("\n__ggml_vocab_test__\n")
        for text in PROMPTS + ("Tom and Sue saw 3 birds!\n\nThey  ran.", "naïve café 🦙"):
            want = json.loads(ok("tokenize", checkpoint("packed"), "-p", text, "--ids", "--no-bos"))
            self.assertEqual(tok.encode(text, add_special_tokens=False).ids, want, text)
            self.assertEqual(tok.decode(want), text, text)
        self.assertEqual(tok.encode(PROMPTS[0]).ids[0], 1)  # BOS from the post-processor
        path = os.path.join(ARGS.tmp, "st_export", "spm_vectors.txt")
        for text in texts:
            if not text.strip("\n"):
                continue
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            want = json.loads(ok("tokenize", checkpoint("packed"), "-f", path, "--ids", "--no-bos"))
            self.assertEqual(tok.encode(text, add_special_tokens=False).ids, want, repr(text))


class LlamaExport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hf = os.path.join(export(ARGS.smollm2, "smollm2"), "hf")

    def test_qk_rows_back_in_rotate_half_order(self):
        import gguf
        from gguf.quants import dequantize
        r = gguf.GGUFReader(ARGS.smollm2)
        t = {x.name: x for x in r.tensors}
        cfg = read_json(os.path.join(self.hf, "config.json"))
        self.assertEqual(cfg["architectures"], ["LlamaForCausalLM"])
        mine = load_st(os.path.join(self.hf, "model.safetensors"))
        head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
        for gname, hname, heads in (("blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight", cfg["num_attention_heads"]),
                                    ("blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight", cfg["num_key_value_heads"]),
                                    ("blk.3.attn_v.weight", "model.layers.3.self_attn.v_proj.weight", 0)):
            w = dequantize(t[gname].data, t[gname].tensor_type).reshape(-1, cfg["hidden_size"])
            if heads:  # llama.cpp's converter: rows (h, i, j) of the HF weight went to (h, j, i); undo it
                w = w.reshape(heads, head_dim // 2, 2, -1).swapaxes(1, 2).reshape(w.shape)
            self.assertEqual(mine[hname].dtype, np.float32)
            self.assertTrue(np.array_equal(mine[hname], w), hname)

    def test_f16_round_trip_and_tokenizer_json(self):
        gguf_dir = export(self.hf, "smollm2_gguf", formats="gguf")
        hf2 = export(os.path.join(gguf_dir, "clean-f16.gguf"), "smollm2_hf2")
        gguf_dir2 = export(os.path.join(hf2, "hf"), "smollm2_gguf2", formats="gguf")
        a = gguf_tensors(os.path.join(gguf_dir, "clean-f16.gguf"))
        b = gguf_tensors(os.path.join(gguf_dir2, "clean-f16.gguf"))
        for name in a:
            self.assertEqual(a[name].data.tobytes(), b[name].data.tobytes(), name)
        self.assertEqual(load_st(os.path.join(hf2, "hf", "model.safetensors"))["model.embed_tokens.weight"].dtype,
                         np.float16)
        import tokenizers
        tok = tokenizers.Tokenizer.from_file(os.path.join(self.hf, "tokenizer.json"))
        vectors = os.path.join(ARGS.shared, "tokenizers", "llamacpp-vocab", "ggml-vocab-llama-spm.gguf.inp")
        with open(vectors, encoding="utf-8") as f:
            text = "\n".join(f.read().split("\n__ggml_vocab_test__\n"))
        path = os.path.join(ARGS.tmp, "st_export", "vectors.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        want = json.loads(ok("tokenize", ARGS.smollm2, "-f", path, "--ids", "--no-bos"))
        self.assertEqual(tok.encode(text, add_special_tokens=False).ids, want)
        tc = read_json(os.path.join(self.hf, "tokenizer_config.json"))
        self.assertIn("<|im_start|>", tc["chat_template"])
        self.assertEqual(tc["eos_token"], "<|im_end|>")


class ExportErrors(unittest.TestCase):
    def test_bad_options_say_so(self):
        d = out_dir("errors")
        for args, msg in ((["--format", "onnx2"], "unknown --format 'onnx2'"),
                          (["--format", "gguf,gguf"], "names gguf twice"),
                          (["--format", "safetensors", "--bitnet-layout", "both"], "--bitnet-layout 'both'"),
                          (["--format", "gguf", "--bitnet-layout", "online"], "applies to --format safetensors"),
                          (["--format", "safetensors", "--max-shard-size", "0"], "out of range")):
            r = tern("export", checkpoint("packed"), "-o", d, *args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(msg, r.stderr, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(d, "hf")))

    def test_export_again_replaces_the_checkpoint(self):
        d = export(checkpoint("packed"), "again")
        marker = os.path.join(d, "hf", "stale.txt")
        with open(marker, "w") as f:
            f.write("old")
        ok("export", checkpoint("packed"), "-o", d, "--format", "safetensors")
        self.assertFalse(os.path.exists(marker))
        self.assertTrue(os.path.exists(os.path.join(d, "hf", "model.safetensors")))
        self.assertEqual([n for n in os.listdir(d) if n.startswith(".")], [])


if __name__ == "__main__":
    cli_test_main.run(sys.modules[__name__], smollm2=True)
