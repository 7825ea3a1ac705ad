"""Sortable identifiers (ULID layout: 48-bit millisecond time + 80 random bits, Crockford base32).

Ticket ids sort by creation time, survive being lower-cased by mail systems (plus-addresses) and
are short enough for a subject token.
"""

import hashlib
import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {ch: i for i, ch in enumerate(_ALPHABET)}


def _encode(ms: int, tail: bytes) -> str:
    value = (ms << 80) | int.from_bytes(tail[:10], "big")
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_ulid(now_ms: int | None = None) -> str:
    return _encode(int(time.time() * 1000) if now_ms is None else now_ms, os.urandom(10))


def stable_ulid(at_ms: int, seed: str) -> str:
    """A ULID whose random part is derived from `seed`: the same source record always gets the same
    id (imports run twice write the same items), and it still sorts by `at_ms`."""
    return _encode(max(at_ms, 0), hashlib.sha256(seed.encode()).digest())


def is_ulid(text: str) -> bool:
    return len(text) == 26 and text[0] in "01234567" and all(ch in _DECODE for ch in text.upper())


def ulid_time_ms(ulid: str) -> int:
    value = 0
    for ch in ulid.upper()[:10]:
        value = value * 32 + _DECODE[ch]
    return value
