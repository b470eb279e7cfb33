"""`imgorigin warm`: a preset's (or a query's) variant of every active image, rendered
as a request would on a miss and stored where requests find it."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import quote

from cache import FlightTimeout, Outcome
from catalog import Image, ImageQuery, Library, Sort, Status, decode_cursor
from imgorigin.app import Services, create_origin, open_services
from imgorigin.cli.bulk import CONCURRENCY, Progress, Tally, concurrency_flag, each
from imgorigin.cli.common import CommandError, Commands, command, existing_library, library_name
from imgorigin.settings import Settings
from origin import dialect
from origin.errors import BadRequest, HTTPError
from origin.variants import Variant


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    warm = commands.add_parser(
        "warm", parents=[common], help="render a preset's variant of every active image"
    )
    warm.add_argument("--library", required=True, type=library_name)
    what = warm.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", help="one of the library's presets")
    what.add_argument("--query", help="URL parameters instead: 'w=800&fm=webp'")
    warm.add_argument(
        "--accept",
        help="with auto=format, the Accept header to render for (default: each format "
        "it can choose)",
    )
    warm.add_argument(
        "--concurrency", type=concurrency_flag, default=CONCURRENCY, help="images at a time"
    )
    warm.set_defaults(handler=command(warm_variants))


async def warm_variants(settings: Settings, args: argparse.Namespace) -> int:
    query = f"p={quote(args.preset, safe='')}" if args.preset is not None else args.query
    async with open_services(settings) as services:
        library = await existing_library(services.catalog, args.library)
        tally = await warm(
            services, library, query, accept=args.accept, concurrency=args.concurrency
        )
    print(tally.summary(*OUTCOMES))
    return 1 if tally.failed else 0


OUTCOMES = ("rendered", "already stored")
_EVERY_ACCEPT = ("image/avif", "image/webp", None)  # what auto=format may choose between


async def warm(
    services: Services,
    library: Library,
    query: str,
    *,
    accept: str | None = None,
    concurrency: int = CONCURRENCY,
) -> Tally:
    """Render, as a request for `/{library}/{key}?{query}` would, every active image's
    variant, and store it where that request will find it: through the origin's read
    path (resolve, the variant for an Accept header, find or render). With
    `auto=format` the variant depends on the Accept header: each one it can choose, or
    the one for `accept`.

    The query is read as the library's URLs are: under its rules, and as a signed URL
    (spared the limits for unsigned ones) when the library serves signed URLs only.
    """
    rules = await services.catalog.libraries.settings(library)
    try:
        spec = dialect.read(query, rules, signed=rules.require_signed).spec
    except BadRequest as exc:
        raise CommandError(f"{query!r}: {exc.message}") from None
    accepts = (accept,) if accept is not None or not spec.auto_format else _EVERY_ACCEPT
    origin = create_origin(services)
    tally = Tally()
    usage = await services.catalog.stats.usage(library)
    progress = Progress("warm", usage["active"])

    async def work(listed: Image) -> None:
        try:
            # What a request for its key would find, and the variants it would get.
            image = await origin.resolve(library.name, listed.key)
            variants = {v.key: v for v, _ in (Variant.for_accept(image, spec, a) for a in accepts)}
            for variant in variants.values():
                outcome = await origin.stored_or_rendered(variant)
                tally.counts["rendered" if outcome is Outcome.MISS else "already stored"] += 1
        except HTTPError as exc:
            tally.failed[exc.code] += 1
            progress.note(f"{listed.key}: {exc.code}: {exc.message}")
        except FlightTimeout as exc:
            tally.failed["render_busy"] += 1
            progress.note(f"{listed.key}: render_busy: {exc}")
        finally:
            progress.advance()

    try:
        async for page in _pages(services, library):
            await each(page, work, concurrency)
    finally:
        progress.close()
    return tally


async def _pages(services: Services, library: Library) -> AsyncIterator[list[Image]]:
    """The library's active images, oldest first, a page at a time."""
    query = ImageQuery(statuses=(Status.ACTIVE,), sort=Sort.OLDEST, limit=100)
    while True:
        page, cursor = await services.catalog.images.page(library, query)
        if page:
            yield page
        if cursor is None:
            return
        query = replace(query, after=decode_cursor(query.sort, cursor))
