from __future__ import annotations

import pytest

from origin import dialect
from origin.negotiate import accepted_types, negotiate
from origin.spec import OutputFormat

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI_OLD = "image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
IE = "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"


@pytest.mark.parametrize(
    ("query", "accept", "source", "expected"),
    [
        ("", CHROME, "jpeg", (OutputFormat.JPG, False)),
        ("", None, "png", (OutputFormat.PNG, False)),
        ("", None, "tiff", (OutputFormat.PNG, False)),
        ("fm=webp", IE, "jpeg", (OutputFormat.WEBP, False)),
        ("auto=format", CHROME, "jpeg", (OutputFormat.AVIF, True)),
        ("auto=format", SAFARI_OLD, "jpeg", (OutputFormat.WEBP, True)),
        ("auto=format", IE, "jpeg", (OutputFormat.JPG, True)),
        ("auto=format", "*/*", "png", (OutputFormat.PNG, True)),
        ("auto=format", "image/avif;q=0, image/webp", "jpeg", (OutputFormat.WEBP, True)),
        ("auto=format", None, "gif", (OutputFormat.GIF, True)),
    ],
)
def test_negotiate(query: str, accept: str | None, source: str, expected: object) -> None:
    assert negotiate(dialect.parse(query), accept, source) == expected


def test_accept_parsing_ignores_garbage() -> None:
    assert accepted_types("image/webp;q=abc, ,;;, IMAGE/AVIF") == {"image/avif"}
