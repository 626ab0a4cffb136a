#!/usr/bin/env python3
"""Black-box tests of the tern CLI: bad input gives one line on stderr and exit 1; plugin listing and skipping."""
import argparse
import os
import platform
import shutil
import struct
import subprocess
import sys
import unittest

ARGS = None


def tern(*args, env_extra=None, timeout=120):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([ARGS.tern, *args], capture_output=True, text=True, timeout=timeout, env=env)


class BadInput(unittest.TestCase):
    def assert_one_line_error(self, r, *fragments):
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for f in fragments:
            self.assertIn(f, lines[0])

    def write(self, name, data):
        p = os.path.join(ARGS.tmp, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def good_gguf(self):
        # A small valid GGUF written by the PyPI gguf package.
        import gguf
        import numpy as np
        p = os.path.join(ARGS.tmp, "cli_good.gguf")
        w = gguf.GGUFWriter(p, "llama")
        w.add_uint32("llama.block_count", 1)
        w.add_tensor("token_embd.weight", np.ones((8, 32), dtype=np.float32))
        w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
        return open(p, "rb").read()

    def test_truncated_gguf(self):
        p = self.write("cli_truncated.gguf", self.good_gguf()[:40])
        self.assert_one_line_error(tern("run", "-m", p, "-p", "hi"), p, "truncated")

    def test_wrong_magic(self):
        p = self.write("cli_magic.gguf", b"GGML" + self.good_gguf()[4:])
        self.assert_one_line_error(tern("run", "-m", p, "-p", "hi"), p, "wrong magic")

    def test_tensor_data_past_end(self):
        p = self.write("cli_short.gguf", self.good_gguf()[:-64])
        self.assert_one_line_error(tern("run", "-m", p, "-p", "hi"), p, "past end of file")

    def test_bad_safetensors_header(self):
        d = os.path.join(ARGS.tmp, "cli_bad_st")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        shutil.copy(os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed/config.json"), d)
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", 10) + b"{not json}")
        self.assert_one_line_error(tern("run", "-m", d, "-p", "hi"), "model.safetensors", "bad safetensors header")

    def test_missing_config_json(self):
        d = os.path.join(ARGS.tmp, "cli_no_config")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        shutil.copy(os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed/model.safetensors"), d)
        self.assert_one_line_error(tern("run", "-m", d, "-p", "hi"), d, "missing config.json")

    def test_missing_file(self):
        self.assert_one_line_error(tern("run", "-m", "/nonexistent/model.gguf", "-p", "x"), "/nonexistent/model.gguf")

    def test_model_without_architecture_tensors(self):
        p = self.write("cli_incomplete.gguf", self.good_gguf())
        self.assert_one_line_error(tern("run", "-m", p, "-p", "hi"), p)

    def test_unknown_backend(self):
        m = os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed")
        self.assert_one_line_error(tern("run", "-m", m, "--backend", "nope", "-p", "x"), "backend 'nope' not found")

    def test_bad_option(self):
        r = tern("run", "--no-such-flag")
        self.assertEqual(r.returncode, 1)

    def test_missing_format_plugins(self):
        m = os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed")
        exe_copy_dir = os.path.join(ARGS.tmp, "lonely_bin")
        shutil.rmtree(exe_copy_dir, ignore_errors=True)
        os.makedirs(exe_copy_dir)
        lonely = os.path.join(exe_copy_dir, "tern")
        shutil.copy(ARGS.tern, lonely)
        r = subprocess.run([lonely, "run", "-m", m, "-p", "x"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no usable backend plugin found", r.stderr)


class Backends(unittest.TestCase):
    def test_lists_plugins_and_choice(self):
        r = tern("backends")
        self.assertEqual(r.returncode, 0, r.stderr)
        for s in ["reference", "gguf", "safetensors", "chosen backend:", "features"]:
            self.assertIn(s, r.stdout)

    def test_skips_bad_plugins_with_reasons(self):
        r = tern("backends", env_extra={"TERN_PLUGIN_PATH": ARGS.test_plugins})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("skipped: ABI version 999", r.stdout)
        self.assertIn("skipped: CPU lacks quantum-ops", r.stdout)
        self.assertNotIn("chosen backend: bad-abi", r.stdout)
        self.assertNotIn("chosen backend: future-isa", r.stdout)

    @unittest.skipUnless(platform.machine() == "x86_64", "x86 plugins are built on x86-64 only")
    def test_x86_variant_follows_cpu_features(self):
        avx2 = "avx2 fma f16c"
        avx512 = avx2 + " avx512f avx512bw avx512vl avx512vnni"
        r = tern("backends", env_extra={"TERN_CPU_FEATURES": avx512})
        self.assertIn("chosen backend: x86-avx512", r.stdout)
        r = tern("backends", env_extra={"TERN_CPU_FEATURES": avx2})
        self.assertIn("chosen backend: x86-avx2", r.stdout)
        self.assertIn("skipped: CPU lacks avx512f avx512bw avx512vl avx512vnni", r.stdout)
        # AVX-512 without VNNI (e.g. Skylake-X) is not enough for the AVX-512 plugin.
        r = tern("backends", env_extra={"TERN_CPU_FEATURES": avx2 + " avx512f avx512bw avx512vl"})
        self.assertIn("chosen backend: x86-avx2", r.stdout)

    def test_cpu_without_features_falls_back_to_reference(self):
        r = tern("backends", env_extra={"TERN_CPU_FEATURES": ""})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("chosen backend: reference", r.stdout)


class Inspect(unittest.TestCase):
    def test_table_and_ternary_stats(self):
        m = os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed")
        r = tern("inspect", m)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"blk\.0\.attn_q\.weight\s+I2_S\s+\[256, 256\]\s+16416")
        import json
        r = tern("inspect", m, "--tensor", "blk.0.attn_q.weight", "--json")
        st = json.loads(r.stdout)
        self.assertAlmostEqual(st["frac_zero"] + st["frac_pm_one"], 1.0, places=6)
        self.assertTrue(0.2 < st["frac_zero"] < 0.5, st)
        self.assertEqual(st["nan"], 0)

    def test_ln_flags_norms_scaled_by_1_over_56(self):
        import gguf
        import numpy as np
        p = os.path.join(ARGS.tmp, "cli_ln.gguf")
        w = gguf.GGUFWriter(p, "llama")
        w.add_tensor("blk.0.attn_norm.weight", np.ones(64, dtype=np.float32))
        w.add_tensor("blk.0.ffn_norm.weight", np.ones(64, dtype=np.float32) / 56)
        w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
        r = tern("inspect", "--ln", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"blk\.0\.attn_norm\s+rms=1\.000\n")
        self.assertRegex(r.stdout, r"blk\.0\.ffn_norm\s+rms=0\.018\s+SUSPICIOUS")
        self.assertIn("1 suspicious norm weight(s)", r.stdout)


class Run(unittest.TestCase):
    def test_greedy_is_deterministic_and_reports_speed(self):
        m = os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed")
        a = tern("run", "-m", m, "-p", "Once upon a time", "-n", "20", "--temp", "0")
        b = tern("run", "-m", m, "-p", "Once upon a time", "-n", "20", "--temp", "0", "--threads", "1")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)
        self.assertTrue(a.stdout.startswith("Once upon a time, there was a little girl named Lily."), a.stdout)
        self.assertRegex(a.stderr, r"prompt \d+ tokens, [\d.]+ tok/s \| generation \d+ tokens, [\d.]+ tok/s")

    def test_sampling_with_seed_is_reproducible(self):
        m = os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-bf16")
        args = ["run", "-m", m, "-p", "One day", "-n", "20", "--temp", "0.9", "--top-k", "20", "--top-p", "0.9"]
        a, b = tern(*args, "--seed", "5"), tern(*args, "--seed", "5")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)

    def test_sharded_checkpoint_matches_single_file(self):
        # Split the packed checkpoint into two shards plus model.safetensors.index.json, by hand.
        import json
        src = os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed")
        raw = open(os.path.join(src, "model.safetensors"), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        header.pop("__metadata__", None)
        names = sorted(header)
        d = os.path.join(ARGS.tmp, "cli_sharded")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for f in ["config.json", "tokenizer.model", "tokenizer_config.json"]:
            shutil.copy(os.path.join(src, f), d)
        weight_map = {}
        for i, part in enumerate([names[: len(names) // 2], names[len(names) // 2:]]):
            fname = f"model-{i + 1:05d}-of-00002.safetensors"
            hdr, blobs, off = {}, [], 0
            for name in part:
                a, b = header[name]["data_offsets"]
                blobs.append(raw[8 + n + a: 8 + n + b])
                hdr[name] = {"dtype": header[name]["dtype"], "shape": header[name]["shape"], "data_offsets": [off, off + b - a]}
                off += b - a
                weight_map[name] = fname
            hb = json.dumps(hdr).encode()
            with open(os.path.join(d, fname), "wb") as f:
                f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f)
        args = ["-p", "Once upon a time", "-n", "24", "--temp", "0"]
        one, two = tern("run", "-m", src, *args), tern("run", "-m", d, *args)
        self.assertEqual(two.returncode, 0, two.stderr)
        self.assertEqual(one.stdout, two.stdout)

    def test_tokenizer_override(self):
        m = os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed")
        t = os.path.join(m, "tokenizer.model")
        r = tern("run", "-m", m, "--tokenizer", t, "-p", "Once upon a time", "-n", "8", "--temp", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("there was", r.stdout)


class Bench(unittest.TestCase):
    MODEL = property(lambda self: os.path.join(ARGS.shared, "models/bitnet-tinystories-3m-packed"))

    def bench_json(self, *args):
        import json
        r = tern("bench", "-m", self.MODEL, "--backend", "reference", "--json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_one_result_per_test_depth_and_thread_count(self):
        out = self.bench_json("-p", "4", "-n", "3", "-d", "0,8", "-t", "1,2", "-r", "2")
        got = [(x["threads"], x["test"], x["depth"]) for x in out["results"]]
        self.assertEqual(got, [(t, name, d) for t in (1, 2) for d, suffix in ((0, ""), (8, " @ d8"))
                               for name in ("pp4" + suffix, "tg3" + suffix)])
        for x in out["results"]:
            self.assertEqual(x["backend"], "reference")
            self.assertEqual(len(x["samples"]), 2)
            self.assertTrue(all(v > 0 for v in x["samples"]), x)
            self.assertAlmostEqual(x["tokens_per_sec"], sum(x["samples"]) / 2, delta=1e-9 * x["tokens_per_sec"])
        # A checkpoint directory: its size is its .safetensors files; the KV cache holds depth + tokens + 1.
        st = os.path.getsize(os.path.join(self.MODEL, "model.safetensors"))
        self.assertEqual(out["file_bytes"], st)
        no_depth = self.bench_json("-p", "4", "-n", "3", "-t", "1", "-r", "1")
        self.assertEqual(out["kv_cache_bytes"] * 5, no_depth["kv_cache_bytes"] * 13)  # 8 + 4 + 1 vs 4 + 1 positions
        self.assertGreater(out["peak_rss_bytes"], st)

    def test_every_pair_of_kv_cache_types(self):
        out = self.bench_json("-p", "0", "-n", "2", "-t", "1", "-r", "1", "-ctk", "f32,q8_0", "--cache-type-v", "f16")
        self.assertEqual([(x["type_k"], x["type_v"]) for x in out["results"]], [("f32", "f16"), ("q8_0", "f16")])
        # 8 layers x 3 positions x (keys + values) of 4 heads x 32: f32 512 bytes a row, f16 256, q8_0 4 x 34.
        self.assertEqual(out["kv_cache_bytes"], 8 * 3 * (512 + 256))

    def test_bandwidth_bound_is_bandwidth_over_bytes_per_token(self):
        out = self.bench_json("-p", "0", "-n", "2", "-t", "1", "-r", "1", "--bandwidth")
        (bw,) = out["bandwidth"]
        self.assertGreater(bw["read_bytes_per_sec"], 1e8)
        self.assertAlmostEqual(bw["tg_bound_tokens_per_sec"], bw["read_bytes_per_sec"] / out["weight_bytes_per_token"],
                               delta=1e-9 * bw["tg_bound_tokens_per_sec"])
        self.assertAlmostEqual(bw["tg_fraction_of_bound"], out["results"][0]["tokens_per_sec"] / bw["tg_bound_tokens_per_sec"],
                               delta=1e-9)

    def test_table_columns_line_up(self):
        r = tern("bench", "-m", self.MODEL, "--backend", "reference", "-p", "4", "-n", "2", "-t", "1", "-r", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line for line in r.stdout.splitlines() if line.startswith("|")]
        self.assertEqual(len(rows), 4, r.stdout)  # header, rule, pp4, tg2
        self.assertIn("±", rows[2])
        # Display columns (characters, not UTF-8 bytes) of every "|", the same on every line.
        bars = [[i for i, c in enumerate(line) if c == "|"] for line in rows]
        self.assertTrue(all(b == bars[0] for b in bars), r.stdout)

    def test_bad_lists_are_one_line_errors(self):
        for opt, value, fragment in (("-t", "0", "--threads"), ("-d", "3,x", "--depth"), ("-r", "0", "--repetitions"),
                                     ("-ctk", "f16,q4_0", "--cache-type-k"), ("--cache-type-v", "bf16", "--cache-type-v")):
            r = tern("bench", "-m", self.MODEL, opt, value)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn(fragment, r.stderr)


class Synth(unittest.TestCase):
    """tern synth: a GGUF that the PyPI gguf package reads as a bitnet model of the preset's shapes, ternary where it
    should be, with "no vocabulary" said the way llama.cpp loads (so llama-bench can run the same file)."""

    def test_tiny_preset_is_a_bitnet_gguf_others_read(self):
        import json

        import gguf
        import numpy as np
        p = os.path.join(ARGS.tmp, "synth_tiny_tq2_0.gguf")
        r = tern("synth", "--preset", "tiny", "--type", "tq2_0", "-o", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        g = gguf.GGUFReader(p)

        def field(name):
            f = g.fields[name]
            v = f.parts[f.data[0]]
            return bytes(v).decode() if f.types[0] == gguf.GGUFValueType.STRING else v[0]
        self.assertEqual(field("general.architecture"), "bitnet")
        self.assertEqual(field("tokenizer.ggml.model"), "no_vocab")  # the spelling bitnet.cpp accepts too
        for key, value in (("embedding_length", 256), ("block_count", 2), ("feed_forward_length", 512),
                           ("attention.head_count", 4), ("attention.head_count_kv", 2), ("vocab_size", 1000)):
            self.assertEqual(field("bitnet." + key), value, key)
        tensors = {t.name: t for t in g.tensors}
        self.assertEqual(len(tensors), 2 + 2 * 11)  # embeddings (tied), output norm; 4 norms + 7 projections a layer
        self.assertEqual(tensors["token_embd.weight"].tensor_type, gguf.GGMLQuantizationType.F16)
        for name, shape in (("attn_q", [256, 256]), ("attn_k", [256, 128]), ("ffn_up", [256, 512]),
                            ("ffn_down", [512, 256])):
            t = tensors[f"blk.1.{name}.weight"]
            self.assertEqual(t.tensor_type, gguf.GGMLQuantizationType.TQ2_0, name)
            self.assertEqual(list(t.shape), shape, name)
            # gguf's own TQ2_0 decoder: every weight is -d, 0 or d, with d = 1 / sqrt(k * 2/3) (in f16).
            w = np.abs(gguf.quants.dequantize(t.data, t.tensor_type)).ravel()
            d = np.float32(np.float16(1 / np.sqrt(shape[0] * 2 / 3)))
            self.assertEqual(set(np.unique(w).tolist()), {0.0, float(d)}, name)
        r = tern("bench", "-m", p, "--backend", "reference", "-p", "4", "-n", "2", "-t", "1", "-r", "1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        # A prompt token multiplies through every weight matrix but the LM head (the tied embeddings here), which
        # runs for the prompt's last token only.
        macs = sum(int(np.prod(t.shape)) for t in g.tensors if len(t.shape) == 2 and t.name != "token_embd.weight")
        self.assertEqual(macs, 2 * (2 * 256 * 256 + 2 * 256 * 128 + 3 * 256 * 512))
        self.assertEqual(json.loads(r.stdout)["matmul_macs_per_prompt_token"], macs)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--tern", required=True)
    p.add_argument("--shared", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--test-plugins", required=True)
    ARGS, rest = p.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v", *rest])
