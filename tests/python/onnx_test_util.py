"""Shared by the ONNX tests: tern's greedy run with its logits, and ONNX Runtime running a decoder directory the
way ONNX Runtime GenAI feeds it (all-ones attention mask, positions counted from 0, KV cache carried over)."""
import json
import os
import subprocess

import numpy as np


def tern(binary, *args, timeout=300):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)


def ok(binary, *args):
    r = tern(binary, *args)
    assert r.returncode == 0, f"tern {' '.join(args)}: {r.stderr}"
    return r.stdout


def tern_record(binary, tmp, model, prompt, n):
    """tern's greedy run: prompt ids, every step's logits, generated ids. The KV cache in F32, as ONNX Runtime
    holds it, so that only the graphs differ."""
    path = os.path.join(tmp, "logits.json")
    ok(binary, "run", model, "-p", prompt, "-n", str(n), "--temp", "0", "--threads", "1", "--logits-out", path,
       "-ctk", "f32", "-ctv", "f32")
    with open(path) as f:
        return json.load(f)


class OrtDecoder:
    """A decoder directory under ONNX Runtime (default session options). Feeds position_ids when the graph
    takes them."""

    def __init__(self, onnx_dir):
        import onnxruntime as ort
        with open(os.path.join(onnx_dir, "genai_config.json")) as f:
            dec = json.load(f)["model"]["decoder"]
        self.session = ort.InferenceSession(os.path.join(onnx_dir, "model.onnx"))
        self.positions = "position_ids" in [i.name for i in self.session.get_inputs()]
        self.layers, self.kv_heads, self.head = dec["num_hidden_layers"], dec["num_key_value_heads"], dec["head_size"]
        self.reset()

    def reset(self):
        self.past = {f"past_key_values.{i}.{kv}": np.zeros((1, self.kv_heads, 0, self.head), np.float32)
                     for i in range(self.layers) for kv in ("key", "value")}
        self.total = 0

    def feed(self, ids):
        """Logits of the last position after feeding `ids` on top of the cache."""
        feed = {"input_ids": np.array([ids], np.int64), "attention_mask": np.ones((1, self.total + len(ids)), np.int64),
                **self.past}
        if self.positions:
            feed["position_ids"] = np.arange(self.total, self.total + len(ids), dtype=np.int64)[None]
        self.total += len(ids)
        out = self.session.run(None, feed)
        names = [o.name for o in self.session.get_outputs()]
        self.past = {n.replace("present", "past_key_values"): v for n, v in zip(names[1:], out[1:])}
        return out[0][0, -1]
