"""Storage settings, and the one place that turns a storage URL into a backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from storage.base import BlobStore
from storage.filesystem import FilesystemStore


@dataclass(frozen=True)
class StorageSettings:
    url: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_STORAGE_URL",
            "help": "Where originals and variants are stored: `file:///path`. "
            "Empty means `<data dir>/store`.",
        },
    )

    def validate(self) -> None:
        if self.url and urlsplit(self.url).scheme != "file":
            raise ValueError(f"IMGORIGIN_STORAGE_URL: unsupported scheme in {self.url!r}")


def open_store(settings: StorageSettings, data_dir: Path) -> BlobStore:
    if not settings.url:
        return FilesystemStore(data_dir / "store")
    parts = urlsplit(settings.url)
    return FilesystemStore(Path(unquote(parts.path)))
