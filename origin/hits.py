"""Repeat hits answered from memory: small stored variants, held by the URL as sent
and the class of its Accept header, with the headers their answer carries.

A hit on a stored variant costs reading the URL, two lookups and a read of the store;
a URL asked for again answers from here instead, skipping all three. This is a memo
of the read path for one URL, not a variant cache: what is stored, and where, is still
named by the canonical spec (cache.variant_key), and a URL is remembered only after
the read path has answered it from the store, never on its first, rendering request.

It is exactly as fresh as the lookups it skips:
- an entry lives no longer than the image's and the library's policy's entries in the
  resolvers (catalog.resolver), from which it took its answer, nor past the time its
  URI is due to be recorded again for nginx's purges (cache.ServedUris);
- the resolvers tell it what they forget, locally and from other processes (their
  Redis channel): an image's key forgets that image's URLs, a library's policy (key
  "") every URL of the library; and a purge is announced on that channel under the
  library's "" (admin_api.service.Admin.purge). While the channel is down, or when
  there is none, nothing is answered from here, since invalidations could be missed;
- an answer whose URL expires (a signed URL's `expires`), or that nginx may not keep
  (its URI could not be recorded for purges), is never remembered;
- an answer computed while anything was forgotten is not remembered either (it may
  have read what was just changed).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from cache import Outcome
from origin.negotiate import accepted_types
from origin.variants import Variant

Slot = str | tuple[str, str]  # the URL; or the URL and its Accept class, when negotiated


@dataclass(frozen=True, slots=True)
class Remembered:
    """One URL's answer: the variant, its bytes, and the headers the read path gave it
    (as a 304 carries them; `hit_headers` as a 200 from the store does)."""

    variant: Variant
    body: bytes
    headers: dict[str, str]
    until: float  # time.monotonic()
    hit_headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hit_headers", {**self.headers, "X-Cache": Outcome.HIT.value})

    @property
    def library(self) -> str:
        return self.variant.image.library

    @property
    def key(self) -> str:
        return self.variant.image.key


@functools.lru_cache(maxsize=256)
def accept_class(accept: str | None) -> str:
    """What negotiation reads of an Accept header (origin.negotiate): browsers send a
    few distinct headers, so each is read once."""
    types = accepted_types(accept)
    return "avif" if "image/avif" in types else "webp" if "image/webp" in types else ""


class HitMemo:
    def __init__(self, max_bytes: int, max_variant: int, listening: Callable[[], bool]) -> None:
        """`listening`: whether invalidations from other processes reach this one now."""
        self._max_bytes = max_bytes
        self.max_variant = max_variant
        self._listening = listening
        self._entries: OrderedDict[Slot, Remembered] = OrderedDict()
        # library -> image key -> the slots of its URLs, for `forget`
        self._index: dict[str, dict[str, set[Slot]]] = {}
        self._bytes = 0
        self.generation = 0  # counts what was forgotten: see `remember`

    def recall(self, raw_url: str, accept: str | None) -> Remembered | None:
        """What was remembered for the URL (path and query as sent) and this Accept."""
        if not self._entries or not self._listening():
            return None
        slot: Slot = raw_url
        found = self._entries.get(slot)
        if found is None:
            slot = (raw_url, accept_class(accept))
            found = self._entries.get(slot)
            if found is None:
                return None
        if found.until <= time.monotonic():
            self._drop(slot)
            return None
        self._entries.move_to_end(slot)
        return found

    def remember(
        self, raw_url: str, accept: str | None, negotiated: bool, since: int, entry: Remembered
    ) -> None:
        """Hold `entry` for the URL, unless something was forgotten since the request
        began (`since`: the generation it began in)."""
        size = len(entry.body)
        if since != self.generation or size > self.max_variant or not self._listening():
            return
        if entry.until <= time.monotonic():
            return
        slot: Slot = (raw_url, accept_class(accept)) if negotiated else raw_url
        self._drop(slot)
        self._entries[slot] = entry
        self._index.setdefault(entry.library, {}).setdefault(entry.key, set()).add(slot)
        self._bytes += size
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def forget(self, library: str, key: str) -> None:
        """The image at library/key changed; with key "", anything of the library."""
        self.generation += 1
        keys = self._index.get(library, {})
        for image_key in list(keys) if key == "" else [key]:
            for slot in list(keys.get(image_key, ())):
                self._drop(slot)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._index.clear()
        self._bytes = 0

    def _drop(self, slot: Slot) -> None:
        entry = self._entries.pop(slot, None)
        if entry is None:
            return
        self._bytes -= len(entry.body)
        keys = self._index[entry.library]
        keys[entry.key].discard(slot)
        if not keys[entry.key]:
            del keys[entry.key]
            if not keys:
                del self._index[entry.library]
