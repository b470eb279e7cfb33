"""The path dialects of imgproxy, Cloudflare and ipx, read as imgix parameters.

Each turns a path into an Address: the image (library and key) and the imgix
parameters that ask for the same picture. `read` hands those to
`dialect.read_pairs`, so every dialect has the imgix dialect's ranges, errors,
presets, limits and variant keys: one picture asked for in two dialects is one variant.

Where another service's option has no exact imgix equivalent, the nearest one is used
when the difference is small (each is noted where it is made); otherwise the option is
refused with a 400 rather than rendered differently. The source is always an image of
this origin, `library/key`, never a URL to fetch. Pure functions: no I/O, and
BadRequest is the only exception any path can raise.

The package: `common` holds the Address a path names and what the dialects share
(the parsers and errors for option values, Gravity and Turn); `imgproxy`, `cloudflare`
and `ipx` each read one dialect.
"""

from __future__ import annotations

from catalog import LibrarySettings
from origin import dialect
from origin.adapters.cloudflare import cloudflare
from origin.adapters.common import Address
from origin.adapters.imgproxy import IMGPROXY_OPTION_NAMES, imgproxy, is_imgproxy
from origin.adapters.ipx import ipx

__all__ = [
    "CLOUDFLARE_PREFIX",
    "IMGPROXY_OPTION_NAMES",
    "IPX_PREFIX",
    "Address",
    "address",
    "cloudflare",
    "imgproxy",
    "ipx",
    "is_imgproxy",
    "read",
]

CLOUDFLARE_PREFIX = "cdn-cgi/image/"
IPX_PREFIX = "_ipx/"


def address(raw_path: str) -> Address | None:
    """The address of an imgproxy, Cloudflare or ipx path (raw as sent, from its "/");
    None for any other path, which is the native `/{library}/{key}` or nothing."""
    path = raw_path.removeprefix("/")
    if path.startswith(CLOUDFLARE_PREFIX):
        return cloudflare(path.removeprefix(CLOUDFLARE_PREFIX))
    if path.startswith(IPX_PREFIX):
        return ipx(path.removeprefix(IPX_PREFIX))
    first, slash, rest = path.partition("/")
    if slash and is_imgproxy(first, rest.partition("/")[0]):
        return imgproxy(path)
    return None


def read(address: Address, rules: LibrarySettings, *, signed: bool = False) -> dialect.Request:
    """The request an address makes under its library's rules. `signed`: its signature
    was checked (signing.check_path_signature), so the limits for unsigned URLs, such
    as width snapping, do not apply, as for a native URL with a good `s`."""
    signed = signed and address.signature is not None  # only a path can carry one
    return dialect.read_pairs(address.pairs, rules, signed=signed)
