"""`imgorigin sign`: an origin URL, or an imgproxy path, signed with a library's key."""

from __future__ import annotations

import argparse
import time
from urllib.parse import urlsplit, urlunsplit

from catalog import Scheme
from imgorigin.cli.common import Commands, command, library_name, migrated_catalog
from imgorigin.settings import Settings
from origin import adapters, signing


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    sign = commands.add_parser("sign", parents=[common], help="print a URL signed for a library")
    sign.add_argument(
        "url",
        help="an origin URL or path: /{library}/{key}?{parameters}; or an imgproxy path, "
        "with `insecure` (or a signature to replace) where its signature goes",
    )
    sign.add_argument("--library", required=True, type=library_name)
    sign.add_argument("--key", help="the signing key's id (default: the newest live key)")
    sign.add_argument("--expires-in", type=int, help="seconds until the URL expires")
    sign.set_defaults(handler=command(sign_url))


async def sign_url(settings: Settings, args: argparse.Namespace) -> None:
    async with migrated_catalog(settings) as catalog:
        library = await catalog.libraries.get(args.library)
        keys = await catalog.signing_keys.live(library) if library else []
    url = urlsplit(args.url)
    # imgproxy paths are signed by imgproxy keys, origin URLs by the others.
    first, _, rest = url.path.removeprefix("/").partition("/")
    imgproxy = adapters.is_imgproxy(first, rest.partition("/")[0])
    chosen = [
        k for k in keys if args.key in (None, k.id) and (k.scheme is Scheme.IMGPROXY) == imgproxy
    ]
    if not chosen:
        kind = "imgproxy" if imgproxy else "native or imgix"
        raise SystemExit(f"imgorigin: library {args.library!r} has no such live {kind} signing key")
    if imgproxy:
        if args.expires_in is not None:
            raise SystemExit("imgorigin: imgproxy paths are signed without an expiry")
        print(urlunsplit(url._replace(path=signing.sign_path(chosen[0], unsigned_path(url.path)))))
        return
    query = url.query
    if args.expires_in is not None:
        expires = f"{signing.EXPIRES}={int(time.time()) + args.expires_in}"
        query = f"{query}&{expires}" if query else expires
    print(urlunsplit(url._replace(query=signing.sign(chosen[0], url.path, query))))


def unsigned_path(path: str) -> str:
    """An imgproxy path without its signature segment (`insecure`, or a signature to
    replace), which is its first unless that is already an option or `plain`."""
    first, slash, rest = path.removeprefix("/").partition("/")
    return path if not slash or ":" in first or first == "plain" else f"/{rest}"
