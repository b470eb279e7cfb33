"""Test images made by libvips itself: deterministic, no binary fixtures to keep."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import pillow_heif
import pyvips

from origin.spec import OutputFormat


def photo(width: int = 1200, height: int = 800) -> pyvips.Image:
    """A smooth colour gradient with a white disc in the middle and a dark bar at the
    top: enough structure for SSIM and for telling up from down."""
    xyz = pyvips.Image.xyz(width, height)
    red = (xyz[0] * (255 / width)).cast("uchar")
    green = (xyz[1] * (255 / height)).cast("uchar")
    blue = (red * 0 + 128).cast("uchar")
    image = red.bandjoin([green, blue]).copy(interpretation="srgb")
    image = image.draw_circle(
        [255, 255, 255], width // 2, height // 2, min(width, height) // 4, fill=True
    )
    return image.draw_rect([20, 20, 20], 0, 0, width, max(1, height // 10), fill=True)


# How to store pixels so that a viewer applying the EXIF orientation shows them upright:
# the inverse of what each orientation asks the viewer to do (2, 4, 5 and 7 mirror).
_STORED: dict[int, Callable[[pyvips.Image], pyvips.Image]] = {
    1: lambda image: image,
    2: lambda image: image.fliphor(),
    3: lambda image: image.rot180(),
    4: lambda image: image.flipver(),
    5: lambda image: image.rot90().fliphor(),  # transpose
    6: lambda image: image.rot270(),
    7: lambda image: image.rot270().fliphor(),  # transverse
    8: lambda image: image.rot90(),
}


def stored_for(image: pyvips.Image, orientation: int) -> pyvips.Image:
    """The pixels to store, tagged with `orientation`, for `image` to display upright."""
    stored = _STORED[orientation](image).copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    stored.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "TestCam")
    return stored


def jpeg(
    width: int = 1200, height: int = 800, *, orientation: int | None = None, q: int = 90
) -> bytes:
    """A JPEG that displays as photo(width, height); with `orientation`, its pixels are
    stored turned and tagged with that EXIF orientation (and a camera make)."""
    image = photo(width, height)
    if orientation is not None:
        image = stored_for(image, orientation)
    return bytes(image.jpegsave_buffer(Q=q))


def png_with_alpha(width: int = 400, height: int = 300) -> bytes:
    """Opaque photo inside, fully transparent border of 50 pixels."""
    image = photo(width, height)
    alpha = pyvips.Image.black(width, height).draw_rect(
        [255], 50, 50, width - 100, height - 100, fill=True
    )
    return bytes(image.bandjoin(alpha.cast("uchar")).pngsave_buffer())


def encoded(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


# The libvips loader that reads each output format back (its "vips-loader").
LOADERS = {
    OutputFormat.JPG: "jpegload_buffer",
    OutputFormat.PJPG: "jpegload_buffer",
    OutputFormat.PNG: "pngload_buffer",
    OutputFormat.PNG8: "pngload_buffer",
    OutputFormat.PNG32: "pngload_buffer",
    OutputFormat.WEBP: "webpload_buffer",
    OutputFormat.AVIF: "heifload_buffer",
    OutputFormat.GIF: "gifload_buffer",
}


# The quadrants' colours, clockwise from the top left: far apart in every channel, so
# a pixel sample tells which quadrant it came from even after JPEG or resampling.
TOP_LEFT, TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT = (
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
)


def quadrants(width: int = 400, height: int = 400) -> bytes:
    """A PNG of four flat quadrants: TOP_LEFT, TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT."""
    half_w, half_h = width // 2, height // 2
    image = pyvips.Image.black(width, height, bands=3).copy(interpretation="srgb")
    for colour, left, top in (
        (TOP_LEFT, 0, 0),
        (TOP_RIGHT, half_w, 0),
        (BOTTOM_RIGHT, half_w, half_h),
        (BOTTOM_LEFT, 0, half_h),
    ):
        image = image.draw_rect(list(colour), left, top, width - half_w, height - half_h, fill=True)
    return bytes(image.cast("uchar").pngsave_buffer())


def flat(width: int, height: int, colour: tuple[int, ...]) -> pyvips.Image:
    """One colour all over; four values make an RGBA image."""
    bands = len(colour)
    image = (pyvips.Image.black(width, height, bands=bands) + list(colour)).cast("uchar")
    return image.copy(interpretation="srgb")


def framed(width: int, height: int, border: int, colour: tuple[int, int, int]) -> bytes:
    """A PNG of photo(width, height) inside a solid `border` of `colour` a side."""
    inner = photo(width, height)
    outer = flat(width + 2 * border, height + 2 * border, colour)
    return bytes(outer.insert(inner, border, border).pngsave_buffer())


def busy_corner(
    width: int = 400, height: int = 400, *, left: int, top: int, size: int = 100
) -> bytes:
    """A PNG of flat mid grey but for a `size` square of black and white noise with
    its top left corner at (left, top): the only thing there is to look at."""
    noise = (pyvips.Image.gaussnoise(size, size, sigma=120, mean=128) > 128).cast("uchar")
    noise = noise.bandjoin([noise, noise]).copy(interpretation="srgb")
    return bytes(flat(width, height, (128, 128, 128)).insert(noise, left, top).pngsave_buffer())


def display_p3(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A PNG of the sRGB `colour` converted to Display P3 pixels, with the P3 profile
    embedded: a viewer that honours the profile shows `colour`."""
    p3 = flat(width, height, colour).icc_transform("p3", input_profile="srgb")
    return bytes(p3.pngsave_buffer(keep="icc"))


# Every input kind of issue #5, each made in code. Sizes are small: the matrix renders
# each of these to every output format.


def photo_with_alpha(width: int = 160, height: int = 120, border: int = 16) -> pyvips.Image:
    """photo() opaque inside, fully transparent `border` pixels all round."""
    alpha = pyvips.Image.black(width, height).draw_rect(
        [255], border, border, width - 2 * border, height - 2 * border, fill=True
    )
    return photo(width, height).bandjoin(alpha.cast("uchar"))


def jpeg_progressive(width: int = 160, height: int = 120) -> bytes:
    return bytes(photo(width, height).jpegsave_buffer(Q=90, interlace=True))


def jpeg_cmyk(width: int = 160, height: int = 120, *, profile: bool) -> bytes:
    """photo() in CMYK through libvips' built-in CMYK profile, which is embedded or not:
    without it a renderer must assume a standard CMYK profile."""
    return bytes(
        cmyk(photo(width, height)).jpegsave_buffer(Q=95, keep="icc" if profile else "none")
    )


def cmyk(image: pyvips.Image) -> pyvips.Image:
    return image.icc_transform("cmyk", input_profile="srgb")


def jpeg_grey(width: int = 160, height: int = 120) -> bytes:
    return bytes(photo(width, height).colourspace("b-w").jpegsave_buffer(Q=90))


def png(width: int = 160, height: int = 120, *, interlace: bool = False) -> bytes:
    return bytes(photo(width, height).pngsave_buffer(interlace=interlace))


def png16(width: int = 160, height: int = 120) -> bytes:
    """photo() at 16 bits a sample (cast after the multiply, or it saves as 8 bits)."""
    sixteen = (photo(width, height).cast("ushort") * 257).cast("ushort")
    return bytes(sixteen.copy(interpretation="rgb16").pngsave_buffer())


def png_palette_alpha(width: int = 160, height: int = 120) -> bytes:
    """A palette PNG with a tRNS chunk: photo_with_alpha() quantised."""
    return bytes(photo_with_alpha(width, height).pngsave_buffer(palette=True))


def png_grey_alpha(width: int = 160, height: int = 120) -> bytes:
    """PNG colour type 4: grey with alpha."""
    image = photo_with_alpha(width, height)
    grey = image.extract_band(0, n=3).colourspace("b-w")
    return bytes(grey.bandjoin(image.extract_band(3)).copy(interpretation="b-w").pngsave_buffer())


def webp(width: int = 160, height: int = 120, *, lossless: bool = False) -> bytes:
    """Lossy: photo(); lossless: photo_with_alpha()."""
    if lossless:
        return bytes(photo_with_alpha(width, height).webpsave_buffer(lossless=True))
    return bytes(photo(width, height).webpsave_buffer(Q=90))


def avif(width: int = 160, height: int = 120) -> bytes:
    """photo_with_alpha() as AVIF."""
    return bytes(photo_with_alpha(width, height).heifsave_buffer(compression="av1", Q=90))


def heic(width: int = 160, height: int = 120, *, picture: pyvips.Image | None = None) -> bytes:
    """photo() (or an 8-bit RGB `picture`, with its ICC profile) as HEIC (HEVC),
    through pillow-heif: libvips here has no HEVC codec."""
    picture = picture if picture is not None else photo(width, height)
    options = {}
    if picture.get_typeof("icc-profile-data"):
        options["icc_profile"] = bytes(picture.get("icc-profile-data"))
    size = (picture.width, picture.height)
    heif = pillow_heif.from_bytes("RGB", size, picture.write_to_memory())
    out = io.BytesIO()
    heif.save(out, quality=90, **options)
    return out.getvalue()


def gif(width: int = 160, height: int = 120) -> bytes:
    """A still GIF with a transparent border (GIF's one transparent palette entry)."""
    return bytes(photo_with_alpha(width, height).gifsave_buffer())


# Far apart in every channel, so each frame is told from the others after any encoder.
FRAME_COLOURS = ((200, 40, 40), (40, 180, 60), (50, 70, 200), (230, 200, 50))


def frame(index: int, width: int, height: int) -> pyvips.Image:
    """Frame `index` of an animation: a flat FRAME_COLOURS colour with a dark bar on
    top and a white square that moves to the right frame by frame."""
    colour = FRAME_COLOURS[index % len(FRAME_COLOURS)]
    side, steps = height // 3, len(FRAME_COLOURS) - 1
    left = (width - side) * (index % len(FRAME_COLOURS)) // steps
    image = flat(width, height, colour).draw_rect([20, 20, 20], 0, 0, width, height // 8, fill=True)
    return image.draw_rect([255, 255, 255], left, height // 3, side, side, fill=True)


def animation(count: int = 4, width: int = 120, height: int = 90) -> pyvips.Image:
    """`count` frames stacked top to bottom with page-height, delay and loop set: how
    libvips holds an animation."""
    strip = pyvips.Image.arrayjoin([frame(i, width, height) for i in range(count)], across=1)
    strip = strip.copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [80] * count)
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    return strip


def animated_webp(count: int = 4, width: int = 120, height: int = 90) -> bytes:
    return bytes(animation(count, width, height).webpsave_buffer(Q=90))


def animated_gif(count: int = 4, width: int = 120, height: int = 90) -> bytes:
    return bytes(animation(count, width, height).gifsave_buffer())


def tiff_pages(width: int = 160, height: int = 120) -> bytes:
    """A two-page TIFF: photo() first, then a flat magenta page no render should show."""
    second = flat(width, height, (255, 0, 255))
    pages = photo(width, height).join(second, "vertical").copy()
    pages.set_type(pyvips.GValue.gint_type, "page-height", height)
    return bytes(pages.tiffsave_buffer())


# A safe SVG: flat rects on a transparent ground, pixel aligned so that svg_picture()
# draws the same pixels without an SVG renderer.
_SVG_RECTS = (
    ((255, 0, 0), 0, 0, 80, 60),
    ((0, 160, 0), 80, 0, 80, 60),
    ((0, 0, 255), 80, 60, 80, 60),
)


def svg(width: int = 160, height: int = 120, *, body: str = "", root: str = "") -> bytes:
    """A safe SVG of _SVG_RECTS (the bottom left quarter transparent), scaled from
    160x120 to `width` x `height`; `body` and `root` (attributes) are added as given,
    to make unsafe ones."""
    rects = "".join(
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#{r:02x}{g:02x}{b:02x}"/>'
        for (r, g, b), x, y, w, h in _SVG_RECTS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width}" height="{height}" viewBox="0 0 160 120"{root}>'
        f"{rects}{body}</svg>\n"
    ).encode()


def svg_picture(width: int = 160, height: int = 120) -> pyvips.Image:
    """What svg(width, height) looks like: RGBA, the bottom left quarter transparent."""
    image = flat(160, 120, (0, 0, 0, 0))
    for colour, x, y, w, h in _SVG_RECTS:
        image = image.draw_rect([*colour, 255], x, y, w, h, fill=True)
    return image.resize(width / 160, vscale=height / 120, kernel="nearest")


# SVGs a renderer must refuse (415), by what makes each unsafe: scripts, and anything
# that would make the renderer read something else (a URL, a file, an entity).
UNSAFE_SVGS: dict[str, bytes] = {
    "script": svg(body="<script>alert(1)</script>"),
    "onload": svg(root=' onload="alert(1)"'),
    "javascript-href": svg(body='<a href="javascript:alert(1)"><rect width="9" height="9"/></a>'),
    "external-image": svg(body='<image href="http://127.0.0.1:9/x.png" width="9" height="9"/>'),
    "external-use": svg(body='<use xlink:href="http://127.0.0.1:9/x.svg#a"/>'),
    "css-import": svg(body="<style>@import url(http://127.0.0.1:9/x.css);</style>"),
    "entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><text>&x;</text></svg>'
    ),
    "file-image": svg(body='<image href="file:///etc/passwd" width="9" height="9"/>'),
    "css-escape": svg(body='<rect width="9" height="9" fill="u\\72 l(data:image/svg+xml,x#p)"/>'),
    "style-with-elements": svg(body="<style>a{}<g/>@import url(data:text/css,x);</style>"),
    "style-attribute": svg(body='<rect width="9" height="9" style="fill:url(http://x/#p)"/>'),
    "xinclude": svg(
        body='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'
    ),
    "stylesheet-link": b'<?xml-stylesheet href="http://127.0.0.1:9/x.css"?>' + svg(),
    "use-bomb": svg(
        body="<defs><rect id='l0' width='1' height='1'/>"
        + "".join(f"<g id='l{i}'>" + f"<use href='#l{i - 1}'/>" * 10 + "</g>" for i in range(1, 9))
        + "</defs><use href='#l8'/>"
    ),
    "use-cycle": svg(body="<g id='a'><use href='#b'/></g><g id='b'><use href='#a'/></g>"),
    "deep": svg(body="<g>" * 300 + "</g>" * 300),
    "data-image": svg(
        body='<image href="data:image/png;base64,'
        + base64.b64encode(bytes(flat(4, 4, (0, 0, 0)).pngsave_buffer())).decode()
        + '" width="9" height="9"/>'
    ),
}


def crop_scene(width: int = 600, height: int = 400) -> bytes:
    """A PNG of photo() with a black and white checkerboard (the busiest part: what
    crop=entropy keeps) bottom left and a skin-toned disc bottom right, so that each
    crop mode comes out different."""
    image = photo(width, height)
    xyz = pyvips.Image.xyz(width // 5, height // 4)
    checks = (((xyz[0] // 4) + (xyz[1] // 4)) % 2 * 255).cast("uchar")
    checks = checks.bandjoin([checks, checks]).copy(interpretation="srgb")
    image = image.insert(checks, width // 15, height * 13 // 20)
    skin = [224, 172, 150]
    image = image.draw_circle(skin, width * 5 // 6, height * 3 // 4, height // 9, fill=True)
    return bytes(image.pngsave_buffer(keep="none"))
