#!/usr/bin/env python3
"""Converts an official Vim or DyVM checkpoint (.pth, PyTorch's zip format) to dyvm's weights file
(safetensors, SPEC.md section 7), with Python's standard library alone: no PyTorch.

    scripts/convert-checkpoint.py IN.pth OUT.safetensors [--ema] [--token-ratio R] [--pruning-loc 6,12,18]
                                  [--block-ratio R]

The checkpoint's data.pkl is read by a restricted unpickler that knows only what a state dict needs (the
tensor rebuild functions, the storage types, OrderedDict, and argparse.Namespace read as plain data) and
refuses anything else by name: nothing in the file is ever executed. The tensors are read from the raw
storages of the archive (F32, F16 or BF16, any strides and storage offsets) and written as F32. Layouts:
the official main.py's dict (model, model_ema, optimizer, lr_scheduler, epoch, scaler, args), or a bare state
dict; a `module.` prefix is dropped. The shapes decide the architecture; `args` supplies the token keep
ratio, pruning locations and block keep target where present; the flags override both. Keys dyvm does not
use (layer_head.*, optimizer state) are listed once and skipped. One summary line on success; on any bad
input one line on stderr and exit 2.
"""
import argparse
import collections
import json
import math
import os
import pickle
import re
import struct
import sys
import zipfile
import zlib

FORMAT = "dyvm-weights/1"

# storage type -> (dtype name, bytes per element); only F32, F16 and BF16 are converted
STORAGES = {
    "FloatStorage": ("F32", 4), "HalfStorage": ("F16", 2), "BFloat16Storage": ("BF16", 2),
    "DoubleStorage": ("F64", 8), "LongStorage": ("I64", 8), "IntStorage": ("I32", 4), "ShortStorage": ("I16", 2),
    "CharStorage": ("I8", 1), "ByteStorage": ("U8", 1), "BoolStorage": ("BOOL", 1),
}


class Refused(Exception):
    """One line for stderr; exit 2."""


class StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype, self.size = STORAGES.get(name, (None, 0))


class Storage:
    def __init__(self, stype, key, numel):
        self.stype, self.key, self.numel = stype, key, numel


class TensorRef:
    """A tensor as the pickle describes it: its storage, offset, shape and strides; read on demand."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


class PlainNamespace:
    """argparse.Namespace read as plain data: its attributes, nothing else."""


def rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    if not isinstance(storage, Storage):
        raise Refused("a tensor in data.pkl is not backed by one of the archive's storages")
    return TensorRef(storage, storage_offset, size, stride)


def rebuild_tensor(storage, storage_offset, size, stride):
    return rebuild_tensor_v2(storage, storage_offset, size, stride)


def rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, dtype=None,
                      metadata=None):
    return rebuild_tensor_v2(storage, storage_offset, size, stride)  # the storage type gives the dtype


def rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    return data


ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("argparse", "Namespace"): PlainNamespace,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        if module == "torch" and name.endswith("Storage"):
            return StorageType(name)
        if module == "torch" and name in ("float32", "float16", "bfloat16"):  # a dtype, as data
            return name
        raise Refused(f"data.pkl asks for {module}.{name}, which a checkpoint's state dict does not need; refused "
                      "without running it (only tensors, storages, OrderedDict and argparse.Namespace are read)")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage" or not isinstance(pid[1], StorageType):
            raise Refused(f"data.pkl refers to an unknown persistent object {str(pid)[:80]}")
        _, stype, key, _location, numel = pid
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise Refused("data.pkl names a storage with a malformed key or size")
        return Storage(stype, key, numel)


def open_checkpoint(path):
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise Refused(f"{path}: cannot read it ({e.strerror})")
    if head[:4] != b"PK\x03\x04":
        if head[:1] == b"\x80":
            raise Refused(f"{path}: a legacy (non-zip) PyTorch file; re-save it with a recent PyTorch "
                          "(torch.save(torch.load(path), new_path), PyTorch 1.6 or later) and convert that")
        raise Refused(f"{path}: not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)")
    try:
        z = zipfile.ZipFile(path)
        names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise Refused(f"{path}: not a complete zip archive (truncated?): {e}")
    pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pkl) != 1:
        raise Refused(f"{path}: the archive has {'no' if not pkl else 'more than one'} data.pkl")
    prefix = pkl[0][: -len("data.pkl")]
    try:
        with z.open(pkl[0]) as f:
            obj = RestrictedUnpickler(f).load()
    except Refused as e:
        raise Refused(f"{path}: {e}")
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise Refused(f"{path}: data.pkl cannot be read (truncated or corrupt archive): {e}")
    except (pickle.UnpicklingError, AttributeError, TypeError, ValueError, IndexError, KeyError) as e:
        raise Refused(f"{path}: data.pkl is not a valid checkpoint pickle: {e}")
    return z, prefix, obj


def storage_bytes(z, prefix, storage, name, cache, path):
    """The raw bytes of a storage, checked against the size data.pkl gives it."""
    if storage.key in cache:
        return cache[storage.key]
    member = f"{prefix}data/{storage.key}"
    try:
        raw = z.read(member)
    except KeyError:
        raise Refused(f"{path}: storage {member} of tensor {name} is missing from the archive")
    except (zipfile.BadZipFile, OSError, zlib.error) as e:
        raise Refused(f"{path}: storage {member} of tensor {name} cannot be read (truncated or corrupt): {e}")
    if len(raw) < storage.numel * storage.stype.size:
        raise Refused(f"{path}: storage {member} of tensor {name} holds {len(raw)} bytes, not the "
                      f"{storage.numel * storage.stype.size} its {storage.numel} elements need")
    cache[storage.key] = raw
    return raw


def to_f32_bytes(raw, dtype, count):
    """count elements of raw (F32, F16 or BF16, little-endian) as F32 little-endian bytes"""
    if dtype == "F32":
        return bytes(raw[: 4 * count])
    if dtype == "BF16":  # bf16 is the top half of an f32: its two bytes after two zero bytes
        out = bytearray(4 * count)
        out[2::4] = raw[0 : 2 * count : 2]
        out[3::4] = raw[1 : 2 * count : 2]
        return bytes(out)
    vals = struct.unpack(f"<{count}e", raw[: 2 * count])  # F16: exact in F32
    return struct.pack(f"<{count}f", *vals)


def tensor_f32(z, prefix, name, t, cache, path):
    """(shape, F32 bytes in row-major order) of a TensorRef, whatever its strides and storage offset"""
    st = t.storage.stype
    if st.dtype not in ("F32", "F16", "BF16"):
        raise Refused(f"{path}: tensor {name} is stored as torch.{st.name} "
                      f"({st.dtype or 'an unknown dtype'}); dyvm converts F32, F16 and BF16")
    shape, stride, off = t.shape, t.stride, t.offset
    if len(shape) != len(stride) or any(d < 0 for d in shape) or off < 0:
        raise Refused(f"{path}: tensor {name} has a malformed shape or strides")
    n = math.prod(shape)
    raw = storage_bytes(z, prefix, t.storage, name, cache, path)
    if n == 0:
        return shape, b""
    last = off + sum((d - 1) * s for d, s in zip(shape, stride))
    if min(stride, default=0) < 0 or last >= t.storage.numel:
        raise Refused(f"{path}: tensor {name} reaches past its storage ({t.storage.numel} elements)")
    contiguous = all(stride[i] == math.prod(shape[i + 1 :]) for i in range(len(shape)) if shape[i] > 1)
    size = st.size
    if contiguous:
        return shape, to_f32_bytes(raw[off * size : (off + n) * size], st.dtype, n)
    # a view: gather its elements in row-major order
    offsets = [off]
    for d, s in zip(shape, stride):
        offsets = [o + i * s for o in offsets for i in range(d)]
    picked = b"".join(raw[o * size : (o + 1) * size] for o in offsets)
    return shape, to_f32_bytes(picked, st.dtype, n)


# the parameters dyvm reads (SPEC.md section 2), as patterns over the state dict's keys
USED = [re.compile(p) for p in (
    r"patch_embed\.proj\.(weight|bias)", r"cls_token", r"pos_embed", r"norm_f\.weight", r"head\.(weight|bias)",
    r"layers\.\d+\.norm\.weight", r"layers\.\d+\.mixer\.(in_proj|out_proj)\.weight",
    r"layers\.\d+\.mixer\.(conv1d|conv1d_b|dt_proj|dt_proj_b)\.(weight|bias)",
    r"layers\.\d+\.mixer\.(x_proj|x_proj_b)\.weight", r"layers\.\d+\.mixer\.(A_log|A_b_log|D|D_b)",
    r"layers\.\d+\.mixer\.block_head\.(weight|bias)",
    r"score_predictors\.\d+\.(in_conv\.[01]|out_conv\.[024])\.(weight|bias)",
)]


def pick_state_dict(obj, ema, path):
    """(state dict, which part, the args namespace or None, the top-level entries skipped)"""
    if isinstance(obj, dict) and ("model" in obj or "model_ema" in obj):
        part = "model_ema" if ema else "model"
        if part not in obj or not isinstance(obj[part], dict):
            raise Refused(f"{path}: the checkpoint has no {part} state dict"
                          + (" (drop --ema)" if ema else " (try --ema)" if "model_ema" in obj else ""))
        args = obj.get("args")
        skipped = [k for k in obj if k not in (part, "args")]
        return obj[part], part, args if isinstance(args, PlainNamespace) else None, skipped
    if isinstance(obj, dict) and obj and all(isinstance(v, TensorRef) for v in obj.values()):
        if ema:
            raise Refused(f"{path}: a bare state dict has no model_ema (drop --ema)")
        return obj, "state dict", None, []
    raise Refused(f"{path}: neither the official checkpoint dict (model, model_ema, args, ...) nor a state dict")


def key_pattern(k):
    return re.sub(r"\.\d+\.", ".{i}.", k)


def ratio_arg(s):
    try:
        v = float(s)
    except ValueError:
        v = -1
    if not (0 < v <= 1):
        raise argparse.ArgumentTypeError(f'"{s}" is not a number in (0, 1]')
    return v


def loc_arg(s):
    try:
        v = [int(x) for x in s.split(",")]
    except ValueError:
        v = []
    if not v or any(x < 0 for x in v):
        raise argparse.ArgumentTypeError(f'"{s}" is not a list of layer indices like 6,12,18')
    return v


def shape_of(tensors, name, rank, path):
    if name not in tensors:
        raise Refused(f"{path}: the state dict has no {name}, which every Vim model has")
    shape = tensors[name].shape
    if len(shape) != rank:
        raise Refused(f"{path}: {name} has shape {list(shape)}, not {rank} dimensions")
    return shape


def config(tensors, args, opts, path):
    """the metadata of SPEC.md section 7 from the shapes, args and the flags"""
    D, C, P, P2 = shape_of(tensors, "patch_embed.proj.weight", 4, path)
    M = shape_of(tensors, "pos_embed", 3, path)[1] - 1
    side = math.isqrt(max(M, 0))
    if M <= 0 or side * side != M or P != P2:
        raise Refused(f"{path}: pos_embed ({M} patches) and patch_embed.proj.weight do not make a square grid")
    E2 = shape_of(tensors, "layers.0.mixer.in_proj.weight", 2, path)[0]
    N = shape_of(tensors, "layers.0.mixer.A_log", 2, path)[1]
    K = shape_of(tensors, "layers.0.mixer.conv1d.weight", 3, path)[2]
    R = shape_of(tensors, "layers.0.mixer.dt_proj.weight", 2, path)[1]
    classes = shape_of(tensors, "head.weight", 2, path)[0]
    depth = 0
    while f"layers.{depth}.norm.weight" in tensors:
        depth += 1
    n_prune = 0
    while f"score_predictors.{n_prune}.in_conv.1.weight" in tensors:
        n_prune += 1
    if E2 % (2 * D):
        raise Refused(f"{path}: in_proj's {E2} rows are not a multiple of 2 x embed_dim {D}")
    meta = {"format": FORMAT, "img_size": str(side * P), "patch_size": str(P), "stride": str(P), "channels": str(C),
            "embed_dim": str(D), "depth": str(depth), "d_state": str(N), "d_conv": str(K), "expand": str(E2 // (2 * D)),
            "dt_rank": str(R), "num_classes": str(classes), "norm_eps": "1e-05", "num_patches": str(M),
            "cls_position": str(M // 2)}
    get = lambda k: getattr(args, k, None)
    size = get("input_size")
    if isinstance(size, int) and size != side * P:
        raise Refused(f"{path}: args.input_size {size} disagrees with pos_embed ({side} x {side} patches of {P})")
    notes = []
    if n_prune:
        loc = opts.pruning_loc or get("pruning_loc") or [(k + 1) * depth // (n_prune + 1) for k in range(n_prune)]
        if len(loc) != n_prune or any(not isinstance(x, int) or not 0 < x < depth for x in loc) or sorted(set(loc)) != list(loc):
            raise Refused(f"{path}: pruning locations {loc} do not fit {n_prune} predictors in {depth} layers "
                          "(ascending, each in 1..depth-1)")
        meta["pruning_loc"] = ",".join(str(x) for x in loc)
        ratio = opts.token_ratio or get("token_keep_ratio")
        if isinstance(ratio, (int, float)) and 0 < ratio <= 1:
            meta["token_ratio"] = repr(float(ratio))
            meta["token_keep"] = ",".join(str(int(float(ratio) ** (k + 1) * M)) for k in range(n_prune))
        else:
            notes.append("no token keep ratio (neither --token-ratio nor args.token_keep_ratio): "
                         "the pruning variants will need --token-ratio")
    block = opts.block_ratio or get("block_keep_ratio")
    if "layers.0.mixer.block_head.weight" in tensors and isinstance(block, (int, float)) and 0 <= block <= 1:
        meta["block_keep_ratio"] = repr(float(block))
    return meta, depth, n_prune, notes


def write_safetensors(path, tensors, meta):
    header = {"__metadata__": meta}
    offset = 0
    for name, (shape, data) in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for _, data in tensors.values():
                f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        raise Refused(f"{path}: cannot write it ({e.strerror})")


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a bad command line said in one line (not usage and error)"""

    def error(self, message):
        raise Refused(f"{message} (see --help)")


def main():
    ap = OneLineParser(description=__doc__.split("\n\n")[0], prog="convert-checkpoint.py")
    ap.add_argument("input", metavar="IN.pth")
    ap.add_argument("output", metavar="OUT.safetensors")
    ap.add_argument("--ema", action="store_true", help="convert model_ema instead of model")
    ap.add_argument("--token-ratio", type=ratio_arg, help="token keep ratio per stage (overrides args)")
    ap.add_argument("--pruning-loc", type=loc_arg, help="layers of the pruning stages, e.g. 6,12,18")
    ap.add_argument("--block-ratio", type=ratio_arg, help="the block keep target (overrides args)")
    opts = ap.parse_args()
    path = opts.input
    z, prefix, obj = open_checkpoint(path)
    sd, part, args, skipped_top = pick_state_dict(obj, opts.ema, path)
    tensors, unused = {}, collections.Counter()
    for key, t in sd.items():
        name = key[len("module."):] if isinstance(key, str) and key.startswith("module.") else key
        if not isinstance(name, str) or not isinstance(t, TensorRef):
            raise Refused(f"{path}: {part} holds an entry {str(key)[:60]} that is not a tensor")
        if any(p.fullmatch(name) for p in USED):
            tensors[name] = t
        else:
            unused[key_pattern(name)] += 1
    meta, depth, n_prune, notes = config(tensors, args, opts, path)
    meta["source"] = f"converted by scripts/convert-checkpoint.py from {path.split('/')[-1]} ({part})"
    cache, out = {}, {}
    for name in sorted(tensors):
        out[name] = tensor_f32(z, prefix, name, tensors[name], cache, path)
    write_safetensors(opts.output, out, meta)
    params = sum(math.prod(s) for s, _ in out.values())
    has_heads = "layers.0.mixer.block_head.weight" in out
    heads = "block heads" if has_heads else "no block heads"
    preds = (f"{n_prune} score predictors at {meta['pruning_loc']}"
             + (f", token ratio {meta['token_ratio']}" if "token_ratio" in meta else ", no token ratio")
             if n_prune else "no score predictors")
    kind = "DyVM" if n_prune and has_heads else "Vim" if not n_prune and not has_heads else "Vim with some DyVM heads"
    skipped = [f"{k} ({n} key{'s' if n > 1 else ''})" for k, n in sorted(unused.items())] + skipped_top
    print(f"{opts.output}: {kind} from {part}: embed_dim {meta['embed_dim']}, depth {depth}, d_state {meta['d_state']}, "
          f"{meta['num_classes']} classes, {meta['num_patches']} patches of {meta['patch_size']}, "
          f"{params / 1e6:.2f} M parameters; {heads}; {preds}"
          + (f"; skipped: {', '.join(skipped)}" if skipped else ""))
    for n in notes:
        print(f"note: {n}", file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except Refused as e:
        print(f"convert-checkpoint: {e}", file=sys.stderr)
        sys.exit(2)
    except MemoryError:
        print("convert-checkpoint: out of memory", file=sys.stderr)
        sys.exit(2)
