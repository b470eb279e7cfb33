"""Listing a library's images: filters, a sort, and keyset pagination, as pure SQL.

The cursor names the last row of a page by its sort value and id, so a page is one
index range scan however deep it is (no OFFSET), and rows added meanwhile neither
repeat nor shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from catalog.models import Status


class InvalidQuery(ValueError):
    """A listing the catalog cannot answer (a bad cursor); the message says why."""


class Sort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    KEY = "key"
    KEY_DESC = "-key"

    @property
    def column(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True)
class ImageQuery:
    tags: tuple[str, ...] = ()
    all_tags: bool = False  # else any of `tags`
    statuses: tuple[Status, ...] = (Status.PENDING, Status.ACTIVE)
    formats: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    prefix: str | None = None  # of the key
    text: str | None = None  # in the key or the alt text, case-insensitive
    min_width: int | None = None
    max_width: int | None = None
    sort: Sort = Sort.NEWEST
    limit: int = 50
    after: tuple[Any, str] | None = None  # (sort value, id) of the previous page's last row


def encode_cursor(sort: Sort, value: Any, image_id: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort.value, value, image_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> tuple[Any, str]:
    """(sort value, id) from a cursor made for the same sort; InvalidQuery otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, image_id = json.loads(raw)
        if made_for != sort.value or not isinstance(value, str) or not isinstance(image_id, str):
            raise ValueError(made_for)
        return (datetime.fromisoformat(value) if sort.column == "created_at" else value), image_id
    except (ValueError, TypeError, binascii.Error):
        raise InvalidQuery("the cursor is not one this listing made, for this sort") from None


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_sql(library_id: int, query: ImageQuery, select: str) -> tuple[str, list[Any]]:
    """The statement for one page (`limit + 1` rows, to tell whether another follows)."""
    args: list[Any] = [library_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["i.library_id = $1", f"i.status = ANY({arg([s.value for s in query.statuses])})"]
    if query.tags:
        having = f"= {arg(len(set(query.tags)))}" if query.all_tags else "> 0"
        where.append(
            f"(SELECT count(*) FROM image_tags t WHERE t.image_id = i.id"
            f" AND t.tag = ANY({arg(list(query.tags))}::text[])) {having}"
        )
    if query.formats:
        where.append(f"i.format = ANY({arg(list(query.formats))}::text[])")
    if query.created_after is not None:
        where.append(f"i.created_at >= {arg(query.created_after)}")
    if query.created_before is not None:
        where.append(f"i.created_at < {arg(query.created_before)}")
    if query.prefix:
        where.append(f"i.key LIKE {arg(_like_prefix(query.prefix))}")
    if query.text:
        pattern = arg("%" + _like_prefix(query.text))
        where.append(f"(i.key ILIKE {pattern} OR i.alt ILIKE {pattern})")
    if query.min_width is not None:
        where.append(f"i.width >= {arg(query.min_width)}")
    if query.max_width is not None:
        where.append(f"i.width <= {arg(query.max_width)}")
    column = f"i.{query.sort.column}"
    order = "DESC" if query.sort.descending else "ASC"
    if query.after is not None:
        value, image_id = query.after
        beyond = "<" if query.sort.descending else ">"
        where.append(f"({column}, i.id) {beyond} ({arg(value)}, {arg(image_id)})")
    sql = (
        f"{select} WHERE {' AND '.join(where)}"
        f" ORDER BY {column} {order}, i.id {order} LIMIT {arg(query.limit + 1)}"
    )
    return sql, args
