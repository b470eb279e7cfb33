"""Range requests (RFC 9110 §14): the parser on its own, then over real HTTP, for
variants just rendered and for variants stored on each backend."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from imgorigin.app import build_apps, open_services
from imgorigin.settings import Settings
from origin.ranges import ByteRange, RangeNotSatisfiable, parse, requested
from storage import CHUNK_SIZE, StorageSettings
from tests import images
from tests.conftest import Tenant, error_of, new_tenant, upload
from tests.s3server import s3_settings

ETAG = '"0123456789abcdef"'

# The parser.


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-0", (0, 1)),
        ("bytes=10-19", (10, 20)),
        ("bytes=90-1000", (90, 100)),  # the end is cut to the size
        ("bytes=90-", (90, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-1000", (0, 100)),  # a suffix longer than the whole is the whole
        ("Bytes=1-2", (1, 3)),  # units are case-insensitive
        ("bytes= 1-2 ", (1, 3)),
        ("bytes=1-2,", (1, 3)),  # empty list elements do not count
        ("bytes=007-8", (7, 9)),
        ("bytes=1-" + "9" * 5000, (1, 100)),  # longer than int() reads
    ],
)
def test_one_range_of_bytes(header: str, span: tuple[int, int]) -> None:
    assert parse(header, 100) == ByteRange(*span, 100)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=5-4",  # invalid, not unsatisfiable
        "bytes=0-1,5-6",  # several ranges: the whole instead
        "bytes=0-1, -5",
        "items=0-1",
        "bytes =0-1",
        "bytes=a-b",
        "bytes=+1-2",
        "bytes=1_0-20",
        "bytes=１-2",  # digits, but not ASCII ones
        "bytes=0x1-2",
        "bytes=1--2",
    ],
)
def test_anything_else_is_ignored(header: str) -> None:
    assert parse(header, 100) is None


@pytest.mark.parametrize(
    "header", ["bytes=100-", "bytes=100-200", "bytes=-0", "bytes=" + "9" * 5000 + "-"]
)
def test_a_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as raised:
        parse(header, 100)
    assert raised.value.status == 416 and raised.value.code == "range_not_satisfiable"
    assert raised.value.headers == {"Content-Range": "bytes */100"}


Outcome = tuple[int, int] | str  # the bytes [start, stop), "whole" or "416"


def rfc(first: int | None, last: int | None, size: int) -> Outcome:
    """RFC 9110 §14.1 read literally, on exact integers."""
    if first is None and last is None:
        return "whole"  # no range at all
    if first is None:  # a suffix: satisfiable when it is not empty
        assert last is not None
        return (size - min(last, size), size) if last > 0 and size > 0 else "416"
    if last is not None and last < first:
        return "whole"  # invalid
    if first >= size:
        return "416"
    return first, (size - 1 if last is None else min(last, size - 1)) + 1


def outcome(header: str, size: int) -> Outcome:
    try:
        part = parse(header, size)
    except RangeNotSatisfiable:
        return "416"
    if part is None:
        return "whole"
    assert part.content_range == f"bytes {part.start}-{part.stop - 1}/{size}"
    return part.start, part.stop


# Up to the largest number the parser reads exactly: past it, it only knows "too large".
positions = st.none() | st.integers(0, 10**18)


@given(positions, positions, st.integers(0, 2**40))
def test_parse_agrees_with_the_rfc(first: int | None, last: int | None, size: int) -> None:
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    assert outcome(header, size) == rfc(first, last, size)


@given(st.text(), st.integers(0, 10**6))
def test_any_header_is_a_part_nothing_or_416(header: str, size: int) -> None:
    try:
        part = parse(header, size)
    except RangeNotSatisfiable:
        return
    assert part is None or 0 <= part.start < part.stop <= size


@pytest.mark.parametrize(
    ("method", "headers", "honoured"),
    [
        ("GET", {"Range": "bytes=0-9"}, True),
        ("HEAD", {"Range": "bytes=0-9"}, False),  # ranges are defined for GET only
        ("GET", {}, False),
        ("GET", {"If-Range": ETAG}, False),  # If-Range alone asks for no range
        ("GET", {"Range": "bytes=0-9", "If-Range": ETAG}, True),
        ("GET", {"Range": "bytes=0-9", "If-Range": f"W/{ETAG}"}, False),  # weak never
        ("GET", {"Range": "bytes=0-9", "If-Range": '"other"'}, False),
        ("GET", {"Range": "bytes=0-9", "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"}, False),
    ],
)
def test_requested(method: str, headers: dict[str, str], honoured: bool) -> None:
    part = requested(method, CIMultiDict(headers), ETAG, 100)
    assert part == (ByteRange(0, 10, 100) if honoured else None)


# Over HTTP: a variant just rendered.


@pytest.fixture
async def photo_path(admin: TestClient, tenant: Tenant) -> str:
    await upload(admin, tenant, images.jpeg(600, 400), key="r.jpg", activate="true")
    return f"/{tenant.name}/r.jpg"


async def test_the_first_request_answers_its_range(origin: TestClient, photo_path: str) -> None:
    first = await origin.get(photo_path + "?w=200", headers={"Range": "bytes=100-"})
    assert first.status == 206 and first.headers["X-Cache"] == "MISS"
    part = await first.read()
    whole = await origin.get(photo_path + "?w=200")
    assert whole.status == 200 and whole.headers["X-Cache"] == "HIT"
    data = await whole.read()
    assert part == data[100:]
    assert first.headers["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    assert first.headers["Content-Length"] == str(len(data) - 100)
    for header in ("Accept-Ranges", "Content-Type", "ETag", "Cache-Control"):
        assert first.headers[header] == whole.headers[header], header
    assert whole.headers["Accept-Ranges"] == "bytes"


async def test_the_first_request_may_be_unsatisfiable(origin: TestClient, photo_path: str) -> None:
    response = await origin.get(photo_path + "?w=210", headers={"Range": "bytes=99999999-"})
    assert await error_of(response) == "range_not_satisfiable"
    assert response.status == 416
    data = await (await origin.get(photo_path + "?w=210")).read()
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("stored", [False, True])
async def test_head_says_what_get_says(origin: TestClient, photo_path: str, stored: bool) -> None:
    if stored:
        await origin.get(photo_path + "?w=220")
    head = await origin.head(photo_path + "?w=220", headers={"Range": "bytes=0-9"})
    get = await origin.get(photo_path + "?w=220")
    assert head.status == get.status == 200
    assert head.headers["X-Cache"] == ("HIT" if stored else "MISS")
    for header in ("Content-Length", "Content-Type", "ETag", "Accept-Ranges"):
        assert head.headers[header] == get.headers[header], header
    assert int(head.headers["Content-Length"]) == len(await get.read())
    assert await head.read() == b""


async def test_304_wins_over_a_range(origin: TestClient, photo_path: str) -> None:
    tag = (await origin.get(photo_path + "?w=230")).headers["ETag"]
    response = await origin.get(
        photo_path + "?w=230", headers={"If-None-Match": tag, "Range": "bytes=0-9"}
    )
    assert response.status == 304 and await response.read() == b""


# Over HTTP: a stored variant, on each backend.


@dataclass(frozen=True)
class Stored:
    origin: TestClient
    path: str
    data: bytes
    etag: str

    async def get(self, headers: dict[str, str]) -> tuple[int, CIMultiDictProxy[str], bytes]:
        response = await self.origin.get(self.path, headers=headers)
        return response.status, response.headers, await response.read()


@pytest.fixture(params=["filesystem", "s3"])
def storage(request: pytest.FixtureRequest, settings: Settings) -> StorageSettings:
    if request.param == "filesystem":
        return settings.storage
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_settings(endpoint, request.getfixturevalue("s3_storage_url"))


@pytest.fixture
async def stored(
    settings: Settings,
    storage: StorageSettings,
    aiohttp_client,  # type: ignore[no-untyped-def]
) -> AsyncIterator[Stored]:
    """A variant rendered and stored, larger than a chunk so that ranges past the first
    chunk are read from the store."""
    async with open_services(dataclasses.replace(settings, storage=storage)) as services:
        tenant = await new_tenant(services)
        origin_app, admin_app = build_apps(services)
        origin, admin = await aiohttp_client(origin_app), await aiohttp_client(admin_app)
        await upload(admin, tenant, images.jpeg(1200, 800), key="big.jpg", activate="true")
        path = f"/{tenant.name}/big.jpg?fm=png"
        first = await origin.get(path)
        data = await first.read()
        assert first.headers["X-Cache"] == "MISS" and len(data) > CHUNK_SIZE + 1000
        yield Stored(origin, path, data, first.headers["ETag"])


@pytest.mark.parametrize(
    ("header", "part"),
    [
        ("bytes=10-99", slice(10, 100)),
        ("bytes=-100", slice(-100, None)),  # a suffix
        (f"bytes={CHUNK_SIZE + 5}-", slice(CHUNK_SIZE + 5, None)),  # past the first chunk
        (f"bytes=100-{CHUNK_SIZE + 99}", slice(100, CHUNK_SIZE + 100)),  # over two chunks
    ],
)
async def test_a_stored_variant_answers_a_range(stored: Stored, header: str, part: slice) -> None:
    status, headers, body = await stored.get({"Range": header})
    size = len(stored.data)
    start, stop, _ = part.indices(size)
    assert status == 206 and headers["X-Cache"] == "HIT"
    assert body == stored.data[part]
    assert headers["Content-Range"] == f"bytes {start}-{stop - 1}/{size}"
    assert headers["Content-Length"] == str(stop - start)
    assert headers["Content-Type"] == "image/png" and headers["ETag"] == stored.etag
    assert headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header", ["bytes=-0", "bytes={size}-", "bytes={size}-{size}"])
async def test_a_stored_variant_refuses_what_is_past_its_end(stored: Stored, header: str) -> None:
    size = len(stored.data)
    response = await stored.origin.get(stored.path, headers={"Range": header.format(size=size)})
    assert await error_of(response) == "range_not_satisfiable"
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{size}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=5-1", "bytes=x-", "pages=1-2"])
async def test_a_range_we_do_not_read_gives_the_whole(stored: Stored, header: str) -> None:
    status, headers, body = await stored.get({"Range": header})
    assert status == 200 and body == stored.data and "Content-Range" not in headers


async def test_if_range(stored: Stored) -> None:
    status, headers, body = await stored.get({"Range": "bytes=0-9", "If-Range": stored.etag})
    assert status == 206 and body == stored.data[:10]
    # Another variant's tag, a weak tag, or a date (not exact enough to splice bytes by).
    for other in ('"other"', f"W/{stored.etag}", headers["Last-Modified"]):
        status, _, body = await stored.get({"Range": "bytes=0-9", "If-Range": other})
        assert status == 200 and body == stored.data, other


async def test_head_of_a_stored_variant_says_what_get_says(stored: Stored) -> None:
    head = await stored.origin.head(stored.path, headers={"Range": "bytes=0-9"})
    assert head.status == 200 and await head.read() == b""
    assert head.headers["Content-Length"] == str(len(stored.data))
    assert head.headers["ETag"] == stored.etag and head.headers["Accept-Ranges"] == "bytes"
