#!/usr/bin/env python3
"""Predicted cycles of the x86 kernels' hot loops, from llvm-mca (Debian's llvm), for CPUs this machine may not be.

The x86-avx512 plugin cannot be timed on a CPU without AVX-512, so this is how its loops are checked: compile the
kernel file as the build does, find the innermost loop with the most of its multiply-add instructions, and ask
llvm-mca how many cycles an iteration takes on each CPU model. It is a model, good for finding what is wrong with
a loop (a dependency chain, moves, a saturated port), not a measurement: on this project's AMD Zen 3 its znver3
model puts the AVX2 I2_S prefill tile at 25.0 cycles per block against about 25.6 measured (bench_x86_kernels),
but the bare multiply-add loop of BM_MultiplyAddCeilingAvx2 at 4.0 cycles against about 5.1.

With --arch aarch64 it does the same for the Arm plugins' loops (compiled with aarch64-linux-gnu-g++ and each
variant's -march) on Arm core models: wall time under qemu means nothing, so this and qemu's instruction counts
are what the Arm kernels are judged by. A core model that lacks an instruction (sdot on Cortex-A53) shows "-".

With --arch riscv64 it models the rvv plugin's loops (clang-19, -march=rv64gcv, against the sysroot that
scripts/riscv64_deps.sh unpacks) on RISC-V vector cores. The kernels are vector-length agnostic, so their
multiply-adds per iteration depend on each core's VLEN (sifive-x280: 512, sifive-p670: 128). LLVM 19 knows
spacemit-x60 by name but has no scheduling model for it.

Needs llvm-mca (Debian's llvm package; llvm-19 for riscv64). Usage: scripts/mca_kernels.py [--arch x86_64|aarch64|riscv64]
[--mcpu A,B,...]
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
NEON = ["-march=armv8-a"]
DOTPROD = ["-march=armv8.2-a+dotprod"]
I8MM = ["-march=armv8.6-a+dotprod+i8mm"]
# Arm: (source, flags, kernel, fragments every one of which the mangled name holds, instruction counted). The
# templates are inlined into the named kernels.
ARM_KERNELS = [
    ("arm_kernels_neon.cpp", NEON, "I2_S GEMV (NEON smull/sadalp)", ("i2s_gemv_neon",), "smull"),
    ("arm_kernels_neon.cpp", NEON, "I2_S prefill tile 2x2 (NEON)", ("i2s_gemm_neon",), "smull"),
    ("arm_kernels_dotprod.cpp", DOTPROD, "I2_S GEMV (sdot)", ("i2s_gemv_dotprod",), "sdot"),
    ("arm_kernels_dotprod.cpp", DOTPROD, "I2_S prefill tile 2x2 (sdot)", ("i2s_gemm_dotprod",), "sdot"),
    ("arm_kernels_i8mm.cpp", I8MM, "I2_S prefill tile 2x2 (smmla)", ("i2s_gemm_i8mm",), "smmla"),
    ("tl1_kernels_neon.cpp", NEON, "TL1 tile, 16 rows x 1 token (tbl)", ("tl1_tile_dot_neon",), "tbl"),
]
RVV = ["-march=rv64gcv"]
# RISC-V: the same shape, plus the vector type (SEW, LMUL) the loop runs with: its vsetvli is hoisted out of
# it, so llvm-mca is told. A vwmacc.vv on e8m1 sources does VLEN / 8 multiply-adds; a TL1 vrgather.vv on
# e16m2 looks up VLEN / 8 rows' sums of one weight pair, 2 x VLEN / 8 weight x activation products.
RVV_KERNELS = [
    ("rvv_ternary.cpp", RVV, "I2_S GEMV, 4 rows x 1 token", ("i2s_gemv_rvv",), "vwmacc.vv", ("E8", "M1")),
    ("rvv_ternary.cpp", RVV, "I2_S prefill tile 2x2", ("i2s_gemm_rvv",), "vwmacc.vv", ("E8", "M1")),
    ("rvv_ternary.cpp", RVV, "TQ2_0 GEMV, 4 rows x 1 token", ("tq2_gemv_rvv",), "vwmacc.vv", ("E8", "M1")),
    ("rvv_ternary.cpp", RVV, "TQ1_0 GEMV, 4 rows x 1 token", ("tq1_gemv_rvv",), "vwmacc.vv", ("E8", "M1")),
    ("rvv_tl1.cpp", RVV, "TL1 tile, 16 rows x 2 tokens (vrgather)", ("tl1_tile_dot_rvv",), "vrgather.vv",
     ("E16", "M2")),
]
RVV_PRODUCTS_PER_VLEN8 = {"vwmacc.vv": 1, "vrgather.vv": 2}
RVV_VLEN = {"sifive-x280": 512, "sifive-p670": 128}
# Multiply-adds per instruction: 32 byte pairs per ymm vpmaddubsw, 64 per zmm vpdpbusd; 8 per smull / smull2,
# 16 per sdot, 32 per smmla (2 x 2 x 8); a TL1 tbl looks up 16 rows' sums of one pair, and takes two tables
# (low and high bytes), so 16 weight x activation products per tbl.
MACS = {"vpmaddubsw": 32, "vpdpbusd": 64, "smull": 8, "sdot": 16, "smmla": 32, "tbl": 16}


def compile_to_asm(source, flags, out, arch):
    isa_dir = {"x86_64": "backends/x86", "aarch64": "backends/arm", "riscv64": "backends/riscv"}[arch]
    cxx = {"x86_64": ["g++"], "aarch64": ["aarch64-linux-gnu-g++"],
           "riscv64": ["clang++-19", "--target=riscv64-linux-gnu",
                       "--sysroot=" + os.path.join(ROOT, "build-riscv64-deps/sysroot")]}[arch]
    cmd = [*cxx, "-O3", "-DNDEBUG", "-std=c++20", *flags, "-I" + os.path.join(ROOT, isa_dir),
           "-I" + os.path.join(ROOT, "runtime/include"), "-I" + os.path.join(ROOT, "backends/reference"),
           "-I" + os.path.join(ROOT, "backends/cpu"), "-S", os.path.join(ROOT, isa_dir, source), "-o", out]
    subprocess.run(cmd, check=True)
    return open(out).read().splitlines()


def function_body(lines, fragments):
    """The assembly of the first function whose mangled name contains every fragment (or None)."""
    # clang follows a function's label with a comment ("f:  # @f").
    start = next((i for i, line in enumerate(lines) if all(f in line for f in fragments)
                  and line.split("#")[0].rstrip().endswith(":") and not line.startswith("\t")), None)
    if start is None:
        return None
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == ".cfi_endproc"
               or lines[i].startswith("\t.size"))
    return lines[start:end]


def is_op(line, mnemonic):
    """Whether an instruction line is `mnemonic` (smull also counts smull2)."""
    words = line.split()
    return bool(words) and (words[0] == mnemonic or words[0] == mnemonic + "2")


def hottest_loop(body, mnemonic):
    """Of the innermost loops (a label, then a backward jump to it, with no other loop inside), the one with the
    most multiply-add instructions: the 2 x 4 tile where smaller edge tiles are inlined next to it."""
    labels = {line.split(":")[0]: i for i, line in enumerate(body) if re.match(r"^\.L\w+:\s*(#.*)?$", line)}
    loops = []
    for i, line in enumerate(body):
        # x86 jumps (jne .L5), Arm branches (b.ne .L5, bne .L5, cbnz x1, .L5), RISC-V (bltu a0, a1, .LBB0_3)
        m = re.match(r"^\s+(?:j\w+|b\.?\w*|cbn?z|tbn?z)\s+(?:\w+, ?)*(\.L\w+)$", line)
        if m and m.group(1) in labels and labels[m.group(1)] < i:
            loops.append((labels[m.group(1)], i))
    innermost = [(a, b) for a, b in loops if not any(a <= c and d <= b and (c, d) != (a, b) for c, d in loops)]
    best = max(innermost, key=lambda r: sum(is_op(x, mnemonic) for x in body[r[0]:r[1]]), default=None)
    if best is None or not any(is_op(x, mnemonic) for x in body[best[0]:best[1]]):
        return []
    # Only instructions: no directives, labels or the comments around inline asm.
    return [x for x in body[best[0] + 1:best[1] + 1] if x.startswith("\t") and not x.startswith("\t.")]


def mca_cycles(loop, mcpu, tmp, arch, vtype=None):
    path = os.path.join(tmp, "loop.s")
    header = [f"# LLVM-MCA-RISCV-LMUL {vtype[1]}", f"# LLVM-MCA-RISCV-SEW {vtype[0]}"] if vtype else []
    open(path, "w").write("\n".join(header + loop) + "\n")
    triple = {"x86_64": [], "aarch64": ["-mtriple=aarch64-linux-gnu"], "riscv64": ["-mtriple=riscv64-linux-gnu"]}[arch]
    # LLVM 14 (Debian's llvm) has no RISC-V vector core models; llvm-19 does.
    mca = "llvm-mca-19" if arch == "riscv64" else "llvm-mca"
    r = subprocess.run([mca, *triple, f"-mcpu={mcpu}", "-iterations=400", path], capture_output=True,
                       text=True)
    if r.returncode != 0:  # e.g. AVX-512 on a model of a CPU without it
        return None
    return int(re.search(r"Total Cycles:\s+(\d+)", r.stdout).group(1)) / 400


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="x86_64", choices=["x86_64", "aarch64", "riscv64"])
    ap.add_argument("--mcpu", help="comma-separated llvm-mca CPU models")
    args = ap.parse_args()
    default_cpus = {"x86_64": "znver3,icelake-server,sapphirerapids",
                    "aarch64": "cortex-a55,cortex-a76,neoverse-n1,neoverse-v1",
                    "riscv64": "sifive-p670,sifive-x280"}[args.arch]
    cpus = (args.mcpu or default_cpus).split(",")
    kernels = {"x86_64": KERNELS, "aarch64": ARM_KERNELS, "riscv64": RVV_KERNELS}[args.arch]
    print("| kernel loop | multiply-adds / iteration | vector register moves | "
          + " | ".join(f"{c}: cycles (MAC/cycle)" for c in cpus) + " |")
    print("|---|---|---|" + "---|" * len(cpus))
    with tempfile.TemporaryDirectory() as tmp:
        asm = {}
        for source, flags, name, fragments, mnemonic, *vtype in kernels:
            vtype = vtype[0] if vtype else None
            if isinstance(fragments, str):
                fragments = (fragments,)
            if source not in asm:
                asm[source] = compile_to_asm(source, flags, os.path.join(tmp, source + ".s"), args.arch)
            body = function_body(asm[source], fragments)
            loop = hottest_loop(body, mnemonic) if body else []
            if not loop:
                sys.exit(f"mca_kernels: no loop with {mnemonic} in {fragments} ({source})")
            n_ops = sum(is_op(x, mnemonic) for x in loop)
            macs = MACS[mnemonic] * n_ops if mnemonic in MACS else None
            moves = sum(1 for x in loop if re.match(r"^\s+vmovdq[au]\d*\s+%[xyz]mm\d+, %[xyz]mm\d+$", x)
                        or re.match(r"^\s+mov\s+v\d+\.16b, v\d+\.16b$", x))
            cells = []
            for cpu in cpus:
                cycles = mca_cycles(loop, cpu, tmp, args.arch, vtype)
                per_vlen8 = RVV_PRODUCTS_PER_VLEN8.get(mnemonic, 0)
                cpu_macs = macs if macs is not None else n_ops * per_vlen8 * RVV_VLEN.get(cpu, 128) // 8
                cells.append("-" if cycles is None else f"{cycles:.1f} ({cpu_macs / cycles:.0f})")
            per_iteration = macs if macs is not None else (
                f"{n_ops} x VLEN/8" if per_vlen8 == 1 else f"{n_ops} x {per_vlen8} x VLEN/8")
            print(f"| {name} | {per_iteration} | {moves} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
