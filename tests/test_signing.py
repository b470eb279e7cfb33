"""Signed URLs: the schemes' published vectors, the rules, and the origin enforcing them."""

from __future__ import annotations

import time

import pytest
from aiohttp.test_utils import TestClient

from catalog import LibrarySettings, Scheme, SigningKey, UrlPolicy
from imgorigin.app import Services
from origin import signing
from origin.errors import Forbidden
from tests import images
from tests.conftest import Tenant, error_of, upload

NATIVE = SigningKey("sk_a", Scheme.NATIVE, "secret-a")
ROTATED = SigningKey("sk_b", Scheme.NATIVE, "secret-b")
IMGIX = SigningKey("sk_i", Scheme.IMGIX, "FOO123bar")


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
    library = await services.catalog.get_library(tenant.name)
    assert library is not None
    return await services.catalog.create_signing_key(library, scheme), f"/{tenant.name}/{name}"


async def test_the_origin_enforces_the_policy(
    origin: TestClient, admin: TestClient, tenant: Tenant, services: Services
) -> None:
    key, path = await published(admin, tenant, services, Scheme.NATIVE, "cat.jpg")
    library = await services.catalog.get_library(tenant.name)
    assert library is not None
    await services.catalog.set_library_settings(library, LibrarySettings(require_signed=True))

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
