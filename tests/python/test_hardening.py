#!/usr/bin/env python3
"""Hostile and careless input, one regression test per bug of the hardening issue: each gets a one-line error
naming the file and the problem and a non-zero exit (validate: its documented code), never a crash, a hang, a
thread storm or a half-written output set."""
import argparse
import json
import math
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import gguf_raw  # noqa: E402

ARGS = None
T = None  # gguf.GGUFValueType, once gguf is importable
_base = {}


def tern(*args, env_extra=None, timeout=120, **kw):
    env = dict(os.environ)
    env.update(env_extra or {})
    if "stdout" not in kw:
        kw["capture_output"] = True
    return subprocess.run([ARGS.tern, *args], text=True, timeout=timeout, env=env, **kw)


def tmp(name):
    return os.path.join(ARGS.tmp, "hardening_" + name)


def packed_checkpoint():
    return os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed")


def base_model():
    """kvs and tensors of the exported TinyStories GGUF (F16 projections, runnable, with its tokenizer)."""
    if not _base:
        out = tmp("export")
        shutil.rmtree(out, ignore_errors=True)
        r = tern("export", packed_checkpoint(), "-o", out)
        assert r.returncode == 0, r.stderr
        _base["path"] = os.path.join(out, "clean-f16.gguf")
        _base["kvs"], _base["tensors"] = gguf_raw.read_model(_base["path"])
    return [tuple(kv) for kv in _base["kvs"]], [dict(t) for t in _base["tensors"]]


def tensor(tensors, name):
    return next(t for t in tensors if t["name"] == name)


def with_f32_value(tensors, name, index, value):
    t = tensor(tensors, name)
    v = gguf_raw.f32_tensor_values(t)
    v[index] = value
    t["data"] = v.tobytes()
    return tensors


class OneLineError(unittest.TestCase):
    def assert_error(self, r, *fragments, code=1, huge_numbers_ok=False):
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for f in fragments:
            self.assertIn(f, lines[0])
        if not huge_numbers_ok:
            self.assertNotIn("18446744073", r.stderr)  # no wrapped negative numbers


class Gguf(OneLineError):
    def test_offset_near_2_pow_64_does_not_wrap_before_the_data(self):
        kvs, ts = base_model()
        p = gguf_raw.write(tmp("wrap.gguf"), kvs, ts)
        # Same file, one tensor's offset replaced by 2^64 - 32: data_start + offset wraps to 32 bytes before it.
        offsets, off = [], 0
        for t in ts:
            offsets.append(off)
            off += len(t["data"]) + (-len(t["data"]) % 32)
        offsets[1] = (1 << 64) - 32
        p = gguf_raw.write(tmp("wrap.gguf"), kvs, ts, offsets=offsets)
        for cmd in (["run", "-m", p, "-p", "x", "-n", "1"], ["inspect", p]):
            self.assert_error(tern(*cmd), p, ts[1]["name"], "runs past end of file", huge_numbers_ok=True)
        self.assertEqual(tern("validate", p).returncode, 13)

    def test_duplicate_tensor_names(self):
        kvs, ts = base_model()
        ts[5] = dict(ts[5], name=ts[4]["name"])
        p = gguf_raw.write(tmp("dup.gguf"), kvs, ts)
        self.assert_error(tern("inspect", p), p, "duplicate tensor name " + ts[4]["name"])

    def test_overlapping_tensor_data(self):
        kvs, ts = base_model()
        offsets, off = [], 0
        for t in ts:
            offsets.append(off)
            off += len(t["data"]) + (-len(t["data"]) % 32)
        offsets[3] = offsets[2]
        p = gguf_raw.write(tmp("overlap.gguf"), kvs, ts, offsets=offsets)
        self.assert_error(tern("inspect", p), p, "overlap")

    def test_metadata_count_zero_says_so(self):
        kvs, ts = base_model()
        p = gguf_raw.write(tmp("kv0.gguf"), kvs, ts, n_kv=0)
        self.assert_error(tern("inspect", p), p, "metadata count")

    def test_alignment_of_the_wrong_type(self):
        kvs, ts = base_model()
        p = gguf_raw.write(tmp("align.gguf"), gguf_raw.set_kv(kvs, "general.alignment", T.STRING, "32"), ts)
        self.assert_error(tern("inspect", p), p, "general.alignment must be an integer")

    def test_bitnet_cpp_tl2_type_is_named(self):
        kvs, ts = base_model()
        ts[4] = dict(ts[4], type=39)
        p = gguf_raw.write(tmp("tl2_39.gguf"), kvs, ts)
        self.assert_error(tern("inspect", p), p, ts[4]["name"], "bitnet.cpp's TL2")

    def test_impossible_hyper_parameters(self):
        kvs, ts = base_model()
        for key, value, what in (("bitnet.attention.layer_norm_rms_epsilon", float("nan"), "finite non-negative"),
                                 ("bitnet.attention.layer_norm_rms_epsilon", -1e-5, "finite non-negative"),
                                 ("bitnet.rope.freq_base", -10000.0, "finite positive"),
                                 ("bitnet.rope.freq_base", float("inf"), "finite positive")):
            p = gguf_raw.write(tmp("hparam.gguf"), gguf_raw.set_kv(kvs, key, T.FLOAT32, value), ts)
            self.assert_error(tern("run", "-m", p, "-p", "x", "-n", "1"), p, key, what)
        p = gguf_raw.write(tmp("hparam.gguf"), gguf_raw.set_kv(kvs, "bitnet.attention.head_count_kv", T.UINT32, 0), ts)
        self.assert_error(tern("run", "-m", p, "-p", "x", "-n", "1"), p, "head_count_kv")

    def test_negative_bos_id(self):
        kvs, ts = base_model()
        p = gguf_raw.write(tmp("bos.gguf"), gguf_raw.set_kv(kvs, "tokenizer.ggml.bos_token_id", T.INT32, -5), ts)
        self.assert_error(tern("run", "-m", p, "-p", "x", "-n", "1"), p, "bos_token_id = -5")

    def test_tokenizer_smaller_than_the_embedding(self):
        kvs, ts = base_model()
        out = []
        for k, t, v, e in kvs:
            if k in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
                v = v[:500]
            out.append((k, t, v, e))
        p = gguf_raw.write(tmp("vocab.gguf"), out, ts)
        for cmd in (["run", "-m", p, "-p", "x", "-n", "1"], ["manifest", p, "-o", tmp("v.json"), "--bench-tokens", "1"],
                    ["baseline", p, "-o", tmp("v.md"), "--max-tokens", "1"]):
            self.assert_error(tern(*cmd), p, "500 tokens", "512 rows")


class NonFinite(OneLineError):
    def test_nan_embedding(self):
        kvs, ts = base_model()
        p = gguf_raw.write(tmp("nan_embd.gguf"), kvs, with_f32_value(ts, "token_embd.weight", slice(None), float("nan")))
        # Greedy generation on NaN logits used to print nothing and exit 0.
        self.assert_error(tern("run", "-m", p, "-p", "Once upon a time", "-n", "4", "--temp", "0"), p, "NaN")
        self.assert_error(tern("run", "-m", p, "-p", "x", "-n", "4", "--check-tensors"), p, "token_embd.weight", "NaN")
        r = tern("validate", p)
        self.assertEqual(r.returncode, 13, r.stdout + r.stderr)
        self.assertIn("token_embd.weight", r.stderr)

    def test_inf_in_a_norm_is_13_not_11(self):
        kvs, ts = base_model()
        p = gguf_raw.write(tmp("inf_norm.gguf"), kvs, with_f32_value(ts, "blk.3.ffn_norm.weight", 7, float("inf")))
        r = tern("validate", p)
        self.assertEqual(r.returncode, 13, r.stdout + r.stderr)
        self.assertIn("blk.3.ffn_norm.weight", r.stderr)
        self.assertEqual(r.stderr.count(p), 1, r.stderr)  # the path once, not twice

    def test_nan_ternary_scale(self):
        kvs, ts = base_model()
        key = "tern.ternary_scale.blk.0.attn_q.weight"
        p = gguf_raw.write(tmp("nan_scale.gguf"), gguf_raw.set_kv(kvs, key, T.FLOAT32, float("nan")), ts)
        r = tern("validate", p)
        self.assertEqual(r.returncode, 13, r.stdout + r.stderr)
        self.assertIn(key, r.stderr)
        out = tmp("nan_scale_q")
        shutil.rmtree(out, ignore_errors=True)
        self.assert_error(tern("quantize", p, out, "--type", "i2_s"), key, "not a finite positive scale")
        self.assertFalse(os.path.exists(out) and os.listdir(out), "quantize left files behind")


def copy_checkpoint(name):
    d = tmp(name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(packed_checkpoint(), d)
    for name in os.listdir(d):  # ../shared is read-only; the copies are edited
        os.chmod(os.path.join(d, name), 0o644)
    return d


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def write_safetensors(path, header, data):
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def edit_config(d, **changes):
    p = os.path.join(d, "config.json")
    cfg = json.load(open(p))
    for k, v in changes.items():
        if v is None:
            cfg.pop(k, None)
        else:
            cfg[k] = v
    json.dump(cfg, open(p, "w"))


class SafeTensors(OneLineError):
    def run_model(self, d):
        return tern("run", "-m", d, "-p", "Once", "-n", "1")

    def test_index_cannot_name_a_file_outside_the_checkpoint(self):
        d = copy_checkpoint("escape/ckpt")
        other = tmp("escape/other")
        os.makedirs(other, exist_ok=True)
        shutil.move(os.path.join(d, "model.safetensors"), os.path.join(other, "model.safetensors"))
        header, _ = read_safetensors(os.path.join(other, "model.safetensors"))
        weight_map = {k: "../other/model.safetensors" for k in header if k != "__metadata__"}
        json.dump({"weight_map": weight_map}, open(os.path.join(d, "model.safetensors.index.json"), "w"))
        self.assert_error(self.run_model(d), "model.safetensors.index.json", "../other/model.safetensors",
                          "outside the checkpoint directory")
        weight_map = {k: "/etc/passwd" for k in weight_map}
        json.dump({"weight_map": weight_map}, open(os.path.join(d, "model.safetensors.index.json"), "w"))
        self.assert_error(self.run_model(d), "/etc/passwd", "outside the checkpoint directory")

    def test_overlapping_data_offsets(self):
        d = copy_checkpoint("st_overlap")
        p = os.path.join(d, "model.safetensors")
        header, data = read_safetensors(p)
        a, b = "model.layers.0.input_layernorm.weight", "model.layers.1.input_layernorm.weight"
        self.assertEqual(header[a]["shape"], header[b]["shape"])
        header[b]["data_offsets"] = header[a]["data_offsets"]
        write_safetensors(p, header, data)
        self.assert_error(self.run_model(d), p, "overlap")

    def test_packed_code_3_is_invalid(self):
        d = copy_checkpoint("st_code3")
        p = os.path.join(d, "model.safetensors")
        header, data = read_safetensors(p)
        begin = header["model.layers.2.mlp.up_proj.weight"]["data_offsets"][0]
        data = data[:begin + 5] + b"\xff" + data[begin + 6:]
        write_safetensors(p, header, data)
        self.assert_error(self.run_model(d), p, "model.layers.2.mlp.up_proj.weight", "code 3")

    def test_unknown_quantization_mode(self):
        d = copy_checkpoint("st_qmode")
        edit_config(d, quantization_config={"quant_method": "bitnet", "quantization_mode": "sideways"})
        self.assert_error(self.run_model(d), "config.json", "quantization_mode")

    def test_untied_without_lm_head(self):
        d = copy_checkpoint("st_untied")
        edit_config(d, tie_word_embeddings=False)
        self.assert_error(self.run_model(d), "config.json", "lm_head")

    def test_config_that_is_not_an_object(self):
        d = copy_checkpoint("st_list_config")
        open(os.path.join(d, "config.json"), "w").write("[]")
        self.assert_error(self.run_model(d), os.path.join(d, "config.json"), "JSON object")

    def test_numbers_that_are_not_unsigned_integers(self):
        # nlohmann's float -> integer conversion is undefined behaviour (found by fuzz_tokenizer_files).
        d = copy_checkpoint("st_float_shape")
        p = os.path.join(d, "model.safetensors")
        header, data = read_safetensors(p)
        header["model.norm.weight"]["shape"] = [1e300]
        write_safetensors(p, header, data)
        self.assert_error(self.run_model(d), p, "model.norm.weight", "not a non-negative integer")
        header["model.norm.weight"]["shape"] = [256]
        header["model.norm.weight"]["data_offsets"][1] = -1
        write_safetensors(p, header, data)
        self.assert_error(self.run_model(d), p, "model.norm.weight", "not a non-negative integer")
        t = tmp("float_id_tokenizer.json")
        json.dump({"model": {"type": "BPE", "vocab": {"a": 0, "b": 5.5e101}, "merges": []}}, open(t, "w"))
        self.assert_error(tern("run", "-m", packed_checkpoint(), "--tokenizer", t, "-p", "x"), t, "not an integer")

    def test_header_length_zero(self):
        d = copy_checkpoint("st_hlen0")
        p = os.path.join(d, "model.safetensors")
        data = open(p, "rb").read()
        open(p, "wb").write(struct.pack("<Q", 0) + data[8:])
        r = self.run_model(d)
        self.assert_error(r, p, "too short")
        self.assertNotIn("exceeds", r.stderr)


class Export(OneLineError):
    def assert_nothing_written(self, out):
        self.assertFalse(os.path.exists(out) and os.listdir(out), f"left behind: {os.listdir(out) if os.path.exists(out) else ''}")

    def export_fails(self, d, *fragments):
        out = tmp("export_fail_out")
        shutil.rmtree(out, ignore_errors=True)
        self.assert_error(tern("export", d, "-o", out), *fragments)
        self.assert_nothing_written(out)

    def test_missing_q_proj_of_one_layer(self):
        d = copy_checkpoint("ex_noq")
        p = os.path.join(d, "model.safetensors")
        header, data = read_safetensors(p)
        del header["model.layers.5.self_attn.q_proj.weight"], header["model.layers.5.self_attn.q_proj.weight_scale"]
        write_safetensors(p, header, data)
        self.export_fails(d, "cannot be written as a runnable model", "blk.5.attn_q.weight")

    def test_missing_embedding(self):
        d = copy_checkpoint("ex_noembd")
        p = os.path.join(d, "model.safetensors")
        header, data = read_safetensors(p)
        del header["model.embed_tokens.weight"]
        write_safetensors(p, header, data)
        self.export_fails(d, "token_embd.weight")

    def test_vocab_mismatch(self):
        d = copy_checkpoint("ex_vocab")
        edit_config(d, vocab_size=600)
        self.export_fails(d, "cannot be written as a runnable model")

    def test_bos_out_of_range(self):
        d = copy_checkpoint("ex_bos")
        edit_config(d, bos_token_id=9999)
        self.export_fails(d, "bos_token_id = 9999")

    def test_out_naming_a_file(self):
        f = tmp("a_file")
        open(f, "w").write("x")
        self.assert_error(tern("export", packed_checkpoint(), "-o", f), f, "not a directory")

    def test_quantize_given_a_checkpoint_directory(self):
        out = tmp("q_dir_out")
        shutil.rmtree(out, ignore_errors=True)
        self.assert_error(tern("quantize", packed_checkpoint(), out, "--type", "i2_s"), "is a directory")
        self.assert_nothing_written(out)

    def test_interrupted_export_leaves_nothing(self):
        # A model big enough that writing it takes a while: interrupt once the staging directory exists.
        src = tmp("big.gguf")
        if not os.path.exists(src):
            vocab = os.path.join(ARGS.shared, "tokenizers", "llamacpp-vocab", "ggml-vocab-llama-spm.gguf")
            r = tern("synth", "--preset", "bitnet-large", "--layers", "4", "--type", "f16", "--tokenizer", vocab,
                     "-o", src, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            out = tmp("interrupted")
            shutil.rmtree(out, ignore_errors=True)
            proc = subprocess.Popen([ARGS.tern, "export", src, "-o", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.time() + 120
            while time.time() < deadline and proc.poll() is None:
                if os.path.isdir(out) and any(n.startswith(".tern-partial") for n in os.listdir(out)):
                    break
                time.sleep(0.002)
            proc.send_signal(sig)
            proc.communicate(timeout=120)
            if proc.returncode == 0:
                self.skipTest("export finished before the signal arrived")
            self.assertEqual(proc.returncode, code)
            # The whole set or nothing (the signal may land just after the set was moved into place).
            left = sorted(os.listdir(out))
            self.assertIn(left, ([], ["clean-f16.fingerprint", "clean-f16.gguf", "clean-f16.meta.json"]),
                          "an interrupted export left a partial set")


class Options(OneLineError):
    def model(self):
        return packed_checkpoint()

    def test_thread_counts(self):
        for t in ("-1", "0", "100000", "99999999999999999999"):
            r = tern("run", "-m", self.model(), "-p", "x", "-n", "1", "--threads", t, timeout=30)
            self.assertEqual(r.returncode, 1, t)
            self.assertIn("threads", r.stderr)
        self.assert_error(tern("bench", "-m", self.model(), "-t", "100000", timeout=30), "--threads")

    def test_counts_cannot_wrap(self):
        m = self.model()
        for args, what in ((["run", "-m", m, "-p", "x", "-n", "-5"], "--n-predict"),
                           (["run", "-m", m, "-p", "x", "--ctx", "-1"], "--ctx"),
                           (["run", "-m", m, "-p", "x", "--top-k", "-3"], "--top-k"),
                           (["run", "-m", m, "-p", "x", "--top-p", "nan"], "--top-p"),
                           (["run", "-m", m, "-p", "x", "-ctk", "q4_0"], "--cache-type-k"),
                           (["run", "-m", m, "-p", "x", "--cache-type-v", ""], "--cache-type-v"),
                           (["bench", "-m", m, "-p", "-1"], "--n-prompt"),
                           (["bench", "-m", m, "-r", "0"], "--repetitions"),
                           (["manifest", m, "-o", tmp("m.json"), "--bench-tokens", "-1"], "--bench-tokens"),
                           (["baseline", m, "-o", tmp("b.md"), "--max-tokens", "-1"], "--max-tokens"),
                           (["validate", m, "--probe-tokens", "-1"], "--probe-tokens"),
                           (["synth", "--preset", "tiny", "--layers", "-1", "-o", tmp("s.gguf")], "--layers")):
            self.assert_error(tern(*args, timeout=30), what)

    def test_empty_names_are_not_defaults(self):
        self.assert_error(tern("run", "-m", "", "-p", "x"), "-m")
        self.assert_error(tern("run", "-m", self.model(), "--backend", "", "-p", "x"), "--backend")

    def test_tokenizer_json_with_a_negative_id(self):
        p = tmp("neg_tokenizer.json")
        json.dump({"model": {"type": "BPE", "vocab": {"a": 0, "b": -5}, "merges": []}}, open(p, "w"))
        self.assert_error(tern("run", "-m", self.model(), "--tokenizer", p, "-p", "x"), p, "token id -5 out of range")

    def test_tokenizer_that_is_a_directory(self):
        self.assert_error(tern("run", "-m", self.model(), "--tokenizer", self.model(), "-p", "x"), "is a directory")

    def test_full_stdout_is_an_error(self):
        with open("/dev/full", "w") as full:
            r = tern("run", "-m", self.model(), "-p", "Once", "-n", "4", "--temp", "0", stdout=full, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("stdout", r.stderr)

    def test_manifest_and_baseline_write_failures_say_why(self):
        base_model()
        blocker = tmp("a_plain_file")
        open(blocker, "w").write("x")
        out = os.path.join(blocker, "manifest.json")
        for cmd in (["manifest", _base["path"], "-o", out, "--bench-tokens", "0"],
                    ["baseline", _base["path"], "-o", out, "--max-tokens", "1"]):
            self.assert_error(tern(*cmd), out, "Not a directory")
        # A directory is a model (an export, a checkpoint) only when tern can read one there.
        empty = tmp("empty_dir")
        os.makedirs(empty, exist_ok=True)
        self.assert_error(tern("manifest", empty, "-o", tmp("m.json"), "--bench-tokens", "0"), empty)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tern", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--tmp", required=True)
    ARGS, rest = ap.parse_known_args()
    import gguf
    T = gguf.GGUFValueType
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
