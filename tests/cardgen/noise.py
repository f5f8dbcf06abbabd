"""Array helpers shared by card printing and scene building: smooth noise and pixel grids."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


def as_f32(values: Any) -> Array:
    """Pins numpy/cv2 results (typed loosely) to the float32 arrays passed around here."""
    return np.asarray(values, dtype=np.float32)


def resize(array: Array, size: tuple[int, int]) -> Array:
    """``array`` stretched to ``size`` = (width, height) with linear filtering."""
    return as_f32(cv2.resize(array, size, interpolation=cv2.INTER_LINEAR))


def smooth_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> Array:
    """Noise in [0, 1] that varies over about ``cells`` steps across the width."""
    width, height = size
    small = rng.random((max(2, cells * height // width), cells)).astype(np.float32)
    return resize(small, (width, height))


def grid(width: int, height: int) -> tuple[Array, Array]:
    """Broadcastable pixel coordinates: (height, 1) and (1, width), cheap to build."""
    return (
        np.arange(height, dtype=np.float32)[:, None],
        np.arange(width, dtype=np.float32)[None, :],
    )
