from __future__ import annotations

import pytest
import pyvips

from origin.pipeline.formats import sniff
from tests import images
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
        b"<html><body>no picture here</body></html>",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42",  # a video, not HEIF
        b"\x00\x00\x00\xffftypavif",  # box size beyond the data
        b"RIFF\x00\x00\x00\x00WAVE",
    ],
)
def test_sniff_rejects(data: bytes) -> None:
    assert sniff(data) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heix", "heic"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- drawn -->\n<svg/>", "svg"),
    ],
)
def test_sniff_heic_and_svg(data: bytes, expected: str) -> None:
    assert sniff(data + b"\x00" * 8 if expected == "heic" else data) == expected


def test_heic_brand_list_with_avif_compatible_brand_is_avif() -> None:
    box = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf"
    assert sniff(box + b"\x00" * 16) == "avif"


def test_allowlisted_loaders_only() -> None:
    from origin.pipeline import vips

    vips.configure()
    # libvips reads a matrix file (text) from memory; that loader is not ours.
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_source(pyvips.Source.new_from_memory(b"2 2\n1 2\n3 4\n"), "")
    assert pyvips.Image.new_from_buffer(photo(8, 8).write_to_buffer(".png"), "").width == 8


@pytest.mark.parametrize(
    "extra",
    [
        ("", '<rect width="9" height="9" fill="url(\'#g\')"/><linearGradient id="g"/>'),
        ("", '<g id="x"/><use href="#x"/><use xlink:href=" #x"/>'),
        ("", '<sodipodi:namedview xmlns:sodipodi="http://sodipodi.sf.net/x" onclick="x"/>'),
        ("", "<style>rect { fill: url(#g) }</style>"),
    ],
)
def test_harmless_svgs_are_drawn(extra: tuple[str, str]) -> None:
    """What editors write and draws nothing from elsewhere: local references in any
    quoting, shared <use>, other namespaces' metadata (dropped), local CSS urls."""
    from origin.pipeline.svg import sanitise

    root, body = extra
    cleaned = sanitise(images.svg(root=root, body=body))
    assert b"sodipodi" not in cleaned and b"onclick" not in cleaned


def test_a_public_doctype_is_dropped_not_refused() -> None:
    from origin.pipeline.svg import sanitise

    doctype = (
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    )
    data = images.svg().replace(b"?>\n", b"?>\n" + doctype, 1)
    assert b"DOCTYPE" not in sanitise(data)
