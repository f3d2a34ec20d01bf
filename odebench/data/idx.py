"""IDX files (the MNIST format), plain or gzip-compressed, to and from numpy arrays.

Layout: two zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
dimension, then the values in C order (big-endian for multi-byte types).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from odebench.data.errors import FormatError

GZIP_MAGIC = b"\x1f\x8b"
TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
CODES = {dtype.newbyteorder(">"): code for code, dtype in TYPES.items()}


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip detected from its first bytes); check ``ndim`` when given."""
    raw = Path(path).read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise FormatError(f"{path}: corrupt gzip stream ({err})") from err
    return decode_idx(raw, name=str(path), ndim=ndim)


def decode_idx(raw: bytes, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Decode uncompressed IDX bytes, validating magic number, dimensions and size."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in TYPES:
        raise FormatError(f"{name}: not an IDX file (magic bytes {raw[:4].hex() or 'missing'}; "
                          f"expected 0000 + type code in {sorted(TYPES)} + ndim)")
    dtype, dims = TYPES[raw[2]], raw[3]
    if ndim is not None and dims != ndim:
        raise FormatError(f"{name}: expected {ndim} dimensions, file has {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise FormatError(f"{name}: truncated header ({len(raw)} bytes, need {header})")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise FormatError(f"{name}: shape {shape} needs {expected} data bytes, "
                          f"file has {len(raw) - header}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes of ``array`` (the inverse of :func:`decode_idx`)."""
    big = np.dtype(array.dtype).newbyteorder(">")
    if big not in CODES:
        raise FormatError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, CODES[big], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=big).tobytes()
