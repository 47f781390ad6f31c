"""safetensors_io.py: a small safetensors reader/writer plus exact BF16 and FP8 E4M3 codecs.

Format: an 8-byte little-endian u64 header length N, then N bytes of JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data section;
offsets are relative to the data section. The reader checks every bound before it reads.
Sharded checkpoints: model.safetensors.index.json = {"metadata": {"total_size": bytes of tensor data}, "weight_map":
{name: shard file}} next to the shards (load_checkpoint, write_sharded).
Not here: F8_E5M2. Used by model.py, dense.py, make_golden.py, check.py.
"""

import json
import math
import os
import struct
import tempfile

import numpy as np
import torch

# dtype string -> (bytes per element, numpy dtype used for the raw read)
_DTYPES = {
    "F64": (8, np.dtype("<f8")),
    "F32": (4, np.dtype("<f4")),
    "F16": (2, np.dtype("<f2")),
    "BF16": (2, np.dtype("<u2")),
    "F8_E4M3": (1, np.dtype("u1")),
    "I64": (8, np.dtype("<i8")),
    "I32": (4, np.dtype("<i4")),
    "U8": (1, np.dtype("u1")),
}

_MAX_HEADER = 100 * 1024 * 1024


# ---------------------------------------------------------------------------------------------------------------
# E4M3 (float8_e4m3fn): 1 sign, 4 exponent bits with bias 7, 3 mantissa bits; no infinity; 0x7F/0xFF are NaN;
# max 448; value = (-1)^s 2^(e-7) (1 + m/8) for e > 0, (-1)^s 2^-6 (m/8) for e = 0.  (OCP OFP8 spec; deepseek-ai/DeepSeek-V3:README_WEIGHTS.md)

def _e4m3_table():
    table = np.zeros(256, dtype=np.float64)
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        e = (code >> 3) & 0xF
        m = code & 0x7
        if e == 0xF and m == 0x7:
            table[code] = math.nan
        elif e == 0:
            table[code] = sign * math.ldexp(m / 8.0, -6)
        else:
            table[code] = sign * math.ldexp(1.0 + m / 8.0, e - 7)
    return table


E4M3_TABLE = _e4m3_table()
E4M3_MAX = 448.0


def e4m3_decode(codes):
    """uint8 array -> float64 array, exact."""
    return E4M3_TABLE[np.asarray(codes, dtype=np.uint8)]


def e4m3_encode(values):
    """float array -> uint8 codes, round to nearest, ties to even mantissa; saturates at +-448 (no NaN input)."""
    x = np.asarray(values, dtype=np.float64)
    if np.isnan(x).any():
        raise ValueError("e4m3_encode: NaN input; expected finite values")
    mag = np.minimum(np.abs(x), E4M3_MAX)
    positive = E4M3_TABLE[:0x7F]  # codes 0..126, increasing, 0 .. 448
    hi = np.searchsorted(positive, mag, side="left")  # first code with value >= mag
    hi = np.minimum(hi, 0x7E)
    lo = np.maximum(hi - 1, 0)
    d_lo = mag - positive[lo]
    d_hi = positive[hi] - mag
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (hi % 2 == 0))
    code = np.where(pick_hi, hi, lo).astype(np.uint8)
    code = np.where(x < 0, code | 0x80, code).astype(np.uint8)
    return code


# ---------------------------------------------------------------------------------------------------------------
# BF16: the top 16 bits of an IEEE float32. Encoding rounds to nearest even.

def bf16_decode(bits):
    u = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return u.view(np.float32)


def bf16_encode(values):
    f = np.ascontiguousarray(np.asarray(values, dtype=np.float32))
    u = f.view(np.uint32).astype(np.uint64)
    rounding = ((u >> 16) & 1) + 0x7FFF
    return ((u + rounding) >> 16).astype(np.uint16)


# ---------------------------------------------------------------------------------------------------------------
# Reader

def read_raw(path):
    """Returns {name: (dtype_string, shape, numpy array of raw elements)} and the metadata dict."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: file is {len(blob)} bytes; expected at least 8 (the header length)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > _MAX_HEADER or 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} does not fit the file of {len(blob)} bytes")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    data = memoryview(blob)[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        dtype = info.get("dtype")
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {dtype!r}; expected one of {sorted(_DTYPES)}")
        shape = info.get("shape")
        offsets = info.get("data_offsets")
        if not isinstance(shape, list) or any((not isinstance(s, int)) or s < 0 for s in shape):
            raise ValueError(f"{path}: tensor {name} has shape {shape!r}; expected a list of non-negative ints")
        if not isinstance(offsets, list) or len(offsets) != 2:
            raise ValueError(f"{path}: tensor {name} has data_offsets {offsets!r}; expected [begin, end]")
        begin, end = offsets
        size, npdtype = _DTYPES[dtype]
        count = math.prod(shape)
        if not (0 <= begin <= end <= len(data)) or end - begin != count * size:
            raise ValueError(f"{path}: tensor {name} offsets [{begin}, {end}] do not hold {count} x {dtype} "
                             f"inside a data section of {len(data)} bytes")
        arr = np.frombuffer(data[begin:end], dtype=npdtype).reshape(shape).copy()
        out[name] = (dtype, shape, arr)
    return out, metadata


def to_float64(dtype, arr):
    """Raw elements -> float64 numpy array (exact for every supported float dtype)."""
    if dtype == "BF16":
        return bf16_decode(arr).astype(np.float64)
    if dtype == "F8_E4M3":
        return e4m3_decode(arr)
    return arr.astype(np.float64)


def load_tensors(path):
    """Reads a safetensors file and returns {name: float64 torch tensor} (FP8 left undequantized: the codes'
    values), plus {name: dtype string}."""
    raw, _ = read_raw(path)
    tensors = {name: torch.from_numpy(to_float64(dt, arr)) for name, (dt, _, arr) in raw.items()}
    dtypes = {name: dt for name, (dt, _, _) in raw.items()}
    return tensors, dtypes


SINGLE_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"


def load_checkpoint(directory):
    """A checkpoint directory -> ({name: float64 tensor}, {name: dtype string}). Reads model.safetensors when it
    exists, else model.safetensors.index.json and every shard it names. The index must map every tensor of every
    shard to that shard and nothing else, and its total_size must equal the shards' tensor bytes."""
    single = os.path.join(directory, SINGLE_NAME)
    if os.path.exists(single):
        return load_tensors(single)
    index_path = os.path.join(directory, INDEX_NAME)
    if not os.path.exists(index_path):
        raise ValueError(f"{directory}: neither {SINGLE_NAME} nor {INDEX_NAME}")
    with open(index_path, encoding="utf-8") as f:
        index = json.load(f)
    weight_map = index.get("weight_map")
    total_size = (index.get("metadata") or {}).get("total_size")
    if not isinstance(weight_map, dict) or not weight_map:
        raise ValueError(f"{index_path}: no weight_map object")
    tensors, dtypes, nbytes = {}, {}, 0
    for shard in sorted(set(weight_map.values())):
        if os.path.basename(shard) != shard:
            raise ValueError(f"{index_path}: shard {shard!r} is not a file name in the checkpoint directory")
        raw, _ = read_raw(os.path.join(directory, shard))
        for name, (dt, _, arr) in raw.items():
            if weight_map.get(name) != shard:
                raise ValueError(f"{shard}: tensor {name} is mapped to {weight_map.get(name)!r} by the index")
            tensors[name] = torch.from_numpy(to_float64(dt, arr))
            dtypes[name] = dt
            nbytes += arr.nbytes
    missing = sorted(set(weight_map) - set(tensors))
    if missing:
        raise ValueError(f"{index_path}: {len(missing)} mapped tensors are in no shard, e.g. {missing[0]}")
    if total_size is not None and int(total_size) != nbytes:
        raise ValueError(f"{index_path}: total_size {total_size} != {nbytes} bytes of tensor data in the shards")
    return tensors, dtypes


# ---------------------------------------------------------------------------------------------------------------
# Writer

def _encode(dtype, value):
    a = value.detach().cpu().double().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if dtype == "F32":
        return a.astype("<f4")
    if dtype == "F64":
        return a.astype("<f8")
    if dtype == "BF16":
        return bf16_encode(a).astype("<u2")
    if dtype == "F8_E4M3":
        if a.dtype != np.uint8:
            raise ValueError("F8_E4M3 tensors must be passed as uint8 codes (use e4m3_encode)")
        return a
    if dtype == "I64":
        return a.astype("<i8")
    if dtype == "I32":
        return a.astype("<i4")
    raise ValueError(f"unsupported dtype {dtype!r} for writing; expected F32, F64, BF16, F8_E4M3, I64, I32")


def write(path, tensors, metadata=None):
    """tensors: {name: (dtype_string, torch tensor or numpy array)}. Names are written sorted; the header is
    padded with spaces to a multiple of 8 bytes. The file is written to a temp file and renamed (atomic)."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        dtype, value = tensors[name]
        a = np.ascontiguousarray(_encode(dtype, value))
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for raw in chunks:
                f.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_sharded(directory, shards, metadata=None):
    """shards: [(file name, {name: (dtype, value)})] -> the shard files plus model.safetensors.index.json in HF's
    layout (indent 2, sorted keys, trailing newline). total_size counts tensor data bytes, not headers."""
    weight_map, total = {}, 0
    for file_name, tensors in shards:
        write(os.path.join(directory, file_name), tensors, metadata)
        for name, (dtype, value) in tensors.items():
            if name in weight_map:
                raise ValueError(f"tensor {name} is in two shards")
            weight_map[name] = file_name
            total += _encode(dtype, value).nbytes
    write_json(os.path.join(directory, INDEX_NAME), {"metadata": {"total_size": total}, "weight_map": weight_map},
               indent=2, sort_keys=True)


def write_json(path, obj, indent=1, sort_keys=False):
    """Atomic JSON write (temp file + rename). Floats are written with repr, so they read back bit-exact."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=indent, sort_keys=sort_keys)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
