"""Bytes against SSIM of the same variant from several servers (issue #17: no winning
by cheaper encoding): each photo at one width in each format, at each server's default
quality, its bytes and the SSIM of its luma against a Lanczos resize of the original
to the same size (tests.golden.ssim, as bench/quality.py uses)."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import pyvips

from bench.client import session
from bench.summary import Row, ratio_at_least, ratio_at_most
from bench.targets import Pair
from origin.spec import OutputFormat
from tests.golden import ssim

WIDTH = 800
CONTENT_TYPE = {OutputFormat.WEBP: "image/webp", OutputFormat.JPG: "image/jpeg"}
CONTENT_TYPE[OutputFormat.AVIF] = "image/avif"

Url = Callable[[OutputFormat, str, Pair], str]  # (format, source, (copy, width)) -> URL


@dataclass(frozen=True)
class Output:
    size: int  # bytes
    ssim: float


Results = dict[OutputFormat, dict[str, list[Output]]]  # by format, by server; one a photo


def reference(original: bytes, width: int, height: int) -> pyvips.Image:
    """The original turned upright, in sRGB, resized to exactly width x height with
    Lanczos 3: what every server's output is held to."""
    image = pyvips.Image.new_from_buffer(original, "").autorot().colourspace("srgb")
    image = image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")
    return image.copy_memory()


async def compare(
    photos: dict[str, bytes], formats: list[OutputFormat], urls: dict[str, Url]
) -> Results:
    """Each server's variant of copy 0 of each photo at WIDTH in each format; a server
    that does not answer a format with it is left out of that format, and said so."""
    references: dict[tuple[str, int, int], pyvips.Image] = {}
    results: Results = {fmt: {} for fmt in dict.fromkeys(formats)}
    async with session() as client:
        for fmt, by_server in results.items():
            for server, url in urls.items():
                outputs = []
                for photo, original in photos.items():
                    async with client.get(url(fmt, photo, (0, WIDTH))) as response:
                        body = await response.read()
                        answered = (response.status, response.content_type)
                    if answered != (200, CONTENT_TYPE[fmt]):
                        print(f"!! {server}: no {fmt.value} of {photo} to compare: {answered}")
                        break
                    rendered = pyvips.Image.new_from_buffer(body, "").copy_memory()
                    size = (photo, rendered.width, rendered.height)
                    if size not in references:
                        references[size] = await asyncio.to_thread(reference, original, *size[1:])
                    outputs.append(Output(len(body), ssim(rendered, references[size])))
                else:
                    by_server[server] = outputs
    print_results(results, list(photos))
    return results


def print_results(results: Results, photos: list[str]) -> None:
    print(
        f"bytes and SSIM at the default quality, w={WIDTH}, against a Lanczos resize of "
        f"the original: {', '.join(photos)}"
    )
    for fmt, by_server in results.items():
        for server, outputs in by_server.items():
            cells = "  ".join(f"{o.size:>7} B {o.ssim:.4f}" for o in outputs)
            print(f"  {fmt.value:<5} {server:<10} {cells}")


def rows(results: Results, ours: str) -> list[Row]:
    """Per format and peer: our total bytes, and our mean SSIM, against theirs."""
    table = []
    for fmt, by_server in results.items():
        if ours not in by_server:
            continue
        mine = by_server[ours]
        for server, theirs in by_server.items():
            if server == ours:
                continue
            label = f"{fmt.value} w={WIDTH}, {len(mine)} photos,"
            table += [
                Row(
                    f"{label} bytes",
                    sum(o.size for o in mine),
                    "B",
                    server,
                    sum(o.size for o in theirs),
                    ratio_at_most(1.0),
                ),
                Row(
                    f"{label} SSIM",
                    statistics.mean(o.ssim for o in mine),
                    "SSIM",
                    server,
                    statistics.mean(o.ssim for o in theirs),
                    ratio_at_least(1.0),
                ),
            ]
    return table
