"""Engines by name: ``create_engine("local")``, and ``register_engine`` for the others.

Apart from ocr/engine.py (the interface) so that the local engine, which implements the
interface, is not imported by the module it depends on: the factory sits on top.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ocr.engine import Engine

EngineFactory = Callable[..., Engine]


def _local_engine(**options: Any) -> Engine:
    # Imported on first use: OpenCV and onnxruntime load only when the local engine is built.
    from ocr.local import LocalEngine

    return LocalEngine(**options)


_factories: dict[str, EngineFactory] = {"local": _local_engine}
_factories_lock = threading.Lock()


def register_engine(name: str, factory: EngineFactory) -> None:
    with _factories_lock:
        _factories[name] = factory


def create_engine(name: str, **options: Any) -> Engine:
    """Build a registered engine; ``options`` go to its factory (config, http client...)."""
    try:
        factory = _factories[name]
    except KeyError:
        raise ValueError(f"unknown OCR engine {name!r}; known: {sorted(_factories)}") from None
    return factory(**options)
