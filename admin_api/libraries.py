"""A library as the admin API shows it, and how a PATCH of its settings is checked."""

from __future__ import annotations

from typing import Any

from catalog import InvalidSettings, Library, LibrarySettings, SigningKey
from origin import dialect
from origin.errors import BadRequest


def library_json(
    library: Library, settings: LibrarySettings, keys: list[SigningKey]
) -> dict[str, Any]:
    return {
        "name": library.name,
        "created_at": library.created_at.isoformat(),
        "settings": settings.to_json(),
        # Secrets are shown once, when a key is made (`imgorigin signing create-key`).
        "signing_keys": [{"id": key.id, "scheme": key.scheme.value} for key in keys],
    }


def patched(current: LibrarySettings, changes: dict[str, Any]) -> LibrarySettings:
    """`current` with `changes` (a partial settings object) applied and checked;
    every preset must be a query the origin would accept."""
    try:
        settings = LibrarySettings.from_json({**current.to_json(), **changes})
    except InvalidSettings as exc:
        raise BadRequest(str(exc), code="invalid_settings") from None
    for name, query in settings.presets.items():
        dialect.check_preset(name, query)
    return settings
