#!/usr/bin/env python3
"""Aggregate generation throughput of `tern serve` with 1 and N concurrent streams (continuous batching).

Starts `tern serve` on loopback with --parallel N, then for each stream count sends that many /v1/completions
requests at once (ignore_eos, a fixed number of tokens each) and reports the tokens generated per second by
all of them together, best of --runs, and the ratio to one stream, all measured in the same run. Default model:
a 2B4T-shaped synthetic I2_S file with the Llama 3 vocabulary (written by `tern synth` if absent; random
weights, so only speed means anything). Not a test: a measurement for docs/benchmarks.md.

usage: scripts/bench_serve.py [--model M.gguf] [--streams 1,2,4] [--tokens 64] [--threads 2] [--runs 3]
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def completion(port, prompt, tokens):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"prompt": prompt, "max_tokens": tokens, "temperature": 0, "ignore_eos": True})
    c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    data = json.loads(r.read())
    c.close()
    if r.status != 200:
        sys.exit(f"bench_serve: HTTP {r.status}: {data}")
    return data["usage"]["completion_tokens"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tern", default=os.path.join(ROOT, "build/bin/tern"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models/bench/2b4t-i2_s.gguf"))
    ap.add_argument("--streams", default="1,2,4")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    streams = [int(s) for s in args.streams.split(",")]
    if not os.path.exists(args.model):
        vocab = os.path.join(ROOT, "..", "shared", "tokenizers", "llama3", "tokenizer.json")
        subprocess.run([args.tern, "synth", "--preset", "bitnet-2b4t", "--type", "i2_s", "--tokenizer", vocab,
                        "-o", args.model], check=True)
    proc = subprocess.Popen([args.tern, "serve", args.model, "--port", "0", "--parallel", str(max(streams)),
                             "--ctx", "512", "-t", str(args.threads)], stdout=subprocess.PIPE, text=True)
    try:
        m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
        if not m:
            sys.exit("bench_serve: tern serve did not start")
        port = int(m.group(1))
        completion(port, "Warm up", 4)
        results = {}
        for n in streams:
            best = 0.0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                with concurrent.futures.ThreadPoolExecutor(n) as pool:
                    total = sum(pool.map(lambda i: completion(port, f"Stream {i} says", args.tokens), range(n)))
                best = max(best, total / (time.perf_counter() - t0))
            results[n] = best
        print(f"| streams | aggregate tok/s (best of {args.runs}) | vs 1 stream |")
        print("|---|---|---|")
        for n in streams:
            print(f"| {n} | {results[n]:.1f} | {results[n] / results[streams[0]]:.2f}x |")
        print(f"\n{os.path.basename(args.model)}, {args.tokens} tokens per request, {args.threads} threads, "
              f"--parallel {max(streams)}; prefill of each prompt included")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
