"""All settings: one frozen dataclass per subsystem, combined here and read from the
environment. Every field carries its variable name and help text, which is how
`imgorigin settings --markdown` writes the table in README.md.
"""

from __future__ import annotations

import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from admin_api.settings import AdminSettings
from cache import CacheSettings, PurgeSettings
from catalog import CatalogSettings
from origin.settings import OriginSettings
from storage import StorageSettings


@dataclass(frozen=True)
class ServerSettings:
    data_dir: Path = field(
        default=Path("data"),
        metadata={
            "env": "IMGORIGIN_DATA_DIR",
            "help": "Folder of the embedded defaults: PostgreSQL, the blob store, locks. "
            "Also `--data-dir`.",
        },
    )
    host: str = field(
        default="127.0.0.1",
        metadata={"env": "IMGORIGIN_HOST", "help": "Address both ports bind. Also `--host`."},
    )
    origin_port: int = field(
        default=8080,
        metadata={
            "env": "IMGORIGIN_ORIGIN_PORT",
            "min": 0,
            "max": 65535,
            "help": "Port of the public origin. Also `--origin-port`.",
        },
    )
    admin_port: int = field(
        default=8081,
        metadata={
            "env": "IMGORIGIN_ADMIN_PORT",
            "min": 0,
            "max": 65535,
            "help": "Port of the admin API; keep it off the public network. Also `--admin-port`.",
        },
    )
    workers: int = field(
        default=0,
        metadata={
            "env": "IMGORIGIN_WORKERS",
            "min": 0,
            "max": 256,
            "help": "Processes serving both ports (SO_REUSEPORT), each with its own event "
            "loop and render pool. 0 means one per CPU this process may use (its CPU "
            "affinity and any cgroup CPU quota, as in a container), and then "
            "IMGORIGIN_RENDER_WORKERS=0 shares those CPUs among the workers. Also `--workers`.",
        },
    )
    log_level: str = field(
        default="INFO",
        metadata={"env": "IMGORIGIN_LOG_LEVEL", "help": "DEBUG, INFO, WARNING or ERROR."},
    )
    access_log: bool = field(
        default=False,
        metadata={
            "env": "IMGORIGIN_ACCESS_LOG",
            "help": "Log every request to stderr (aiohttp's access log). Off by default: "
            "it costs a tenth of a stored hit's time, and nginx or the CDN in front "
            "logs the same requests.",
        },
    )

    def validate(self) -> None:
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(f"IMGORIGIN_LOG_LEVEL: unknown level {self.log_level!r}")


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    purge: PurgeSettings = field(default_factory=PurgeSettings)
    origin: OriginSettings = field(default_factory=OriginSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            **{name: _load(section, env) for name, section in _sections().items()}
        ).validated()

    def validated(self) -> Settings:
        for section in self.sections():
            for f in fields(section):
                _check_range(f.metadata, getattr(section, f.name))
            section.validate()
        return self

    @property
    def public_url(self) -> str:
        """The origin's public base URL: the setting, else derived from where it listens.
        Derived on use, never stored, so `--host` and `--origin-port` are reflected."""
        return self.admin.public_url or f"http://{self.server.host}:{self.server.origin_port}"

    def sections(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]


def _sections() -> dict[str, type]:
    """Section name -> its settings class, in the order of Settings' fields."""
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings)}


_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _convert(kind: Any, raw: str, name: str) -> Any:
    value = raw.strip()
    if kind is bool and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    if kind is int and _INTEGER.fullmatch(value):
        return int(value)
    if kind is float and _NUMBER.fullmatch(value):
        return float(value)
    if kind is str:
        return value
    if kind is Path:
        return Path(value)
    raise ValueError(f"{name}={raw!r}: expected {kind.__name__}")


def _load(section: type, env: Mapping[str, str]) -> Any:
    hints = typing.get_type_hints(section)
    values = {
        f.name: _convert(hints[f.name], env[f.metadata["env"]], f.metadata["env"])
        for f in fields(section)
        if f.metadata["env"] in env
    }
    return section(**values)


def _check_range(metadata: Mapping[str, Any], value: Any) -> None:
    """The bounds a field declares: `min` and `max` inclusive, `above` exclusive."""
    env = metadata["env"]
    if "min" in metadata and value < metadata["min"]:
        raise ValueError(f"{env} must be at least {metadata['min']}")
    if "max" in metadata and value > metadata["max"]:
        raise ValueError(f"{env} must be at most {metadata['max']}")
    if "above" in metadata and value <= metadata["above"]:
        raise ValueError(f"{env} must be more than {metadata['above']}")


def documented_settings() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting, in section order."""
    rows = []
    for section_type in _sections().values():
        section = section_type()
        for f in fields(section):
            default = getattr(section, f.name)
            shown = f"`{default}`" if default not in ("", None) else "(empty)"
            rows.append((f.metadata["env"], shown, f.metadata["help"]))
    return rows


def settings_markdown() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{env}` | {default} | {text} |" for env, default, text in documented_settings()]
    return "\n".join(lines) + "\n"
