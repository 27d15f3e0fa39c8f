#!/usr/bin/env python3
"""Independent reader of gblm's masks.safetensors (standard library only: json + struct + hashlib).

Reads the file by the safetensors layout (8-byte little-endian header length, JSON header, data), checks it,
unpacks every mask and prints one JSON object on stdout:

    {"metadata": {...},
     "tensors": {"model.layers.0.self_attn.q_proj.weight":
                   {"shape": [out, in], "pruned": <count of pruned entries>,
                    "sha256": <SHA-256 of the row-major unpacked mask, one byte per entry: 1 pruned, 0 kept>}}}

Packing (documented in docs/batch-pruning.md and MaskSafetensors.java): each tensor is U8 [out, ceil(in/8)],
each row of the [out, in] weight packed on its own; column c is bit c % 8 (least significant bit first) of byte
c // 8 of its row; 1 = pruned. `in` per tensor is in __metadata__["columns"] (a JSON object as a string).
With numpy the same unpacking is np.unpackbits(t, axis=1, bitorder="little")[:, :in].

Exit status 1 with a message on stderr when the file does not follow the layout.
"""
import hashlib
import json
import struct
import sys

try:  # optional: cross-check the documented numpy recipe when numpy is installed
    import numpy as np
except ImportError:
    np = None


def fail(msg):
    print("read_masks: " + msg, file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail("file too short")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        fail("header length %d past end of file" % n)
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in meta.values()):
        fail("__metadata__ values must be strings")
    if meta.get("format") != "gblm-masks/1":
        fail("unknown format %r" % meta.get("format"))
    if meta.get("bit_order") != "little" or meta.get("pruned_bit") != "1":
        fail("unexpected bit_order/pruned_bit %r/%r" % (meta.get("bit_order"), meta.get("pruned_bit")))
    columns = json.loads(meta["columns"])
    # safetensors requires the tensors to tile the data area exactly
    spans = sorted((t["data_offsets"][0], t["data_offsets"][1], name) for name, t in header.items())
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            fail("data of %s starts at %d, expected %d" % (name, begin, pos))
        pos = end
    if pos != len(data):
        fail("tensors cover %d data bytes, file has %d" % (pos, len(data)))
    out = {}
    for name, t in header.items():
        if t["dtype"] != "U8" or len(t["shape"]) != 2:
            fail("%s: expected a 2-D U8 tensor, got %s %s" % (name, t["dtype"], t["shape"]))
        rows, row_bytes = t["shape"]
        cols = columns[name]
        if row_bytes != (cols + 7) // 8:
            fail("%s: %d bytes per row for %d columns" % (name, row_bytes, cols))
        begin, end = t["data_offsets"]
        if end - begin != rows * row_bytes:
            fail("%s: %d bytes for shape %s" % (name, end - begin, t["shape"]))
        raw = data[begin:end]
        unpacked = bytearray(rows * cols)
        pruned = 0
        for r in range(rows):
            row = raw[r * row_bytes:(r + 1) * row_bytes]
            for c in range(cols):
                if (row[c >> 3] >> (c & 7)) & 1:
                    unpacked[r * cols + c] = 1
                    pruned += 1
            if cols % 8 and row[-1] >> (cols % 8):
                fail("%s: row %d has padding bits set" % (name, r))
        if np is not None:
            # the documented numpy recipe must give the same bits
            t_np = np.frombuffer(raw, dtype=np.uint8).reshape(rows, row_bytes)
            via_np = np.unpackbits(t_np, axis=1, bitorder="little")[:, :cols]
            if via_np.tobytes() != bytes(unpacked):
                fail("%s: numpy unpackbits disagrees with the bit-by-bit reading" % name)
        out[name] = {"shape": [rows, cols], "pruned": pruned,
                     "sha256": hashlib.sha256(bytes(unpacked)).hexdigest()}
    return {"metadata": meta, "tensors": out, "numpy_checked": np is not None}


def main(argv):
    if len(argv) != 2:
        print("usage: read_masks.py MASKS.safetensors", file=sys.stderr)
        return 2
    json.dump(read(argv[1]), sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
