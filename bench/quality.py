"""Bytes against quality: what each output format costs, and keeps, at the defaults.

For a set of generated originals (a noisy photo, a smooth gradient, a flat graphic
with text-like edges, a UI screenshot, a logo on transparency) this renders
`?w=<WIDTH>&fm=<format>` through the origin's own render function, so a change of
encoder settings shows here, and prints per output: its bytes, bits per pixel, SSIM
(of the luma) and mean CIEDE2000 against the original resized to the same size by
libvips' thumbnail, and the render time. Run alone with `python -m bench.quality`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import pyvips

from origin import dialect
from origin.pipeline.render import render
from origin.pipeline.vips import configure
from origin.settings import OriginSettings
from origin.spec import OutputFormat
from tests.golden import ssim

SIZE = (1200, 800)  # the originals
WIDTH = 600  # the variant asked for: a resize, as nearly every real request is
FORMATS = (
    OutputFormat.JPG,
    OutputFormat.WEBP,
    OutputFormat.AVIF,
    OutputFormat.PNG,
    OutputFormat.PNG8,
)
TIMINGS = 3  # renders per cell; the median time is printed


# The originals: deterministic (seeded noise), made in memory, stored as PNG.


def _noise(width: int, height: int, sigma: float, seed: int, scale: int = 1) -> pyvips.Image:
    """Gaussian noise around 0, at 1/`scale` of the size and enlarged smoothly: the
    larger `scale`, the larger its blotches."""
    small = pyvips.Image.gaussnoise(
        max(2, width // scale), max(2, height // scale), sigma=sigma, mean=0, seed=seed
    )
    if scale == 1:
        return small
    return small.resize(width / small.width, vscale=height / small.height, kernel="cubic")


def photo(width: int, height: int) -> pyvips.Image:
    """Photo-like: soft colour blotches, mid-sized texture, sharp-edged shapes, and
    sensor grain. It compresses like a photo, not like a drawing."""
    xyz = pyvips.Image.xyz(width, height)
    base = (xyz[0] * (150 / width) + 50).bandjoin(
        [xyz[1] * (120 / height) + 60, (xyz[0] + xyz[1]) * (80 / (width + height)) + 90]
    )
    red, green, blue = (_noise(width, height, 40, seed=band + 1, scale=64) for band in range(3))
    blotches = red.bandjoin([green, blue])
    texture = _noise(width, height, 14, seed=7, scale=4)
    image = base + blotches + texture
    image = image.draw_circle([235, 225, 210], width // 3, height // 2, height // 5, fill=True)
    image = image.draw_rect(
        [30, 40, 60], width * 3 // 5, height // 4, width // 4, height // 3, fill=True
    )
    image = image + _noise(width, height, 5, seed=11)  # grain, over the shapes too
    return image.cast("uchar").copy(interpretation="srgb")


def gradient(width: int, height: int) -> pyvips.Image:
    """A smooth two-way gradient with a soft radial glow: palettes band on it."""
    xyz = pyvips.Image.xyz(width, height)
    dx, dy = xyz[0] - width * 0.6, xyz[1] - height * 0.4
    glow = 90 - (dx * dx + dy * dy) ** 0.5 * (90 / width)
    red = xyz[0] * (200 / width) + 20 + glow
    green = xyz[1] * (160 / height) + 40 + glow / 2
    blue = (width - xyz[0]) * (180 / width) + 40
    return red.bandjoin([green, blue]).cast("uchar").copy(interpretation="srgb")


class Canvas:
    """An RGB(A) numpy canvas for drawing many small shapes: libvips' draw operations
    copy the whole image on each call, which thousands of glyphs make slow."""

    def __init__(self, width: int, height: int, colour: tuple[int, ...]) -> None:
        self.pixels = np.empty((height, width, len(colour)), dtype=np.uint8)
        self.pixels[:, :] = colour

    def rect(self, colour: tuple[int, ...], left: int, top: int, width: int, height: int) -> None:
        self.pixels[top : top + height, left : left + width] = colour

    def paste(self, image: pyvips.Image, left: int, top: int) -> None:
        array = np.ndarray(
            buffer=image.write_to_memory(),
            dtype=np.uint8,
            shape=(image.height, image.width, image.bands),
        )
        self.pixels[top : top + image.height, left : left + image.width] = array

    def text(
        self,
        colour: tuple[int, ...],
        left: int,
        top: int,
        width: int,
        lines: int,
        size: int = 10,
        seed: int = 1,
    ) -> None:
        """Lines of text-like marks: glyph-sized strokes of varying widths and word
        gaps, from a fixed pseudo-random sequence (the same every run)."""
        state = seed
        for line in range(lines):
            x, y = left, top + line * size * 2
            while x < left + width - size:
                state = (state * 1103515245 + 12345) % 2**31
                glyph = size // 3 + state % size
                if state % 7 == 0:
                    x += size  # a space between words
                    continue
                self.rect(colour, x, y, max(1, glyph // 3), size)
                self.rect(colour, x, y + size - 2, glyph, 2)
                if state % 3 == 0:
                    self.rect(colour, x, y, glyph, 2)
                x += glyph + 2

    def image(self) -> pyvips.Image:
        height, width, bands = self.pixels.shape
        image = pyvips.Image.new_from_memory(self.pixels.tobytes(), width, height, bands, "uchar")
        return image.copy(interpretation="srgb")


def graphic(width: int, height: int) -> pyvips.Image:
    """Flat colours with hard edges and text: a poster or a chart."""
    canvas = Canvas(width, height, (250, 246, 235))
    colours = ((220, 60, 50), (40, 110, 200), (250, 190, 40), (60, 160, 90))
    bar = width // 12
    for i, colour in enumerate(colours):
        bar_height = height * (3 + 2 * i) // 16
        canvas.rect(colour, width // 2 + i * (bar + 10), height - 60 - bar_height, bar, bar_height)
    canvas.rect((20, 20, 20), 40, height - 50, width - 80, 2)
    canvas.text((20, 20, 20), 40, 40, width // 2 - 80, 3, size=24)
    canvas.text((60, 60, 60), 40, height * 2 // 3, width // 2 - 80, 6, seed=5)
    image = canvas.image()
    # One anti-aliased shape: libvips draws it, but once.
    return image.draw_circle(list(colours[1]), width // 4, height // 2 - 20, height // 8, fill=True)


def screenshot(width: int, height: int) -> pyvips.Image:
    """A UI: white page, grey chrome, a sidebar, buttons, lines of small text and a
    photo thumbnail, at 1:1 pixels."""
    canvas = Canvas(width, height, (255, 255, 255))
    canvas.rect((238, 238, 242), 0, 0, width, 48)
    canvas.rect((246, 246, 248), 0, 48, 220, height - 48)
    canvas.rect((210, 210, 215), 220, 48, 1, height - 48)
    canvas.rect((210, 210, 215), 0, 48, width, 1)
    for i, colour in enumerate(((0, 120, 212), (16, 124, 16), (209, 52, 56))):
        canvas.rect(colour, width - 120 * (i + 1), 10, 100, 28)
        canvas.text((255, 255, 255), width - 120 * (i + 1) + 14, 18, 72, 1, size=8, seed=i + 3)
    canvas.text((90, 90, 100), 16, 70, 180, 14, size=8, seed=2)
    canvas.text((20, 20, 20), 250, 80, width - 300, 1, size=16, seed=9)
    canvas.text((50, 50, 55), 250, 130, width - 300, 12, size=8, seed=4)
    canvas.paste(photo(320, 200), 250, height - 240)
    canvas.text((50, 50, 55), 600, height - 240, width - 650, 6, size=8, seed=6)
    return canvas.image()


def logo(width: int, height: int) -> pyvips.Image:
    """A logo on transparency: a gradient disc and a ring with anti-aliased edges and
    a soft shadow (partial alpha), on fully transparent ground."""
    xyz = pyvips.Image.xyz(width, height)
    dx, dy = xyz[0] - width / 2, xyz[1] - height / 2
    distance = (dx * dx + dy * dy) ** 0.5
    radius = height * 0.35
    disc = (radius - distance + 0.5).clamp(min=0, max=1)  # a one-pixel ramp at the edge
    ring = (8.5 - (distance - radius * 1.2).abs()).clamp(min=0, max=1)
    shadow = (1 - (distance - radius) / 40).clamp(min=0, max=1) * 0.35
    colour = (xyz[0] * (200 / width) + 40).bandjoin([xyz[1] * (120 / height) + 60, dx * 0 + 200])
    colour = colour * disc + (1 - disc) * 40  # shadow and ring are dark
    alpha = (disc + ring + shadow).clamp(min=0, max=1) * 255
    return colour.bandjoin(alpha).cast("uchar").copy(interpretation="srgb")


ORIGINALS: dict[str, Callable[[int, int], pyvips.Image]] = {
    "photo": photo,
    "gradient": gradient,
    "graphic": graphic,
    "screenshot": screenshot,
    "logo (alpha)": logo,
}


# The measures.


def delta_e(a: pyvips.Image, b: pyvips.Image) -> float:
    """Mean CIEDE2000 (alpha laid on white): colour errors luma SSIM does not see,
    such as chroma subsampling on red edges."""
    a, b = (i.flatten(background=[255, 255, 255]) if i.hasalpha() else i for i in (a, b))
    a, b = (i.colourspace("srgb") for i in (a, b))
    return float(a.colourspace("lab").dE00(b.colourspace("lab")).avg())


def measure(name: str, original: bytes, fmt: OutputFormat) -> tuple[str, ...]:
    spec = dialect.parse(f"w={WIDTH}&fm={fmt}")
    spec = spec.for_output(fmt)
    limits = OriginSettings().render_limits
    times, output = [], b""
    for _ in range(TIMINGS):
        started = time.perf_counter()
        output = render(original, spec, limits)
        times.append(time.perf_counter() - started)
    # In memory: each is read twice (SSIM, then ΔE), and PNG loads read once through.
    rendered = pyvips.Image.new_from_buffer(output, "").copy_memory()
    reference = pyvips.Image.thumbnail_buffer(
        original, rendered.width, height=rendered.height, size="force"
    ).copy_memory()
    pixels = rendered.width * rendered.height
    return (
        name,
        str(fmt),
        f"{len(output):,}",
        f"{len(output) * 8 / pixels:.3f}",
        f"{ssim(rendered, reference):.4f}",
        f"{delta_e(rendered, reference):.2f}",
        f"{statistics.median(times) * 1000:.0f}",
    )


HEADER = ("original", "format", "bytes", "bits/px", "SSIM", "ΔE00", "render ms")


def run() -> None:
    """Print the table: one row per original and output format."""
    configure()  # libvips as the origin sets it up: no operation cache, our loaders only
    version = ".".join(str(pyvips.version(i)) for i in range(3))
    print(
        f"\nBytes against quality: {SIZE[0]}x{SIZE[1]} PNG originals -> w={WIDTH} at the "
        f"default quality (libvips {version}); SSIM and ΔE00 against libvips' "
        f"thumbnail of the original; median of {TIMINGS} renders"
    )
    rows = [HEADER]
    for name, make in ORIGINALS.items():
        original = bytes(make(*SIZE).pngsave_buffer(compression=1, keep="none"))
        rows += [measure(name, original, fmt) for fmt in FORMATS]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for i, row in enumerate(rows):
        cells = [
            c.ljust(w) if j < 2 else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    run()
