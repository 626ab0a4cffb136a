"""A byte-exact GGUF v3 serializer for hostile test files: every count, offset and type is the caller's.

read_model() turns a real GGUF (read with the PyPI gguf package, the independent reader) into plain lists
that tests mutate; write() serializes them without any of the checks a real writer would make.
"""
import struct

import gguf
import numpy as np

T = gguf.GGUFValueType
_SCALAR = {T.UINT8: "<B", T.INT8: "<b", T.UINT16: "<H", T.INT16: "<h", T.UINT32: "<I", T.INT32: "<i",
           T.FLOAT32: "<f", T.BOOL: "<?", T.UINT64: "<Q", T.INT64: "<q", T.FLOAT64: "<d"}


def _value(vtype, v):
    if vtype == T.STRING:
        b = v.encode() if isinstance(v, str) else bytes(v)
        return struct.pack("<Q", len(b)) + b
    return struct.pack(_SCALAR[vtype], v)


def encode_kv(key, vtype, value, elem=None):
    out = _value(T.STRING, key) + struct.pack("<I", int(vtype))
    if vtype == T.ARRAY:
        out += struct.pack("<IQ", int(elem), len(value)) + b"".join(_value(elem, x) for x in value)
    else:
        out += _value(vtype, value)
    return out


def read_model(path):
    """-> (kvs, tensors): kvs = [(key, type, value, elem)], tensors = [dict(name, shape, type, data)]."""
    r = gguf.GGUFReader(path)
    kvs = []
    for name, f in r.fields.items():
        if name.startswith("GGUF."):
            continue
        vtype = f.types[0]
        elem = f.types[1] if vtype == T.ARRAY else None
        value = f.contents()
        kvs.append((name, vtype, value, elem))
    tensors = []
    for t in r.tensors:
        tensors.append({"name": t.name, "shape": [int(x) for x in t.shape], "type": int(t.tensor_type),
                        "data": bytes(np.asarray(t.data).tobytes())})
    return kvs, tensors


def write(path, kvs, tensors, n_kv=None, n_tensors=None, offsets=None, alignment=32):
    """Writes the file. n_kv / n_tensors override the header counts; offsets overrides each tensor's offset."""
    header = b"GGUF" + struct.pack("<I", 3)
    header += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors, len(kvs) if n_kv is None else n_kv)
    body = b"".join(encode_kv(k, t, v, e) for k, t, v, e in kvs)
    data, auto = b"", []
    for t in tensors:
        auto.append(len(data))
        data += t["data"]
        data += b"\0" * (-len(data) % alignment)
    offs = offsets or auto
    for t, off in zip(tensors, offs):
        body += _value(T.STRING, t["name"]) + struct.pack("<I", len(t["shape"]))
        body += b"".join(struct.pack("<Q", d) for d in t["shape"]) + struct.pack("<IQ", t["type"], off % (1 << 64))
    blob = header + body
    blob += b"\0" * (-len(blob) % alignment)
    with open(path, "wb") as f:
        f.write(blob + data)
    return path


def set_kv(kvs, key, vtype, value, elem=None):
    """Replaces (or appends) one key."""
    out = [kv for kv in kvs if kv[0] != key]
    out.append((key, vtype, value, elem))
    return out


def f32_tensor_values(t):
    assert t["type"] == 0, t["name"]
    return np.frombuffer(t["data"], dtype=np.float32).copy()
