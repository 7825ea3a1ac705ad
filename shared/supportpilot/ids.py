"""Sortable identifiers (ULID layout: 48-bit millisecond time + 80 random bits, Crockford base32).

Ticket ids sort by creation time, survive being lower-cased by mail systems (plus-addresses) and
are short enough for a subject token.
"""

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {ch: i for i, ch in enumerate(_ALPHABET)}


def new_ulid(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_ulid(text: str) -> bool:
    return len(text) == 26 and text[0] in "01234567" and all(ch in _DECODE for ch in text.upper())


def ulid_time_ms(ulid: str) -> int:
    value = 0
    for ch in ulid.upper()[:10]:
        value = value * 32 + _DECODE[ch]
    return value
