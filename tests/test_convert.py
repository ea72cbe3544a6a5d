#!/usr/bin/env python3
"""scripts/convert-checkpoint.py on real .pth files (tests/fixtures, made with PyTorch from the golden tiny
weights: tests/fixtures/README.md): the official layout, model_ema, a `module.` prefix, F16 and BF16 copies,
views with strides and storage offsets, plain Vim; each converted file equal to the golden weights bit for
bit (F16 and BF16: to the golden weights rounded as PyTorch rounds them), its metadata that of the golden
case, and `dyvm run` on it reproducing the golden outputs (SPEC.md section 9). Then the refusals, one line
on stderr and exit 2 each: a pickle that would run a command (which must not run), the legacy format, an
unknown dtype, a truncated archive, a missing storage, a corrupt storage, not a checkpoint, bad flags.
Environment: DYVM (build/dyvm), GOLDEN (../shared/golden). Standard library only."""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERT = os.path.join(ROOT, "scripts", "convert-checkpoint.py")
FIX = os.path.join(ROOT, "tests", "fixtures")
DYVM = os.path.abspath(os.environ.get("DYVM", os.path.join(ROOT, "build", "dyvm")))
GOLDEN = os.path.abspath(os.environ.get("GOLDEN", os.path.join(ROOT, "..", "shared", "golden")))
TINY = os.path.join(GOLDEN, "tiny")
SPEC_KEYS = ["format", "img_size", "patch_size", "stride", "channels", "embed_dim", "depth", "d_state", "d_conv",
             "expand", "dt_rank", "num_classes", "norm_eps", "num_patches", "cls_position", "pruning_loc",
             "token_ratio", "token_keep"]
TOL = 1e-4  # SPEC.md section 9

passed = failed = skipped = 0


def check(ok, what):
    global passed, failed
    print(("PASS " if ok else "FAIL ") + what, flush=True)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


def skip(what):
    global skipped
    print("SKIP " + what, flush=True)
    skipped += 1


def read_st(path):
    """{name: (dtype, shape, bytes)}, metadata"""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items()}, meta


def floats(b):
    return struct.unpack(f"<{len(b) // 4}f", b)


def f16_round(b):
    n = len(b) // 4
    return struct.pack(f"<{n}f", *struct.unpack(f"<{n}e", struct.pack(f"<{n}e", *floats(b))))


def bf16_round(b):
    """round to nearest even on the top 16 bits, as torch's float -> bfloat16"""
    n = len(b) // 4
    out = []
    for u in struct.unpack(f"<{n}I", b):
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
        out.append(u)
    return struct.pack(f"<{n}I", *out)


def convert(pth, out, *flags, cwd=None):
    return subprocess.run([sys.executable, CONVERT, pth, out, *flags], capture_output=True, text=True, cwd=cwd)


def one_line_refusal(r, what, contains):
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and lines[0].startswith("convert-checkpoint: ") and contains in lines[0]
          and not r.stdout, f"{what}: exit 2 and one line containing \"{contains}\" (exit {r.returncode}: {r.stderr.strip()[:300]})")


def same_tensors(got, want, what, transform=None, except_=()):
    names_ok = sorted(got) == sorted(want)
    bad = [k for k in want if k in got and k not in except_ and
           (got[k][0] != "F32" or got[k][1] != want[k][1] or got[k][2] != (transform(want[k][2]) if transform else want[k][2]))]
    check(names_ok and not bad, f"{what}: the {len(want)} tensors of the golden weights, same names, shapes and bits"
          + ("" if names_ok else f" (names differ: {sorted(set(got) ^ set(want))[:4]})") + (f" (differ: {bad[:4]})" if bad else ""))


def rel_l2(a, b):
    num = sum((x - y) ** 2 for x, y in zip(a, b))
    den = sum(y * y for y in b)
    return math.sqrt(num / den) if den else math.sqrt(num)


def run_matches_golden(weights, variant, tmp, what, flags=()):
    out = os.path.join(tmp, f"out-{variant}.st")
    r = subprocess.run([DYVM, "run", "--weights", weights, "--input", os.path.join(TINY, "input.safetensors"),
                        "--variant", variant, "--out", out, *flags], capture_output=True, text=True)
    if not check(r.returncode == 0, f"{what}: dyvm run --variant {variant} exits 0 ({r.stderr.strip()[-200:]})"):
        return
    got, _ = read_st(out)
    want, _ = read_st(os.path.join(TINY, f"{variant}.safetensors"))
    for name in ["logits", "features", "block_policy"] + [f"kept.{k}" for k in range(3)]:
        if name not in want:
            continue
        if name not in got:
            check(False, f"{what} {variant}: {name} in the output")
            continue
        if want[name][0] == "F32" and name in ("logits", "features"):
            a, b = floats(got[name][2]), floats(want[name][2])
            e = rel_l2(a, b)
            check(all(math.isfinite(x) for x in a) and e <= TOL, f"{what} {variant}: {name} within {TOL:g} of the golden output (rel L2 {e:.3g})")
        else:
            check(got[name][2] == want[name][2], f"{what} {variant}: {name} identical to the golden output")


def bench_decisions(weights, preset, tmp):
    """dyvm bench on one configuration reports the decisions: trained heads named, random ones said so"""
    what = f"bench decisions ({'converted weights' if weights else 'preset ' + preset})"
    out = os.path.join(tmp, f"bench-{preset or 'weights'}")
    src = ["--weights", weights] if weights else ["--preset", preset]
    r = subprocess.run([DYVM, "bench", *src, "--variant", "dyvm", "--batch", "3", "--no-peaks", "--rounds", "1",
                        "--min-time", "0.05", "--max-time", "0.2", "--format", "json", "--out", out],
                       capture_output=True, text=True, cwd=ROOT)
    if not check(r.returncode == 0, f"{what}: exits 0 ({r.stderr.strip()[-200:]})"):
        return
    d = json.loads(r.stdout).get("decisions", {})
    layers = d.get("layers", [])
    check(len(layers) == 4 and [l["tokens"] for l in layers] == [17, 12, 8, 6],
          f"{what}: tokens per layer 17, 12, 8, 6 (the stages at 1, 2, 3 keep 11, 7, 5): {[l.get('tokens') for l in layers]}")
    fr = [x for l in layers for x in (l["forward"], l["backward"])]
    check(all(f * 3 in (0, 1, 2, 3) for f in fr) and abs(d.get("block_keep", -1) - sum(fr) / len(fr)) < 1e-12,
          f"{what}: fractions of 3 images per layer and direction, block keep their mean ({d.get('block_keep')})")
    if weights:
        check(d.get("random_heads") is False and "tiny-official.pth" in d.get("heads", ""),
              f"{what}: the heads named as the checkpoint's ({d.get('heads')})")
    else:
        check(d.get("random_heads") is True and "random" in d.get("heads", ""), f"{what}: the heads said to be random ({d.get('heads')})")
    readme = open(os.path.join(out, "README.md")).read() if os.path.exists(os.path.join(out, "README.md")) else ""
    check("### Decisions" in readme and os.path.exists(os.path.join(out, "decisions.csv")),
          f"{what}: --out holds README.md with the decisions and decisions.csv")
    if shutil.which("gnuplot"):
        png = os.path.join(out, "decisions.png")
        check(os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and "decisions.png" in readme,
              f"{what}: the decisions plot (PNG, linked from README.md)")
    else:
        skip(f"{what}: the decisions plot: gnuplot not found")


def main():
    if not os.path.exists(os.path.join(TINY, "weights.safetensors")):
        skip(f"checkpoint conversion: the golden tiny case is not in {GOLDEN} (set GOLDEN)")
        return
    golden, gmeta = read_st(os.path.join(TINY, "weights.safetensors"))
    tmp = tempfile.mkdtemp(prefix="dyvm-convert-")
    try:
        # the official layout: model, with views and layer_head.* keys; args supplies the ratios
        out = os.path.join(tmp, "official.st")
        r = convert(os.path.join(FIX, "tiny-official.pth"), out)
        check(r.returncode == 0 and not r.stderr, f"official checkpoint converts ({r.stderr.strip()[:200]})")
        line = r.stdout.strip()
        check(len(line.splitlines()) == 1 and "DyVM from model" in line and "0.07 M parameters" in line and "block heads" in line
              and "3 score predictors at 1,2,3, token ratio 0.7" in line
              and "layers.{i}.layer_head.weight (4 keys)" in line and "optimizer" in line,
              f"one summary line: model, parameters, heads, what was skipped ({line[:300]})")
        if os.path.exists(out):
            got, meta = read_st(out)
            same_tensors(got, golden, "official checkpoint")
            check(all(meta.get(k) == gmeta.get(k) for k in SPEC_KEYS),
                  "official checkpoint: the metadata of SPEC section 7 equals the golden case's "
                  + str({k: (meta.get(k), gmeta.get(k)) for k in SPEC_KEYS if meta.get(k) != gmeta.get(k)}))
            check(meta.get("block_keep_ratio") == "0.8", f"official checkpoint: block_keep_ratio from args ({meta.get('block_keep_ratio')})")
            for v in ("vim", "token", "block", "dyvm"):
                run_matches_golden(out, v, tmp, "official checkpoint")
        # the learned decisions of the converted model in dyvm bench: per layer and direction, tokens, a plot
        if os.path.exists(os.path.join(tmp, "official.st")):
            bench_decisions(os.path.join(tmp, "official.st"), None, tmp)
        bench_decisions(None, "tiny", tmp)
        # model_ema: the fixture's EMA differs in head.bias by +1
        out = os.path.join(tmp, "ema.st")
        r = convert(os.path.join(FIX, "tiny-official.pth"), out, "--ema")
        check(r.returncode == 0 and "from model_ema" in r.stdout, f"--ema converts model_ema ({r.stdout.strip()[:120]})")
        if os.path.exists(out):
            got, _ = read_st(out)
            same_tensors(got, golden, "--ema (all but head.bias)", except_=("head.bias",))
            b = golden["head.bias"][2]
            plus1 = struct.pack(f"<{len(b) // 4}f", *[x + 1.0 for x in floats(b)])
            check(got["head.bias"][2] == plus1, "--ema: head.bias is the EMA's (golden + 1)")
        # the module. prefix of DDP, a bare state dict without args: the flags give the ratios
        out = os.path.join(tmp, "module.st")
        r = convert(os.path.join(FIX, "tiny-module.pth"), out, "--token-ratio", "0.7", "--pruning-loc", "1,2,3")
        check(r.returncode == 0 and "from state dict" in r.stdout, f"bare state dict with module. prefix converts ({r.stderr.strip()[:200]})")
        if os.path.exists(out):
            got, meta = read_st(out)
            same_tensors(got, golden, "module. prefix")
            check(all(meta.get(k) == gmeta.get(k) for k in SPEC_KEYS), "module. prefix with --token-ratio 0.7 --pruning-loc 1,2,3: the golden metadata")
            run_matches_golden(out, "dyvm", tmp, "module. prefix")
        r = convert(os.path.join(FIX, "tiny-module.pth"), os.path.join(tmp, "noratio.st"))
        check(r.returncode == 0 and "no token ratio" in r.stdout and "--token-ratio" in r.stderr,
              "without a ratio in args or flags: converted, and the summary and a note say so")
        # F16 and BF16 storages, written as F32
        for fx, rnd, label in (("tiny-f16.pth", f16_round, "F16"), ("tiny-bf16.pth", bf16_round, "BF16")):
            out = os.path.join(tmp, f"{label}.st")
            r = convert(os.path.join(FIX, fx), out)
            check(r.returncode == 0, f"{label} checkpoint converts ({r.stderr.strip()[:200]})")
            if os.path.exists(out):
                got, _ = read_st(out)
                same_tensors(got, golden, f"{label} checkpoint (the golden weights rounded to {label})", transform=rnd)
        # plain Vim: no block heads, no predictors; runs vim, refuses learned policies naming the heads
        out = os.path.join(tmp, "vim.st")
        r = convert(os.path.join(FIX, "vim-tiny.pth"), out)
        check(r.returncode == 0 and "Vim from model" in r.stdout and "no block heads; no score predictors" in r.stdout,
              f"Vim checkpoint converts ({r.stdout.strip()[:200]})")
        if os.path.exists(out):
            got, _ = read_st(out)
            same_tensors(got, {k: v for k, v in golden.items() if "block_head" not in k and "score_predictors" not in k}, "Vim checkpoint")
            run_matches_golden(out, "vim", tmp, "Vim checkpoint")
            x = os.path.join(TINY, "input.safetensors")
            for variant, need in (("token", "needs score_predictors.* weights"), ("block", "needs layers.*.mixer.block_head.* weights"),
                                  ("dyvm", "needs score_predictors.* weights")):
                r = subprocess.run([DYVM, "run", "--weights", out, "--input", x, "--variant", variant, "--token-ratio", "0.7",
                                    "--out", os.path.join(tmp, "o.st")] if variant != "block" else
                                   [DYVM, "run", "--weights", out, "--input", x, "--variant", variant, "--out", os.path.join(tmp, "o.st")],
                                   capture_output=True, text=True)
                check(r.returncode == 2 and need in r.stderr and len(r.stderr.strip().splitlines()) == 1,
                      f"Vim checkpoint, {variant} with learned policies: exit 2, one line naming the missing heads ({r.stderr.strip()[:160]})")
            r = subprocess.run([DYVM, "run", "--weights", out, "--input", x, "--variant", "dyvm", "--block-policy", "ratio:0.5",
                                "--token-policy", "even", "--token-ratio", "0.7", "--out", os.path.join(tmp, "o.st")],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"Vim checkpoint, dyvm with ratio:0.5 and even tokens: runs ({r.stderr.strip()[-160:]})")
        # refusals
        work = os.path.join(tmp, "cwd")
        os.mkdir(work)
        r = convert(os.path.join(FIX, "malicious.pth"), os.path.join(tmp, "m.st"), cwd=work)
        one_line_refusal(r, "a pickle that would run a command", "posix.system")
        check(not os.path.exists(os.path.join(work, "dyvm-fixture-pwned")) and not os.path.exists(os.path.join(tmp, "m.st")),
              "the malicious pickle's command did not run, and nothing was written")
        one_line_refusal(convert(os.path.join(FIX, "legacy.pth"), os.path.join(tmp, "l.st")), "the legacy format", "re-save it with a recent PyTorch")
        one_line_refusal(convert(os.path.join(FIX, "complex-dtype.pth"), os.path.join(tmp, "c.st")), "an unknown dtype",
                         "head.bias is stored as torch.ComplexFloatStorage")
        src = open(os.path.join(FIX, "tiny-official.pth"), "rb").read()
        for cut in (len(src) // 2, len(src) - 30):
            p = os.path.join(tmp, f"cut{cut}.pth")
            open(p, "wb").write(src[:cut])
            one_line_refusal(convert(p, os.path.join(tmp, "t.st")), f"an archive cut at {cut} of {len(src)} bytes", "truncated")
        with zipfile.ZipFile(os.path.join(FIX, "tiny-official.pth")) as z:
            members = z.namelist()
            storages = sorted((n for n in members if "/data/" in n), key=lambda n: int(n.rsplit("/", 1)[1]))
            gone = storages[3]
            p = os.path.join(tmp, "missing.pth")
            with zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as w:
                for n in members:
                    if n != gone:
                        w.writestr(n, z.read(n))
        one_line_refusal(convert(p, os.path.join(tmp, "ms.st")), "a storage missing from the archive", f"storage {gone} of tensor")
        p = os.path.join(tmp, "corrupt.pth")
        with zipfile.ZipFile(os.path.join(FIX, "tiny-official.pth")) as z:
            info = z.getinfo(storages[0])
        blob = bytearray(src)
        name_len, extra_len = struct.unpack("<HH", src[info.header_offset + 26:info.header_offset + 30])  # local header
        at = info.header_offset + 30 + name_len + extra_len + info.file_size // 2  # inside the first storage's data
        blob[at] ^= 0xFF
        open(p, "wb").write(blob)
        one_line_refusal(convert(p, os.path.join(tmp, "co.st")), "a storage whose bytes changed (CRC)", "cannot be read")
        p = os.path.join(tmp, "text.pth")
        open(p, "w").write("not a checkpoint\n")
        one_line_refusal(convert(p, os.path.join(tmp, "x.st")), "a text file", "not a PyTorch checkpoint")
        one_line_refusal(convert(os.path.join(tmp, "absent.pth"), os.path.join(tmp, "x.st")), "a missing file", "cannot read it")
        one_line_refusal(convert(os.path.join(FIX, "tiny-module.pth"), os.path.join(tmp, "x.st"), "--ema"), "--ema on a bare state dict", "has no model_ema")
        one_line_refusal(convert(os.path.join(FIX, "tiny-official.pth"), os.path.join(tmp, "x.st"), "--token-ratio", "1.5"), "--token-ratio 1.5", "not a number in (0, 1]")
        one_line_refusal(convert(os.path.join(FIX, "tiny-official.pth"), os.path.join(tmp, "x.st"), "--pruning-loc", "1,4,2"),
                         "--pruning-loc outside the layers", "do not fit 3 predictors in 4 layers")
        one_line_refusal(convert(os.path.join(FIX, "tiny-official.pth"), os.path.join(tmp, "no", "dir", "x.st")), "an unwritable output", "cannot write it")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    sys.exit(1 if failed else 0)
