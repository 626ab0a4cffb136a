#!/usr/bin/env python3
"""Predicted cycles of the x86 kernels' hot loops, from llvm-mca (Debian's llvm), for CPUs this machine may not be.

The x86-avx512 plugin cannot be timed on a CPU without AVX-512, so this is how its loops are checked: compile the
kernel file as the build does, find the innermost loop with the most of its multiply-add instructions, and ask
llvm-mca how many cycles an iteration takes on each CPU model. It is a model, good for finding what is wrong with
a loop (a dependency chain, moves, a saturated port), not a measurement: on this project's AMD Zen 3 its znver3
model puts the AVX2 I2_S prefill tile at 25.0 cycles per block against about 25.6 measured (bench_x86_kernels),
but the bare multiply-add loop of BM_MultiplyAddCeilingAvx2 at 4.0 cycles against about 5.1.

Needs llvm-mca (Debian's llvm package). Usage: scripts/mca_kernels.py [--mcpu znver3,icelake-server,...]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AVX2 = ["-mavx2", "-mfma", "-mf16c"]
AVX512 = AVX2 + ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni"]
# (source, flags, kernel, mangled-name fragment, multiply-add mnemonic). The I2_S loops each do whole blocks;
# the TQ2_0 / TQ1_0 tiles reduce every block's dots outside their innermost loop, so a loop would not show them.
KERNELS = [
    ("x86_kernels_avx2.cpp", AVX2, "I2_S prefill tile 2x4 (AVX2)", "I2sTileILi2ELi4EE3run", "vpmaddubsw"),
    ("x86_kernels_avx2.cpp", AVX2, "I2_S GEMV (AVX2)", "i2s_gemv_codes_avx2", "vpmaddubsw"),
    ("x86_kernels_avx512.cpp", AVX512, "I2_S prefill tile 2x4 (AVX-512 VNNI)", "I2sTileILi2ELi4EE3run", "vpdpbusd"),
    ("x86_kernels_avx512.cpp", AVX512, "I2_S GEMV (AVX-512 VNNI)", "i2s_gemv_codes_avx512vnni", "vpdpbusd"),
]
# Multiply-adds per instruction: 32 byte pairs per ymm vpmaddubsw, 64 per zmm vpdpbusd.
MACS = {"vpmaddubsw": 32, "vpdpbusd": 64}


def compile_to_asm(source, flags, out):
    cmd = ["g++", "-O3", "-DNDEBUG", "-std=c++20", *flags, "-I" + os.path.join(ROOT, "backends/x86"),
           "-I" + os.path.join(ROOT, "runtime/include"), "-I" + os.path.join(ROOT, "backends/reference"), "-S",
           os.path.join(ROOT, "backends/x86", source), "-o", out]
    subprocess.run(cmd, check=True)
    return open(out).read().splitlines()


def function_body(lines, fragment):
    """The assembly of the first function whose mangled name contains fragment (or None)."""
    start = next((i for i, line in enumerate(lines) if fragment in line and line.endswith(":")
                  and not line.startswith("\t")), None)
    if start is None:
        return None
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == ".cfi_endproc")
    return lines[start:end]


def hottest_loop(body, mnemonic):
    """Of the innermost loops (a label, then a backward jump to it, with no other loop inside), the one with the
    most multiply-add instructions: the 2 x 4 tile where smaller edge tiles are inlined next to it."""
    labels = {line[:-1]: i for i, line in enumerate(body) if re.match(r"^\.L\w+:$", line)}
    loops = []
    for i, line in enumerate(body):
        m = re.match(r"^\s+j\w+\s+(\.L\w+)$", line)
        if m and m.group(1) in labels and labels[m.group(1)] < i:
            loops.append((labels[m.group(1)], i))
    innermost = [(a, b) for a, b in loops if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in loops)]
    best = max(innermost, key=lambda r: sum(mnemonic in x for x in body[r[0]:r[1]]), default=None)
    if best is None or not any(mnemonic in x for x in body[best[0]:best[1]]):
        return []
    # Only instructions: no directives, labels or the comments around inline asm.
    return [x for x in body[best[0] + 1:best[1] + 1] if x.startswith("\t") and not x.startswith("\t.")]


def mca_cycles(loop, mcpu, tmp):
    path = os.path.join(tmp, "loop.s")
    open(path, "w").write("\n".join(loop) + "\n")
    r = subprocess.run(["llvm-mca", f"-mcpu={mcpu}", "-iterations=400", path], capture_output=True, text=True)
    if r.returncode != 0:  # e.g. AVX-512 on a model of a CPU without it
        return None
    return int(re.search(r"Total Cycles:\s+(\d+)", r.stdout).group(1)) / 400


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mcpu", default="znver3,icelake-server,sapphirerapids")
    args = ap.parse_args()
    cpus = args.mcpu.split(",")
    print("| kernel loop | multiply-adds / iteration | vector register moves | "
          + " | ".join(f"{c}: cycles (MAC/cycle)" for c in cpus) + " |")
    print("|---|---|---|" + "---|" * len(cpus))
    with tempfile.TemporaryDirectory() as tmp:
        asm = {}
        for source, flags, name, fragment, mnemonic in KERNELS:
            if source not in asm:
                asm[source] = compile_to_asm(source, flags, os.path.join(tmp, source + ".s"))
            body = function_body(asm[source], fragment)
            loop = hottest_loop(body, mnemonic) if body else []
            if not loop:
                sys.exit(f"mca_kernels: no loop with {mnemonic} in {fragment} ({source})")
            macs = MACS[mnemonic] * sum(mnemonic in x for x in loop)
            moves = sum(1 for x in loop if re.match(r"^\s+vmovdq[au]\d*\s+%[xyz]mm\d+, %[xyz]mm\d+$", x))
            cells = []
            for cpu in cpus:
                cycles = mca_cycles(loop, cpu, tmp)
                cells.append("-" if cycles is None else f"{cycles:.1f} ({macs / cycles:.0f})")
            print(f"| {name} | {macs} | {moves} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
