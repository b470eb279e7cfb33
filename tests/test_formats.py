from __future__ import annotations

import pytest
import pyvips

from origin.pipeline.formats import sniff
from tests.images import photo


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        (".jpg", "jpeg"),
        (".png", "png"),
        (".webp", "webp"),
        (".gif", "gif"),
        (".avif", "avif"),
        (".tif", "tiff"),
    ],
)
def test_sniff_real_files(suffix: str, expected: str) -> None:
    assert sniff(photo(64, 48).write_to_buffer(suffix)) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIC is not AVIF
        b"\x00\x00\x00\xffftypavif",  # box size beyond the data
        b"RIFF\x00\x00\x00\x00WAVE",
    ],
)
def test_sniff_rejects(data: bytes) -> None:
    assert sniff(data) is None


def test_heic_brand_list_with_avif_compatible_brand_is_avif() -> None:
    box = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf"
    assert sniff(box + b"\x00" * 16) == "avif"


def test_allowlisted_loaders_only() -> None:
    from origin.pipeline import vips

    vips.configure()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(svg, "")
    assert pyvips.Image.new_from_buffer(photo(8, 8).write_to_buffer(".png"), "").width == 8
