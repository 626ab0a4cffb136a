#!/usr/bin/env bash
# Regenerates docs/benchmarks.md: synthetic BitNet b1.58 2B4T-sized models in each ternary type (and F16), measured
# by `tern bench` at 1 and 2 threads, with this machine's read bandwidth and the generation bound it implies.
# Usage: scripts/bench_report.sh [build dir]   (models go to models/bench/, which git ignores)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TERN=$BUILD/bin/tern
MODELS=models/bench
OUT=docs/benchmarks.md
RAW=$(mktemp -d)
trap 'rm -rf "$RAW"' EXIT
mkdir -p "$MODELS"

# The best x86 plugin this CPU can run (x86-avx512 needs AVX-512 F/BW/VL + VNNI, x86-amx AMX-INT8 on top).
usable() { "$TERN" backends | grep -Eq "^backend +$1 +[0-9]+ +usable"; }
X86=x86-avx2
usable x86-avx512 && X86=x86-avx512
usable x86-amx && X86=x86-amx
# type, backend, prompt tokens, generated tokens, repetitions
RUNS=(
  "i2_s $X86 128 64 3"
  "tl2 $X86 128 64 3"
  "tq2_0 $X86 128 64 3"
  "tq1_0 $X86 64 32 2"
  "tq1_0 $X86 64 32 2 --no-repack"
  "f16 $X86 32 16 1"
  "i2_s reference 8 4 1"
)
# On AMX machines the VNNI tiles too (x86-avx512: the same decode kernels, VNNI prefill), against their ceiling.
if [[ $X86 == x86-amx ]]; then
  RUNS+=("i2_s x86-avx512 128 64 3" "tq2_0 x86-avx512 128 64 3" "tq1_0 x86-avx512 64 32 2")
fi
for run in "${RUNS[@]}"; do
  read -r type backend pp tg reps flags <<<"$run"
  model=$MODELS/2b4t-$type.gguf
  [[ -f $model ]] || "$TERN" synth --preset bitnet-2b4t --type "$type" -o "$model" >&2
  echo "bench: $type on $backend (pp$pp, tg$tg) $flags" >&2
  # shellcheck disable=SC2086 # flags: none or --no-repack
  "$TERN" bench -m "$model" --backend "$backend" -p "$pp" -n "$tg" -t 1,2 -r "$reps" --bandwidth --json $flags \
    >"$RAW/$type-$backend${flags:+-as-stored}.json"
done
# Prefill through our kernels (TERN_ONEDNN=0) against oneDNN's GEMM for every batch (TERN_ONEDNN=1).
mkdir -p "$RAW/onednn"
for run in "i2_s 128" "f16 32"; do
  read -r type pp <<<"$run"
  for mode in 0 1; do
    echo "bench: $type pp$pp with TERN_ONEDNN=$mode" >&2
    TERN_ONEDNN=$mode "$TERN" bench -m "$MODELS/2b4t-$type.gguf" --backend "$X86" -p "$pp" -n 0 -t 2 -r 2 --json \
      >"$RAW/onednn/$type-$mode.json"
  done
done

# The most int8 multiply-adds per second this CPU does with each plugin's prefill instructions (on registers
# only), best of five, at 1 and 2 threads: what bounds prefill. Those the CPU lacks report an error and are left
# out.
mkdir -p "$RAW/ceiling"
echo "bench: BM_MultiplyAddCeiling*" >&2
"$BUILD/bin/bench_x86_kernels" --benchmark_filter="^BM_MultiplyAddCeiling" --benchmark_repetitions=5 \
  --benchmark_format=json >"$RAW/ceiling/multiply_add.json"

# Generation at a long context (attention over 1024 and 4096 cached tokens), 2 threads, for each KV cache type
# (keys and values in the same type).
mkdir -p "$RAW/depth"
for kv in f32 f16 q8_0; do
  echo "bench: i2_s tg32 at depths 0, 1024 and 4096, KV cache $kv" >&2
  "$TERN" bench -m "$MODELS/2b4t-i2_s.gguf" --backend "$X86" -p 0 -n 32 -d 0,1024,4096 -t 2 -r 2 -ctk $kv -ctv $kv \
    --json >"$RAW/depth/i2_s-$kv.json"
done

# The default model (scripts/setup.sh fetches it): llama architecture, Q4_1 projections, Q8_0 embeddings.
SMOL=models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$RAW/smollm2"
if [[ -f $SMOL ]]; then
  for backend in "$X86" reference; do
    echo "bench: SmolLM2 on $backend" >&2
    "$TERN" bench -m "$SMOL" --backend "$backend" -p 128 -n 64 -t 1,2 -r 2 --bandwidth --json >"$RAW/smollm2/$backend.json"
  done
fi

# llama.cpp on the same files (TQ2_0 / TQ1_0 are its ternary types; it has no I2_S or TL2) and the default model,
# if scripts/build_llama_cpp.sh has built its llama-bench (or LLAMA_BENCH names one).
LLAMA_BENCH=${LLAMA_BENCH:-build-llama.cpp/build/bin/llama-bench}
mkdir -p "$RAW/llama.cpp"
if [[ -x $LLAMA_BENCH ]]; then
  # llama.cpp has no bitnet-b1.58 (relu²) graph: it gets the same weights under `bitnet` (tern synth --arch).
  for type in tq2_0 tq1_0; do
    model=$MODELS/2b4t-$type-as-bitnet.gguf
    [[ -f $model ]] || "$TERN" synth --preset bitnet-2b4t --arch bitnet --type "$type" -o "$model" >&2
  done
  for run in "$MODELS/2b4t-tq2_0-as-bitnet.gguf 128 64 3" "$MODELS/2b4t-tq1_0-as-bitnet.gguf 64 32 2" "$SMOL 128 64 2"; do
    read -r model pp tg reps <<<"$run"
    [[ -f $model ]] || continue
    echo "bench: llama.cpp on $model" >&2
    out=$RAW/llama.cpp/$(basename "$model" .gguf).json
    if ! "$LLAMA_BENCH" -m "$model" -p "$pp" -n "$tg" -t 1,2 -r "$reps" -o json >"$out" 2>"$RAW/llama.cpp/stderr"; then
      # Synthetic files written before tern synth said "no vocabulary" (tokenizer.ggml.model) fail to load.
      echo "bench: llama.cpp failed on $model, left out: $(tail -n 1 "$RAW/llama.cpp/stderr")" >&2
      rm -f "$out"
    fi
  done
fi

# Arm: llvm-mca cycles of the Arm plugins' hot loops on Arm core models (modelled: no Arm machine here, and qemu's
# wall time means nothing), if the cross compiler and llvm-mca are installed.
if command -v aarch64-linux-gnu-g++ >/dev/null && command -v llvm-mca >/dev/null; then
  python3 scripts/mca_kernels.py --arch aarch64 >"$RAW/arm_mca.md"
fi
# RISC-V: the same for the rvv plugin on RISC-V vector core models, if llvm-mca-19 and the riscv64 sysroot
# (scripts/riscv64_deps.sh) are there.
if command -v llvm-mca-19 >/dev/null && [[ -d build-riscv64-deps/sysroot ]]; then
  python3 scripts/mca_kernels.py --arch riscv64 >"$RAW/riscv_mca.md"
fi

python3 - "$RAW" "$OUT" "$(git rev-parse --short HEAD)" <<'PY'
import glob, json, os, platform, sys, datetime
raw, out, commit = sys.argv[1:4]
runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(raw, "*.json")))]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
lines = [
    "# Benchmarks: BitNet b1.58 2B4T-sized synthetic models",
    "",
    f"Generated by `scripts/bench_report.sh` on {datetime.date.today()} at commit `{commit}`; machine: {cpu}, "
    f"{os.cpu_count()} cores. Models: `tern synth --preset bitnet-2b4t` (2560 hidden, 30 layers, 20/5 heads, FFN 6912, "
    "vocab 128256, relu², random ternary projections, F16 tied embeddings). The machine is shared: compare numbers "
    "within one report, not across reports.",
    "",
    "**Bound**: bytes of weights read per generated token (every projection and norm plus the whole F16 LM head) "
    "divided by the read bandwidth `tern bench --bandwidth` measured in the same run with the same thread count.",
    "",
    "Targets (issue 3): generation at >= 85% of the bound for I2_S / TL2, and prompt processing >= 10x generation "
    "per token. The reference rows show what the x86 kernels gain. The x86 rows use the best x86 plugin this CPU "
    "can load: `x86-amx` (AMX-INT8 prefill on top of x86-avx512) where it exists, then `x86-avx512` (AVX-512 "
    "F/BW/VL + VNNI), otherwise `x86-avx2`; the backend column says which (on AMX machines x86-avx512 runs the "
    "ternary types too, for its VNNI prefill). `bench_x86_kernels` compares the plugins' kernels "
    "(BM_MatmulAvx2, BM_MatmulAvx512Vnni, BM_MatmulAmx) on CPUs that have them. TQ1_0 runs from the 2-bit "
    "codes the plugins write at load (docs/backends.md, 'Weights rewritten at load': same output, 22% more memory "
    "for those weights); the `TQ1_0 as stored` rows run the file's base-3 bytes (`--no-repack`).",
    "",
    "| weights | backend | threads | pp t/s | tg t/s | tg bound t/s | tg / bound | pp / tg |",
    "|---|---|---|---|---|---|---|---|",
]
def pp_tg_by_threads(runs):
    """(run, its bandwidth entry, pp result, tg result) for every run and thread count that measured both."""
    for r in runs:
        for bw in r["bandwidth"]:
            pp = [x for x in r["results"] if x["threads"] == bw["threads"] and x["test"].startswith("pp")]
            tg = [x for x in r["results"] if x["threads"] == bw["threads"] and x["test"].startswith("tg")]
            if pp and tg:
                yield r, bw, pp[0], tg[0]
def weights(result):
    """The weight type, and "as stored" for a run with --no-repack (TQ1_0 otherwise runs from 2-bit codes)."""
    return result["model"].split()[-1] + (" as stored" if result.get("weight_layout") == "file" else "")
def speed_rows(runs):
    return [f"| {weights(pp)} | {pp['backend']} | {bw['threads']} | {pp['tokens_per_sec']:.2f} ({pp['test']}) | "
            f"{tg['tokens_per_sec']:.2f} ({tg['test']}) | {bw['tg_bound_tokens_per_sec']:.2f} | "
            f"{100 * bw['tg_fraction_of_bound']:.0f}% | {pp['tokens_per_sec'] / tg['tokens_per_sec']:.1f}x |"
            for _, bw, pp, tg in pp_tg_by_threads(runs)]
lines += speed_rows(runs)
ceilings = {}  # benchmark name -> threads -> MAC/s
for b in json.load(open(os.path.join(raw, "ceiling", "multiply_add.json")))["benchmarks"]:
    if b.get("run_type", "iteration") == "iteration" and "MAC/s" in b and not b.get("error_occurred"):
        c = ceilings.setdefault(b["name"].split("/")[0], {})
        c[b["threads"]] = max(c.get(b["threads"], 0), b["MAC/s"])
ceiling_of = {"x86-avx2": "BM_MultiplyAddCeilingAvx2", "x86-avx512": "BM_MultiplyAddCeilingAvx512Vnni",
              "x86-amx": "BM_MultiplyAddCeilingAmx"}
macs = next(r["matmul_macs_per_prompt_token"] for r in runs)
lines += ["", f"Prefill against this CPU's arithmetic: a prompt token takes {macs / 1e9:.2f} G multiply-adds in the "
          "weight matrices (`tern bench --json`: `matmul_macs_per_prompt_token`; the LM head runs for a prompt's "
          "last token only). `bench_x86_kernels` BM_MultiplyAddCeiling* runs each plugin's prefill int8 multiply-add "
          "instructions (vpmaddubsw for x86-avx2, vpdpbusd for x86-avx512, tdpbsud tiles for x86-amx) on registers "
          "only (no loads, decoding or reductions; best of 5): "
          + "; ".join(f"{name[len('BM_MultiplyAddCeiling'):]} "
                      + ", ".join(f"{c[t] / 1e9:.0f} G/s at {t} thread{'s' * (t > 1)}" for t in sorted(c))
                      for name, c in ceilings.items())
          + ". No multiply-add kernel can prefill faster than its rate divided by the multiply-adds per token "
          "(the pp ceiling), so the pp ceiling divided by the generation bound is the largest prefill / generation "
          "ratio this machine allows, whatever the kernels. TL2 prefills through table lookups, which this ceiling "
          "does not bound, but its tiles are slower than I2_S's (above).", "",
          "| weights | backend | threads | pp t/s | pp ceiling t/s | pp / ceiling | pp ceiling / tg bound |",
          "|---|---|---|---|---|---|---|"]
for r, bw, pp, _ in pp_tg_by_threads(runs):
    if pp["backend"] == "reference" or pp["model"].split()[-1] not in ("I2_S", "TQ2_0", "TQ1_0"):
        continue
    c = ceilings.get(ceiling_of.get(pp["backend"], ""), {})
    if bw["threads"] not in c:
        continue
    th, pp_ceiling = bw["threads"], c[bw["threads"]] / r["matmul_macs_per_prompt_token"]
    lines.append(f"| {weights(pp)} | {pp['backend']} | {th} | {pp['tokens_per_sec']:.2f} ({pp['test']}) | "
                 f"{pp_ceiling:.2f} | {100 * pp['tokens_per_sec'] / pp_ceiling:.0f}% | "
                 f"{pp_ceiling / bw['tg_bound_tokens_per_sec']:.1f}x |")
lines += ["", "Prefill, 2 threads: our kernels (`TERN_ONEDNN=0`) against oneDNN's GEMM (`TERN_ONEDNN=1`). By default "
          "the x86 plugin uses oneDNN for float batches of 4 tokens or more, where `bench_x86_kernels` "
          "(BM_MatmulAvx2 vs BM_MatmulOneDnn) shows it faster, and never for I2_S, where our 2-row x 4-token "
          "register tiles beat it at every batch size (oneDNN needs the 2-bit codes unpacked to bytes first). "
          "TL2 and TQ types always use our kernels (oneDNN's GEMM needs per-tensor scales and would need the "
          "weights unpacked).", "",
          "| weights | test | our kernels t/s | oneDNN t/s |", "|---|---|---|---|"]
for type_ in ("i2_s", "f16"):
    mode = {m: json.load(open(os.path.join(raw, "onednn", f"{type_}-{m}.json")))["results"][0] for m in ("0", "1")}
    lines.append(f"| {mode['0']['model'].split()[-1]} | {mode['0']['test']} | {mode['0']['tokens_per_sec']:.2f} | "
                 f"{mode['1']['tokens_per_sec']:.2f} |")
smol = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(raw, "smollm2", "*.json")))]
if smol:
    lines += ["", "The default model, SmolLM2-135M-Instruct (Q4_1 projections, Q8_0 tied embeddings, 97 MB read per token), "
              "same columns. The x86 plugin decodes it against int16 activations (one integer multiply-add per 16 "
              "weights; logits within 5e-4 of the reference's RMS, against about 1e-2 for llama.cpp's 8-bit ones). "
              "Its Q4_1 dot is still compute-bound (`bench_x86_kernels`: about 15 GB/s in cache), so it stays short "
              "of its bound.", "", "| weights | backend | threads | pp t/s | tg t/s | tg bound t/s | tg / bound | pp / tg |",
              "|---|---|---|---|---|---|---|---|"] + speed_rows(smol)
depth = {kv: {x["depth"]: x["tokens_per_sec"]
              for x in json.load(open(os.path.join(raw, "depth", f"i2_s-{kv}.json")))["results"]}
         for kv in ("f32", "f16", "q8_0")}
depths = sorted(depth["f32"])
lines += ["", "Generation at a long context, I2_S, 2 threads: tg32 with 0, 1024 and 4096 tokens already in the KV "
          "cache (`tern bench -d`), for each KV cache type (`-ctk` / `-ctv`; F16 is the default). Attention reads the "
          "cached keys and values in their type; the x86 plugin vectorizes it bit-identically to the reference "
          "(`bench_x86_kernels` BM_AttentionAvx2 for each type vs BM_AttentionReference). The last columns are "
          "generation at depth over generation at depth 0 with the same cache.", "",
          "| KV cache | " + " | ".join(f"tg32 @ d{d} t/s" for d in depths) + " | "
          + " | ".join(f"d{d} / d0" for d in depths[1:]) + " |",
          "|---|" + "---|" * (2 * len(depths) - 1)]
for kv, by_depth in depth.items():
    lines.append(f"| {kv} | " + " | ".join(f"{by_depth[d]:.2f}" for d in depths) + " | "
                 + " | ".join(f"{by_depth[d] / by_depth[0]:.0%}" for d in depths[1:]) + " |")
# llama.cpp ran the 2B4T weights written as `bitnet` ("-as-bitnet"): they pair with tern's runs of the same weights.
llama = {os.path.basename(p)[:-5].replace("-as-bitnet", ""): json.load(open(p))
         for p in sorted(glob.glob(os.path.join(raw, "llama.cpp", "*.json")))}
if llama:
    # Each file's run on the best x86 plugin measured (on AMX machines x86-avx512 ran the same files too).
    rank = {"x86-avx2": 1, "x86-avx512": 2, "x86-amx": 3}
    tern_runs = {}
    for r in sorted((r for r in runs + smol if r["results"][0]["backend"] != "reference"
                     and r["results"][0].get("weight_layout") != "file"),
                    key=lambda r: rank.get(r["results"][0]["backend"], 0)):
        tern_runs[os.path.basename(r["results"][0]["file"])[:-5]] = r["results"]
    lines += ["", f"llama.cpp (build {llama[next(iter(llama))][0].get('build_commit', '?')}, the sources the "
              "llama-cpp-python sdist on PyPI vendors, CPU backend built for this CPU by `scripts/build_llama_cpp.sh`): "
              "`llama-bench` on the same files in the same run, against the x86 rows above. TQ2_0 and TQ1_0 are "
              "llama.cpp's ternary types; it has no I2_S or TL2. llama.cpp has no relu² BitNet graph (`bitnet-b1.58`), so it "
              "runs the same weights written as `bitnet` (`tern synth --arch bitnet`): SiLU where tern applies relu² "
              "(one elementwise op per FFN row; the matmuls, which are the time, are the same). bitnet.cpp is neither on PyPI nor in Debian, so it is not measured here.", "",
              "| model | weights | threads | test | llama.cpp t/s | tern t/s | tern / llama.cpp |", "|---|---|---|---|---|---|---|"]
    def llama_test(e):
        return f"pp{e['n_prompt']}" if e["n_gen"] == 0 else f"tg{e['n_gen']}"

    def tern_speed(name, threads, test):
        found = [x for x in tern_runs.get(name, []) if x["threads"] == threads and x["test"] == test]
        return found[0] if found else None
    for name, entries in llama.items():
        for e in entries:
            ours = tern_speed(name, e["n_threads"], llama_test(e))
            if ours:
                t = ours["tokens_per_sec"]
                lines.append(f"| {name} | {ours['model'].split()[-1]} | {e['n_threads']} | {llama_test(e)} | "
                             f"{e['avg_ts']:.2f} | {t:.2f} | {t / e['avg_ts']:.2f}x |")
    # What a user picks between: each runtime's fastest ternary type for the same model.
    best = []
    for e in llama.get("2b4t-tq2_0", []):
        i2s, tl2 = (tern_speed(n, e["n_threads"], llama_test(e)) for n in ("2b4t-i2_s", "2b4t-tl2"))
        if i2s and tl2:
            i2s, tl2 = i2s["tokens_per_sec"], tl2["tokens_per_sec"]
            best.append(f"| {e['n_threads']} | {llama_test(e)} | {e['avg_ts']:.2f} | {i2s:.2f} | {tl2:.2f} | "
                        f"{max(i2s, tl2) / e['avg_ts']:.2f}x |")
    if best:
        lines += ["", "Each runtime's own ternary format for the 2B4T shape: llama.cpp's TQ2_0 against tern's I2_S and "
                  "TL2 (the files above: one shape, in three packings).", "",
                  "| threads | test | llama.cpp TQ2_0 t/s | tern I2_S t/s | tern TL2 t/s | faster tern / llama.cpp |",
                  "|---|---|---|---|---|---|"] + best
lines += ["", "| weights | file | weights read per token | read bandwidth 1 / 2 threads | peak RSS / (file + KV cache) |",
          "|---|---|---|---|---|"]
for r in runs:
    name = weights(r["results"][0]) + " (" + r["results"][0]["backend"] + ")"
    bws = " / ".join(f"{b['read_bytes_per_sec'] / 1e9:.1f} GB/s" for b in r["bandwidth"])
    lines.append(f"| {name} | {r['file_bytes'] / 2**30:.2f} GiB | {r['weight_bytes_per_token'] / 1e6:.0f} MB | {bws} | "
                 f"{r['peak_rss_over_file_plus_kv']:.3f} |")
arm_mca = os.path.join(raw, "arm_mca.md")
if os.path.exists(arm_mca):
    lines += ["", "## Arm: modelled, not measured", "",
              "No Arm machine ran these. Below are llvm-mca's predicted cycles per iteration of each Arm kernel's hot "
              "loop (`scripts/mca_kernels.py --arch aarch64`: the plugin's file compiled as the build does, the "
              "innermost loop with the most multiply-accumulate instructions), on llvm-mca's models of Arm cores. "
              "It is a pipeline model, useful for finding dependency chains and saturated ports, not a speed. "
              "Measured on Arm: correctness (bit-identical to the reference under qemu on three cores, "
              "`scripts/cross.sh aarch64`) and instructions retired per generated token under qemu against the "
              "reference and llama.cpp's NEON build (`scripts/qemu_icount.sh aarch64`, tables in docs/backends.md); no Arm "
              "wall time.", ""]
    lines += open(arm_mca).read().strip().splitlines()
riscv_mca = os.path.join(raw, "riscv_mca.md")
if os.path.exists(riscv_mca):
    lines += ["", "## RISC-V: modelled, not measured", "",
              "No RISC-V machine ran these. Below are llvm-mca's (LLVM 19) predicted cycles per iteration of the rvv "
              "plugin's hot loops (`scripts/mca_kernels.py --arch riscv64`) on its models of RISC-V vector cores. "
              "The kernels are vector-length agnostic, so a loop iteration does more multiply-adds on a core with a "
              "longer VLEN; the MAC/cycle column uses each modelled core's VLEN. A pipeline model, not a speed. "
              "Measured: correctness under qemu at VLEN 128, 256 and 512 (`scripts/cross.sh riscv64`) and "
              "instructions retired per generated token under qemu against the reference and llama.cpp's RVV build "
              "(`scripts/qemu_icount.sh riscv64`, tables in docs/backends.md); no RISC-V wall time.", ""]
    lines += open(riscv_mca).read().strip().splitlines()
lines += ["", "Generation against its bound, per type and thread count (`scripts/bench_report.sh` draws it from the "
          "table above):", "", "![tg t/s and the bound per type](benchmarks_tg.png)"]
lines += ["", "Raw `tern bench --json` output of this run:", "", "```json",
          json.dumps([{k: v for k, v in r.items()} for r in runs + smol]
                     + [json.load(open(p)) for p in sorted(glob.glob(os.path.join(raw, "depth", "*.json")))], indent=1),
          "```", ""]
open(out + ".part", "w").write("\n".join(lines))
os.replace(out + ".part", out)
print(f"wrote {out}")
PY

# The plot: generated t/s per type and thread count next to the bound (matplotlib, in the test venv only).
.venv/bin/python -c "import matplotlib" 2>/dev/null ||
  .venv/bin/python -m pip install -q --disable-pip-version-check matplotlib==3.9.2
.venv/bin/python - "$RAW" "${OUT%.md}_tg.png" <<'PY'
import glob, json, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
raw, png = sys.argv[1:3]
bars = []  # (label, threads, tg, bound)
for p in sorted(glob.glob(os.path.join(raw, "*.json"))):
    r = json.load(open(p))
    if r["results"][0]["backend"] == "reference":
        continue
    for bw in r["bandwidth"]:
        label = r["results"][0]["model"].split()[-1] + (" as stored" if r["results"][0].get("weight_layout") == "file" else "")
        bars.append((label + "\n" + r["results"][0]["backend"], bw["threads"],
                     bw["best_tg_tokens_per_sec"], bw["tg_bound_tokens_per_sec"]))
types = sorted({b[0] for b in bars}, key=lambda t: [b[0] for b in bars].index(t))
threads = sorted({b[1] for b in bars})
fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(types)), 4))
width = 0.8 / len(threads)
for i, t in enumerate(threads):
    xs = [types.index(b[0]) + (i - (len(threads) - 1) / 2) * width for b in bars if b[1] == t]
    ax.bar(xs, [b[2] for b in bars if b[1] == t], width, label=f"tg, {t} thread{'s' if t > 1 else ''}")
    ax.scatter(xs, [b[3] for b in bars if b[1] == t], marker="_", s=400, color="black", zorder=3,
               label="bound" if i == 0 else None)
ax.set_xticks(range(len(types)), types)
ax.set_ylabel("generated tokens / s")
ax.set_title("2B4T-sized models: generation against the bandwidth bound")
ax.legend()
fig.tight_layout()
fig.savefig(png, dpi=100)
print(f"wrote {png}")
PY
