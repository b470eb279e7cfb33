"""Golden-image comparison by SSIM, with `pytest --update-golden` to rewrite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvips

GOLDEN = Path(__file__).resolve().parent / "golden"


def _grey(image: pyvips.Image) -> np.ndarray:
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    image = image.colourspace("b-w")
    return np.ndarray(
        buffer=image.write_to_memory(),
        dtype=np.uint8,
        shape=(image.height, image.width, image.bands),
    )[:, :, 0].astype(np.float64)


def ssim(a: pyvips.Image, b: pyvips.Image, block: int = 8) -> float:
    """Mean SSIM over non-overlapping 8x8 blocks of the grey images (1.0: identical)."""
    x, y = _grey(a), _grey(b)
    h, w = (x.shape[0] // block) * block, (x.shape[1] // block) * block
    shape = (h // block, block, w // block, block)
    xb, yb = x[:h, :w].reshape(shape), y[:h, :w].reshape(shape)
    mx, my = xb.mean(axis=(1, 3)), yb.mean(axis=(1, 3))
    vx, vy = xb.var(axis=(1, 3)), yb.var(axis=(1, 3))
    cov = ((xb - mx[:, None, :, None]) * (yb - my[:, None, :, None])).mean(axis=(1, 3))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    index = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(index.mean())


def assert_matches_golden(
    config: pytest.Config, name: str, data: bytes, minimum: float = 0.99
) -> None:
    path = GOLDEN / f"{name}.png"
    actual = pyvips.Image.new_from_buffer(data, "")
    if config.getoption("--update-golden"):
        actual.pngsave(str(path))
        return
    assert path.exists(), f"no golden image {path.name}: run pytest --update-golden"
    expected = pyvips.Image.new_from_buffer(path.read_bytes(), "")  # file loaders are blocked
    assert (actual.width, actual.height) == (expected.width, expected.height)
    score = ssim(actual, expected)
    assert score >= minimum, f"{name}: SSIM {score:.4f} < {minimum}"
