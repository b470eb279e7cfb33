"""Signed URLs: the schemes' published vectors, the rules, and the origin enforcing them."""

from __future__ import annotations

import time

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from catalog import (
    InvalidSecret,
    LibrarySettings,
    Scheme,
    SigningKey,
    UrlPolicy,
    check_signing_secret,
)
from imgorigin.app import Services
from imgorigin.cli.sign import unsigned_path
from origin import signing
from origin.errors import Forbidden
from tests import images
from tests.conftest import Tenant, error_of, upload

NATIVE = SigningKey("sk_a", Scheme.NATIVE, "secret-a")
ROTATED = SigningKey("sk_b", Scheme.NATIVE, "secret-b")
IMGIX = SigningKey("sk_i", Scheme.IMGIX, "FOO123bar")
# imgproxy's documentation's key "secret" and salt "hello", hex-encoded.
IMGPROXY = SigningKey("sk_p", Scheme.IMGPROXY, "736563726574:68656c6c6f")


def refused(policy: UrlPolicy, path: str, query: str, now: float = 1e9) -> str | None:
    """The error code check() raises, or None when the URL may be served."""
    try:
        signing.check(policy, path, query, now)
    except Forbidden as exc:
        return exc.code
    return None


def test_imgix_published_vectors() -> None:
    assert signing.imgix_signature("FOO123bar", "/users/1.png", "") == (
        "6797c24146142d5b40bde3141fd3600c"
    )
    assert signing.signature_for(IMGIX, "/users/1.png", "w=400&h=300") == (
        "c7b86f666a832434dd38577e38cf86d1"
    )
    # The imgix SDKs append s last; it is not part of what was signed.
    policy = UrlPolicy(LibrarySettings(require_signed=True), (IMGIX,))
    assert refused(policy, "/users/1.png", "w=400&h=300&s=c7b86f666a832434dd38577e38cf86d1") is None
    # imgix signs the query as sent: another order is another URL.
    assert refused(policy, "/users/1.png", "h=300&w=400&s=c7b86f666a832434dd38577e38cf86d1") == (
        "invalid_signature"
    )


def test_native_signatures_ignore_parameter_order() -> None:
    policy = UrlPolicy(LibrarySettings(require_signed=True), (NATIVE,))
    signed = signing.sign(NATIVE, "/lib/cat.jpg", "w=400&fm=webp")
    assert signed.startswith("w=400&fm=webp&s=")
    assert refused(policy, "/lib/cat.jpg", signed) is None
    s = signed.rpartition("s=")[2]
    assert refused(policy, "/lib/cat.jpg", f"s={s}&fm=webp&w=400") is None
    assert signing.native_signature("k", "/p", []) == signing.native_signature("k", "/p", [])
    assert len(s) == 43 and "=" not in s  # base64url of 32 bytes, unpadded


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/lib/cat.jpg", "w=400", "signature_required"),
        ("/lib/cat.jpg", "w=401&fm=webp&s=SIGNED", "invalid_signature"),  # tampered
        ("/lib/dog.jpg", "w=400&fm=webp&s=SIGNED", "invalid_signature"),  # another path
        ("/lib/cat.jpg", "w=400&fm=webp&s=SIGNEe", "invalid_signature"),  # one letter off
        ("/lib/cat.jpg", "w=400&fm=webp&s=SIGN", "invalid_signature"),  # truncated
        ("/lib/cat.jpg", "w=400&fm=webp&s=", "invalid_signature"),
    ],
)
def test_what_a_library_requiring_signatures_refuses(path: str, query: str, code: str) -> None:
    good = signing.sign(NATIVE, "/lib/cat.jpg", "w=400&fm=webp").rpartition("s=")[2]
    policy = UrlPolicy(LibrarySettings(require_signed=True), (NATIVE,))
    assert refused(policy, path, query.replace("SIGNED", good)) == code


def test_keys_rotate_and_a_revoked_key_signs_nothing() -> None:
    old = signing.sign(NATIVE, "/lib/a.jpg", "w=10")
    new = signing.sign(ROTATED, "/lib/a.jpg", "w=10")
    both = UrlPolicy(LibrarySettings(require_signed=True), (NATIVE, ROTATED))
    assert refused(both, "/lib/a.jpg", old) is None
    assert refused(both, "/lib/a.jpg", new) is None
    after_revoking_old = UrlPolicy(LibrarySettings(require_signed=True), (ROTATED,))
    assert refused(after_revoking_old, "/lib/a.jpg", old) == "invalid_signature"


def test_expiry_is_signed_and_enforced() -> None:
    policy = UrlPolicy(LibrarySettings(require_signed=True), (NATIVE,))
    signed = signing.sign(NATIVE, "/lib/a.jpg", "w=10&expires=2000")
    assert refused(policy, "/lib/a.jpg", signed, now=1999) is None
    assert refused(policy, "/lib/a.jpg", signed, now=2001) == "url_expired"
    extended = signed.replace("expires=2000", "expires=3000")
    assert refused(policy, "/lib/a.jpg", extended, now=2001) == "invalid_signature"


def test_unsigned_libraries_serve_unsigned_urls_but_check_a_signature_given() -> None:
    open_policy = UrlPolicy(LibrarySettings(require_signed=False), (NATIVE,))
    assert refused(open_policy, "/lib/a.jpg", "w=10") is None
    assert refused(open_policy, "/lib/a.jpg", "w=10&s=" + "A" * 43) == "invalid_signature"
    keyless = UrlPolicy(LibrarySettings(), ())
    assert refused(keyless, "/lib/a.jpg", "w=10&s=abc") == "invalid_signature"


async def published(
    admin: TestClient, tenant: Tenant, services: Services, scheme: Scheme, name: str
) -> tuple[SigningKey, str]:
    """An active image in the tenant's library, a signing key for it, and its path."""
    await upload(admin, tenant, images.jpeg(300, 200), key=name, activate="true")
    library = await services.catalog.libraries.get(tenant.name)
    assert library is not None
    return await services.catalog.signing_keys.create(library, scheme), f"/{tenant.name}/{name}"


async def test_the_origin_enforces_the_policy(
    origin: TestClient, admin: TestClient, tenant: Tenant, services: Services
) -> None:
    key, path = await published(admin, tenant, services, Scheme.NATIVE, "cat.jpg")
    library = await services.catalog.libraries.get(tenant.name)
    assert library is not None
    await services.catalog.libraries.set_settings(library, LibrarySettings(require_signed=True))

    unsigned = await origin.get(f"{path}?w=100")
    assert unsigned.status == 403 and await error_of(unsigned) == "signature_required"
    missing = await origin.get(f"/{tenant.name}/no-such.jpg?w=100")
    assert await error_of(missing) == "signature_required"  # no probing for keys
    signed = await origin.get(f"{path}?{signing.sign(key, path, 'w=100&fm=png')}")
    assert signed.status == 200 and images.encoded(await signed.read()).width == 100
    later = int(time.time()) + 60
    fresh = await origin.get(f"{path}?{signing.sign(key, path, f'w=90&expires={later}')}")
    assert fresh.status == 200
    stale = await origin.get(f"{path}?{signing.sign(key, path, 'w=90&expires=1000')}")
    assert await error_of(stale) == "url_expired"
    forged = await origin.get(f"{path}?w=100&fm=png&s={'x' * 43}")
    assert forged.status == 403 and await error_of(forged) == "invalid_signature"
    bad = await origin.get(f"{path}?w=100&expires=soon&s=abc")
    assert bad.status == 400 and await error_of(bad) == "invalid_parameter"


async def test_a_signature_does_not_change_the_variant(
    origin: TestClient, admin: TestClient, tenant: Tenant, services: Services
) -> None:
    key, path = await published(admin, tenant, services, Scheme.IMGIX, "dog.jpg")
    first = await origin.get(f"{path}?{signing.sign(key, path, 'w=80')}")
    second = await origin.get(f"{path}?w=80")  # this library serves unsigned URLs too
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.headers["ETag"] == second.headers["ETag"]


def path_refused(policy: UrlPolicy, signature: str | None, path: str) -> str | None:
    """The error code check_path_signature raises, or None when the path may be served."""
    try:
        signing.check_path_signature(policy, signature, path)
    except Forbidden as exc:
        return exc.code
    return None


def test_imgproxy_published_vector() -> None:
    # docs.imgproxy.net/usage/signing_url
    path = "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"
    signature = "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8"
    assert signing.imgproxy_signature("736563726574", "68656c6c6f", path) == signature
    assert signing.sign_path(IMGPROXY, path) == f"/{signature}{path}"
    policy = UrlPolicy(LibrarySettings(require_signed=True), (IMGPROXY,))
    assert signing.check_path_signature(policy, signature, path) is True


@pytest.mark.parametrize(
    ("signature", "path", "code"),
    [
        ("SIGNED", "/w:100/plain/lib/cat.jpg", None),
        ("insecure", "/w:100/plain/lib/cat.jpg", "signature_required"),
        ("unsafe", "/w:100/plain/lib/cat.jpg", "signature_required"),
        ("SIGNED", "/w:101/plain/lib/cat.jpg", "invalid_signature"),  # tampered
        ("SIGNED", "/w:100/plain/lib/dog.jpg", "invalid_signature"),  # another image
        ("SIGNED", "w:100/plain/lib/cat.jpg", "invalid_signature"),  # signed from its "/"
        ("A" * 43, "/w:100/plain/lib/cat.jpg", "invalid_signature"),
        ("", "/w:100/plain/lib/cat.jpg", "invalid_signature"),
    ],
)
def test_what_a_library_requiring_signatures_refuses_of_imgproxy_paths(
    signature: str, path: str, code: str | None
) -> None:
    good = signing.sign_path(IMGPROXY, "/w:100/plain/lib/cat.jpg").split("/")[1]
    policy = UrlPolicy(LibrarySettings(require_signed=True), (NATIVE, IMGPROXY))
    assert path_refused(policy, signature.replace("SIGNED", good), path) == code


def test_paths_with_no_place_for_a_signature_are_unsigned() -> None:
    """Cloudflare's and ipx's paths: served only by libraries that do not require signing."""
    path = "/w:100/plain/lib/cat.jpg"
    assert (
        signing.check_path_signature(UrlPolicy(LibrarySettings(), (IMGPROXY,)), None, path) is False
    )
    strict = UrlPolicy(LibrarySettings(require_signed=True), (IMGPROXY,))
    assert path_refused(strict, None, path) == "signature_required"


def test_unsigned_libraries_serve_any_imgproxy_signature() -> None:
    path = "/w:100/plain/lib/cat.jpg"
    policy = UrlPolicy(LibrarySettings(), (IMGPROXY,))
    good = signing.sign_path(IMGPROXY, path).split("/")[1]
    assert signing.check_path_signature(policy, "insecure", path) is False
    assert signing.check_path_signature(policy, "A" * 43, path) is False
    assert signing.check_path_signature(policy, good, path) is True  # counts as signed
    keyless = UrlPolicy(LibrarySettings(), ())
    assert signing.check_path_signature(keyless, good, path) is False


def test_imgproxy_keys_sign_paths_and_the_others_queries() -> None:
    only_imgproxy = UrlPolicy(LibrarySettings(require_signed=True), (IMGPROXY,))
    # An imgproxy key's secret used as a native one signs no query URL...
    as_native = signing.native_signature(IMGPROXY.secret, "/lib/a.jpg", [("w", "10")])
    assert refused(only_imgproxy, "/lib/a.jpg", f"w=10&s={as_native}") == "invalid_signature"
    with pytest.raises(ValueError):
        signing.signature_for(IMGPROXY, "/lib/a.jpg", "w=10")
    # ...and a native key signs no imgproxy path.
    only_native = UrlPolicy(LibrarySettings(require_signed=True), (NATIVE,))
    path = "/w:10/plain/lib/a.jpg"
    by_native = signing.native_signature(NATIVE.secret, path, [])
    assert path_refused(only_native, by_native, path) == "invalid_signature"
    with pytest.raises(ValueError):
        signing.sign_path(NATIVE, path)


def test_a_malformed_imgproxy_secret_signs_nothing() -> None:
    broken = SigningKey("sk_x", Scheme.IMGPROXY, "not:hex")
    policy = UrlPolicy(LibrarySettings(require_signed=True), (broken, IMGPROXY))
    path = "/w:10/plain/lib/a.jpg"
    assert path_refused(policy, "x", path) == "invalid_signature"
    assert path_refused(policy, signing.sign_path(IMGPROXY, path).split("/")[1], path) is None


def test_signing_secrets_brought_from_elsewhere_are_checked() -> None:
    assert check_signing_secret(Scheme.IMGPROXY, " 7365:68656C\n") == "7365:68656c"
    for bad in ("", "736563726574", "73656:6865", "xyz0:00", "7365:", ":7365", "73 65:00"):
        with pytest.raises(InvalidSecret):
            check_signing_secret(Scheme.IMGPROXY, bad)
    assert check_signing_secret(Scheme.IMGIX, "FOO123bar") == "FOO123bar"
    for bad in ("short", "with space inside", "x" * 257):
        with pytest.raises(InvalidSecret):
            check_signing_secret(Scheme.NATIVE, bad)


@pytest.mark.parametrize(
    ("given", "unsigned"),
    [
        ("/insecure/w:10/plain/lib/a.jpg", "/w:10/plain/lib/a.jpg"),
        ("/OLDSIGNATURE/w:10/plain/lib/a.jpg", "/w:10/plain/lib/a.jpg"),
        ("/w:10/plain/lib/a.jpg", "/w:10/plain/lib/a.jpg"),
        ("/plain/lib/a.jpg", "/plain/lib/a.jpg"),
    ],
)
def test_the_cli_signs_imgproxy_paths_without_their_signature_segment(
    given: str, unsigned: str
) -> None:
    assert unsigned_path(given) == unsigned


async def test_imgproxy_keys_in_the_catalog(tenant: Tenant, services: Services) -> None:
    library = await services.catalog.libraries.get(tenant.name)
    assert library is not None
    made = await services.catalog.signing_keys.create(library, Scheme.IMGPROXY)
    key_hex, salt_hex = made.secret.split(":")
    assert len(key_hex) == len(salt_hex) == 128 and bytes.fromhex(key_hex + salt_hex)
    imported = await services.catalog.signing_keys.create(
        library, Scheme.IMGPROXY, "736563726574:68656C6C6F"
    )
    assert (imported.scheme, imported.secret) == (Scheme.IMGPROXY, IMGPROXY.secret)
    with pytest.raises(InvalidSecret):
        await services.catalog.signing_keys.create(library, Scheme.IMGPROXY, "secret:hello")
    policy = await services.catalog.libraries.url_policy(tenant.name)
    assert policy is not None and {made, imported} <= set(policy.keys)
    # Written by hand, past the program, a bad imgproxy secret is still refused.
    with pytest.raises(asyncpg.CheckViolationError):
        await services.catalog.pool.execute(
            "INSERT INTO signing_keys (id, library_id, scheme, secret)"
            " VALUES ('sk_bad', $1, 'imgproxy', 'secret:hello')",
            library.id,
        )


def ages(cache_control: str) -> dict[str, int]:
    directives = (d.strip().partition("=") for d in cache_control.split(","))
    return {name: int(value) for name, _, value in directives if value}


async def test_an_expiring_url_is_cached_no_longer_than_it_lives(
    origin: TestClient, admin: TestClient, tenant: Tenant, services: Services
) -> None:
    key, path = await published(admin, tenant, services, Scheme.NATIVE, "soon.jpg")
    expires = int(time.time()) + 120
    for query in (f"w=70&expires={expires}", f"w=70&expires={expires}&fm=png"):
        response = await origin.get(f"{path}?{signing.sign(key, path, query)}")
        assert response.status == 200, await response.text()
        kept = ages(response.headers["Cache-Control"])
        # Neither browsers nor shared caches keep it, or serve it stale, once it is dead.
        assert 110 <= kept["max-age"] <= 120 and kept["s-maxage"] == kept["max-age"]
        assert kept["stale-while-revalidate"] == 0
        # A 304 says the same as the 200 it confirms.
        etag = response.headers["ETag"]
        again = await origin.get(
            f"{path}?{signing.sign(key, path, query)}", headers={"If-None-Match": etag}
        )
        assert again.status == 304 and ages(again.headers["Cache-Control"])["s-maxage"] <= 120
    # A URL that lives longer than the caches' own ages keeps them, stale window included,
    # as far as it fits.
    years = int(time.time()) + 2 * 31_536_000
    response = await origin.get(f"{path}?{signing.sign(key, path, f'w=70&expires={years}')}")
    assert ages(response.headers["Cache-Control"]) == {
        "max-age": 86_400,
        "s-maxage": 31_536_000,
        "stale-while-revalidate": 86_400,
    }
    nearly = int(time.time()) + 31_536_000 + 3600
    response = await origin.get(f"{path}?{signing.sign(key, path, f'w=70&expires={nearly}')}")
    kept = ages(response.headers["Cache-Control"])
    assert kept["s-maxage"] == 31_536_000 and 3500 <= kept["stale-while-revalidate"] <= 3600
