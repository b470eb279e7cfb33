"""The catalog's repositories against the real PostgreSQL, each on its own: what the
admin API's tests reach only through HTTP, and the listing's filters and keyset
cursor (catalog/query.py) row by row."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from catalog import (
    UNSET,
    Catalog,
    Content,
    Image,
    ImageQuery,
    InvalidQuery,
    KeyConflict,
    Library,
    LibraryExists,
    LibrarySettings,
    LimitReached,
    NewImage,
    QuotaExceeded,
    Role,
    Scheme,
    Sort,
    Status,
    decode_cursor,
)
from catalog.query import encode_cursor
from imgorigin.settings import Settings


@pytest.fixture
async def catalog(settings: Settings) -> AsyncIterator[Catalog]:
    async with Catalog.connect(settings.catalog.database_url, settings.catalog) as opened:
        await opened.migrate()
        yield opened


@pytest.fixture
async def library(catalog: Catalog) -> Library:
    return await catalog.libraries.ensure(_name())


def _name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def _content(seed: str, width: int = 100, fmt: str = "jpeg", size: int = 1000) -> Content:
    return Content(hashlib.sha256(seed.encode()).hexdigest(), fmt, width, 50, size)


async def _insert(
    catalog: Catalog,
    library: Library,
    key: str,
    *,
    content: Content | None = None,
    status: Status = Status.ACTIVE,
    tags: tuple[str, ...] = (),
    alt: str | None = None,
) -> Image:
    content = content or _content(f"{library.name}/{key}")
    new = NewImage(uuid.uuid4().hex[:16], library.id, key, status, content, alt, tags, "u1")
    async with catalog.originals.lock(content.sha256) as lock:
        return await lock.insert_image(new)


# Libraries


async def test_a_library_is_made_once_and_listed_by_scope(catalog: Catalog) -> None:
    name = _name()
    made = await catalog.libraries.ensure(name)
    assert await catalog.libraries.ensure(name) == made
    assert await catalog.libraries.get(name) == made
    assert await catalog.libraries.get(_name()) is None
    with pytest.raises(LibraryExists):
        await catalog.libraries.create(name, LibrarySettings())
    other = await catalog.libraries.create(_name(), LibrarySettings(presets_only=True))
    assert await catalog.libraries.listed(made.id) == [made]
    every = await catalog.libraries.listed()
    assert {made, other} <= set(every)
    assert [lib.name for lib in every] == sorted(lib.name for lib in every)


async def test_settings_round_trip_and_ones_this_version_does_not_know_are_dropped(
    catalog: Catalog, library: Library
) -> None:
    assert await catalog.libraries.settings(library) == LibrarySettings()
    rules = LibrarySettings(require_signed=True, widths=(100, 200), presets={"t": "w=10"})
    await catalog.libraries.set_settings(library, rules)
    assert await catalog.libraries.settings(library) == rules
    await catalog.pool.execute(
        "UPDATE libraries SET settings = settings || '{\"from_the_future\": 1}' WHERE id = $1",
        library.id,
    )
    assert await catalog.libraries.settings(library) == rules


async def test_the_url_policy_holds_the_settings_and_only_live_signing_keys(
    catalog: Catalog, library: Library
) -> None:
    assert await catalog.libraries.url_policy(_name()) is None
    first = await catalog.signing_keys.create(library, Scheme.NATIVE)
    second = await catalog.signing_keys.create(library, Scheme.IMGIX, "token-from-imgix")
    third = await catalog.signing_keys.create(library, Scheme.IMGPROXY)
    assert second.secret == "token-from-imgix"
    assert third.secret.count(":") == 1
    assert await catalog.signing_keys.revoke(library, second.id)
    assert not await catalog.signing_keys.revoke(library, second.id)
    assert await catalog.signing_keys.live(library) == [third, first]  # newest first
    await catalog.libraries.set_settings(library, LibrarySettings(require_signed=True))
    policy = await catalog.libraries.url_policy(library.name)
    assert policy is not None and policy.require_signed
    assert sorted(policy.keys, key=lambda k: k.id) == sorted([first, third], key=lambda k: k.id)


async def test_deleting_a_library_journals_every_original_of_its_images(
    catalog: Catalog, library: Library
) -> None:
    kept = await _insert(catalog, library, "kept.jpg")
    gone = await _insert(catalog, library, "gone.jpg")
    async with catalog.originals.lock(_content("v2").sha256) as lock:
        assert await lock.replace_original(kept, _content("v2"), "u2") is not None
    await catalog.images.set_status(library, gone.id, Status.DELETED)
    await catalog.api_keys.create(library, Role.READ)
    live, entries = await catalog.libraries.delete(library)
    assert live == [kept.id]
    journalled = {sha for _, sha in entries}
    assert journalled == {kept.sha256, gone.sha256, _content("v2").sha256}
    assert await catalog.libraries.get(library.name) is None
    assert await catalog.api_keys.listed(library.id) == []  # cascaded
    await catalog.originals.settle([entry for entry, _ in entries])


# API keys


async def test_only_live_keys_authenticate(catalog: Catalog, library: Library) -> None:
    plain, record = await catalog.api_keys.create(library, Role.WRITE, "ci")
    assert plain.startswith("io_") and record.prefix == plain[:10]
    assert (record.library, record.name, record.role) == (library.name, "ci", Role.WRITE)
    key = await catalog.api_keys.authenticate(plain)
    assert key is not None and (key.id, key.library_id, key.role) == (
        record.id,
        library.id,
        Role.WRITE,
    )
    assert await catalog.api_keys.authenticate(plain + "x") is None
    other = await catalog.libraries.ensure(_name())
    assert not await catalog.api_keys.revoke(record.id, other.id)  # not that scope's key
    assert await catalog.api_keys.revoke(record.id, library.id)
    assert await catalog.api_keys.authenticate(plain) is None
    expired, _ = await catalog.api_keys.create(
        library, Role.READ, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert await catalog.api_keys.authenticate(expired) is None


async def test_a_named_key_replaces_the_live_one_of_its_scope_and_name(
    catalog: Catalog, library: Library
) -> None:
    first, _ = await catalog.api_keys.create(library, Role.ADMIN, "demo", replace_named=True)
    other, _ = await catalog.api_keys.create(library, Role.ADMIN, "other", replace_named=True)
    second, _ = await catalog.api_keys.create(library, Role.ADMIN, "demo", replace_named=True)
    assert await catalog.api_keys.authenticate(first) is None
    assert await catalog.api_keys.authenticate(second) is not None
    assert await catalog.api_keys.authenticate(other) is not None
    listed = await catalog.api_keys.listed(library.id)
    assert [(k.name, k.revoked_at is None) for k in listed] == [
        ("demo", False),
        ("other", True),
        ("demo", True),
    ]


# Images, under the original's lock


async def test_a_refused_insert_leaves_the_lock_usable(catalog: Catalog, library: Library) -> None:
    await _insert(catalog, library, "a.jpg", content=_content("one", size=600))
    content = _content("two", size=600)
    async with catalog.originals.lock(content.sha256) as lock:
        taken = NewImage("x" * 16, library.id, "a.jpg", Status.ACTIVE, content, None, ())
        with pytest.raises(KeyConflict):
            await lock.insert_image(taken)
        free = dataclasses.replace(taken, key="b.jpg")
        with pytest.raises(QuotaExceeded, match="quota of 1000"):
            await lock.insert_image(free, quota_bytes=1000)
        with pytest.raises(QuotaExceeded, match="quota of 1 images"):
            await lock.insert_image(free, quota_images=1)
        image = await lock.insert_image(free, quota_bytes=1200, quota_images=2)
        assert await lock.in_use()
    assert (image.key, image.version, image.library) == ("b.jpg", 1, library.name)


async def test_a_replaced_original_stays_in_use_as_a_version_until_the_image_goes(
    catalog: Catalog, library: Library
) -> None:
    image = await _insert(catalog, library, "v.jpg", content=_content("v1", size=100))
    bigger = _content("v2", size=500)
    async with catalog.originals.lock(bigger.sha256) as lock:
        with pytest.raises(QuotaExceeded):
            await lock.replace_original(image, bigger, "u2", quota_bytes=300)
        replaced = await lock.replace_original(image, bigger, "u2")
        assert replaced is not None and replaced.version == 2 and replaced.sha256 == bigger.sha256
        # The image moved on: a replacer still holding version 1 is told so.
        assert await lock.replace_original(image, bigger, "u3") is None
    versions = await catalog.images.versions(image)
    assert [(v.version, v.content.sha256, v.created_by) for v in versions] == [
        (2, bigger.sha256, "u2"),
        (1, image.sha256, "u1"),
    ]
    assert await catalog.images.version(image, 1) == versions[1]
    assert await catalog.images.version(image, 3) is None
    async with catalog.originals.lock(image.sha256) as lock:
        assert await lock.in_use()  # as version 1
    await catalog.images.set_status(library, image.id, Status.DELETED)
    async with catalog.originals.lock(image.sha256) as lock:
        assert not await lock.in_use()


async def test_status_changes_and_lookups_by_column(catalog: Catalog, library: Library) -> None:
    image = await _insert(catalog, library, "s.jpg", status=Status.PENDING)
    assert await catalog.images.resolve(library.name, "s.jpg") is None  # not active
    active = await catalog.images.set_status(library, image.id, Status.ACTIVE)
    assert active is not None and active.status is Status.ACTIVE
    assert await catalog.images.resolve(library.name, "s.jpg") == active
    await catalog.images.set_status(library, image.id, Status.PENDING)
    # Published once: no longer an upload that the sweeper may delete.
    gone = Status.DELETED
    assert await catalog.images.set_status(library, image.id, gone, unpublished_only=True) is None
    assert await catalog.images.set_status(library, image.id, gone) is not None
    assert await catalog.images.set_status(library, image.id, Status.ACTIVE) is None
    assert await catalog.images.get(library, image.id) is None
    assert [i.id for i in await catalog.images.by(library, "id", [image.id])] == [image.id]
    assert await catalog.images.by(library, "key", ["s.jpg"]) == []
    assert await catalog.images.by(library, "sha256", [image.sha256]) == []
    assert await catalog.images.live_ids(library) == []


async def test_updates_of_key_alt_and_tags(catalog: Catalog, library: Library) -> None:
    image = await _insert(catalog, library, "u.jpg", tags=("a", "b"), alt="first")
    await _insert(catalog, library, "taken.jpg", tags=("b",))
    images = catalog.images
    with pytest.raises(KeyConflict):
        await images.update(library, image.id, key="taken.jpg")
    changed = await images.update(library, image.id, add_tags=("c",), remove_tags=("a",))
    assert changed is not None and changed.tags == ("b", "c") and changed.alt == "first"
    changed = await images.update(library, image.id, alt=None, tags=("z",))
    assert changed is not None and changed.tags == ("z",) and changed.alt is None
    with pytest.raises(LimitReached):
        await images.update(library, image.id, add_tags=("y", "x"), max_tags=2)
    unchanged = await images.update(library, image.id, key="moved.jpg", alt=UNSET)
    assert unchanged is not None and unchanged.tags == ("z",) and unchanged.key == "moved.jpg"
    assert await images.tag_counts(library) == [("b", 1), ("z", 1)]
    assert await images.update(library, "nosuchimage00000", alt="x") is None


async def test_expired_uploads_follow_their_librarys_pending_ttl(catalog: Catalog) -> None:
    short = await catalog.libraries.create(_name(), LibrarySettings(pending_ttl=60))
    forever = await catalog.libraries.create(_name(), LibrarySettings(pending_ttl=0))
    old = await _insert(catalog, short, "old.jpg", status=Status.PENDING)
    young = await _insert(catalog, short, "young.jpg", status=Status.PENDING)
    kept = await _insert(catalog, forever, "kept.jpg", status=Status.PENDING)
    await catalog.pool.execute(
        "UPDATE images SET pending_since = now() - interval '2 minutes' WHERE id = ANY($1)",
        [old.id, kept.id],
    )
    expired = await catalog.images.expired_pending(7 * 24 * 3600, 10_000)
    ours = [(lib.name, image.id) for lib, image in expired if lib.id in (short.id, forever.id)]
    assert ours == [(short.name, old.id)]
    assert young.id not in {image.id for _, image in expired}


# Listing: catalog/query.py's filters and keyset cursor


async def test_pages_walk_every_image_once_in_every_sort(
    catalog: Catalog, library: Library
) -> None:
    made = [await _insert(catalog, library, f"k/{n:02}.jpg") for n in (5, 1, 4, 2, 6, 3, 0)]
    for sort in Sort:
        order = sorted(made, key=lambda i: (getattr(i, sort.column), i.id))
        if sort.descending:
            order.reverse()
        seen: list[str] = []
        query = ImageQuery(sort=sort, limit=3)
        while True:
            page, cursor = await catalog.images.page(library, query)
            seen += [image.id for image in page]
            if cursor is None:
                break
            query = ImageQuery(sort=sort, limit=3, after=decode_cursor(sort, cursor))
        assert seen == [image.id for image in order], sort


async def test_a_row_added_meanwhile_does_not_shift_the_next_page(
    catalog: Catalog, library: Library
) -> None:
    for n in range(4):
        await _insert(catalog, library, f"{n}.jpg")
    first, cursor = await catalog.images.page(library, ImageQuery(sort=Sort.KEY, limit=2))
    assert [i.key for i in first] == ["0.jpg", "1.jpg"] and cursor is not None
    await _insert(catalog, library, "00.jpg")  # sorts into the page already read
    after = decode_cursor(Sort.KEY, cursor)
    rest, end = await catalog.images.page(library, ImageQuery(sort=Sort.KEY, limit=2, after=after))
    assert [i.key for i in rest] == ["2.jpg", "3.jpg"] and end is None


async def test_each_filter_narrows_the_listing(catalog: Catalog, library: Library) -> None:
    wide = _content("wide", width=2000, fmt="png")
    a = await _insert(catalog, library, "cats/a_1.jpg", tags=("cat", "red"), alt="A Tabby")
    b = await _insert(catalog, library, "cats/ab1.jpg", tags=("cat",), content=wide)
    c = await _insert(catalog, library, "dogs/c.jpg", tags=("red",), status=Status.PENDING)
    d = await _insert(catalog, library, "dogs/d%.jpg", status=Status.PENDING)
    await catalog.images.set_status(library, d.id, Status.DELETED)
    await catalog.pool.execute(
        "UPDATE images SET created_at = $2 WHERE id = $1", a.id, datetime(2020, 1, 1, tzinfo=UTC)
    )

    async def keys(**filters: object) -> list[str]:
        page, _ = await catalog.images.page(library, ImageQuery(sort=Sort.KEY, **filters))
        return [image.key for image in page]

    assert await keys() == ["cats/a_1.jpg", "cats/ab1.jpg", "dogs/c.jpg"]
    assert await keys(tags=("cat", "red")) == ["cats/a_1.jpg", "cats/ab1.jpg", "dogs/c.jpg"]
    assert await keys(tags=("cat", "red"), all_tags=True) == ["cats/a_1.jpg"]
    assert await keys(statuses=(Status.PENDING,)) == ["dogs/c.jpg"]
    assert await keys(statuses=(Status.DELETED,)) == ["dogs/d%.jpg"]
    assert await keys(formats=("png",)) == ["cats/ab1.jpg"]
    assert await keys(prefix="cats/a_") == ["cats/a_1.jpg"]  # `_` is no wildcard
    assert await keys(prefix="dogs/d%", statuses=tuple(Status)) == ["dogs/d%.jpg"]
    assert await keys(text="TABBY") == ["cats/a_1.jpg"]
    assert await keys(text="B1") == ["cats/ab1.jpg"]
    assert await keys(min_width=1000) == ["cats/ab1.jpg"]
    assert await keys(max_width=1000) == ["cats/a_1.jpg", "dogs/c.jpg"]
    cut = datetime(2021, 1, 1, tzinfo=UTC)
    assert await keys(created_before=cut) == ["cats/a_1.jpg"]
    assert await keys(created_after=cut) == ["cats/ab1.jpg", "dogs/c.jpg"]
    assert {b.id, c.id} <= set(await catalog.images.live_ids(library))


def test_a_cursor_is_only_taken_by_the_sort_that_made_it() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    cursor = encode_cursor(Sort.NEWEST, when, "abc")
    assert decode_cursor(Sort.NEWEST, cursor) == (when, "abc")
    assert decode_cursor(Sort.KEY, encode_cursor(Sort.KEY, "a/b", "abc")) == ("a/b", "abc")
    for sort, bad in [(Sort.OLDEST, cursor), (Sort.KEY, "!!"), (Sort.KEY, "e30"), (Sort.KEY, "")]:
        with pytest.raises(InvalidQuery):
            decode_cursor(sort, bad)


# Webhooks, stats, the originals' journal, served URIs


async def test_webhooks_cap_and_event_filters(catalog: Catalog, library: Library) -> None:
    every = await catalog.webhooks.create(library, "https://a.example/", [], 2)
    one = await catalog.webhooks.create(library, "https://b.example/", ["image.deleted"], 2)
    with pytest.raises(LimitReached):
        await catalog.webhooks.create(library, "https://c.example/", [], 2)
    assert await catalog.webhooks.listed(library.id) == [every, one]
    assert await catalog.webhooks.listed(library.id, "image.activated") == [every]
    assert await catalog.webhooks.listed(library.id, "image.deleted") == [every, one]
    before = every.created_at - timedelta(seconds=1)
    assert await catalog.webhooks.listed(library.id, "image.deleted", before) == []
    assert await catalog.webhooks.delete(library, every.id)
    assert not await catalog.webhooks.delete(library, every.id)
    assert await catalog.webhooks.listed(library.id) == [one]


async def test_counts_add_up_and_skip_deleted_libraries(catalog: Catalog, library: Library) -> None:
    assert await catalog.stats.counts(library) is None
    gone = await catalog.libraries.ensure(_name())
    await catalog.libraries.delete(gone)
    await catalog.stats.add_counts({library.id: (1, 2), gone.id: (5, 5)})
    await catalog.stats.add_counts({library.id: (3, 4)})
    counted = await catalog.stats.counts(library)
    assert counted is not None and counted[:2] == (4, 6)
    await _insert(catalog, library, "p.jpg", status=Status.PENDING)
    await _insert(catalog, library, "a.jpg", content=_content("a", size=7))
    usage = await catalog.stats.usage(library)
    assert usage == {"pending": 1, "active": 1, "deleted": 0, "bytes": 1007}


async def test_journal_entries_are_found_by_age_until_settled(catalog: Catalog) -> None:
    ids = await catalog.originals.unsettle(["f" * 64, "e" * 64])
    assert len(ids) == 2
    young = {i for i, _ in await catalog.originals.unsettled(3600, 100_000)}
    assert not young & set(ids)
    old = await catalog.originals.unsettled(0, 100_000)
    assert {(i, sha) for i, sha in old if i in ids} == {(ids[0], "f" * 64), (ids[1], "e" * 64)}
    await catalog.originals.settle(ids)
    assert not {i for i, _ in await catalog.originals.unsettled(0, 100_000)} & set(ids)


async def test_served_uris_are_kept_once_per_key_up_to_a_cap(
    catalog: Catalog, library: Library
) -> None:
    served = catalog.served
    assert await served.record_served(library.id, "a.jpg", "/lib/a.jpg?w=1", 2, 3600)
    assert await served.record_served(library.id, "a.jpg", "/lib/a.jpg?w=1", 2, 3600)
    assert await served.record_served(library.id, "a.jpg", "/lib/a.jpg?w=2", 2, 3600)
    assert not await served.record_served(library.id, "a.jpg", "/lib/a.jpg?w=3", 2, 3600)
    assert await served.record_served(library.id, "b.jpg", "/lib/b.jpg", 2, 3600)
    assert sorted(await served.served_uris(library.id, ["a.jpg"])) == [
        "/lib/a.jpg?w=1",
        "/lib/a.jpg?w=2",
    ]
    assert len(await served.served_uris(library.id, None)) == 3
    assert await served.served_uris(library.id, []) == []
