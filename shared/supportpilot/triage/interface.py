"""The triage interface: what the classify stage calls, independent of the model behind it.

The classify Lambda only needs `load_triager()` and `Triager.triage(TriageInput) -> TriageResult`.
Two triagers sit behind it (the keyword baseline and the trained linear model), both inside `frame.triage_message`.
"""

from __future__ import annotations

import os
import unicodedata
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from supportpilot.models import UNDETERMINED_LANGUAGE as UNDETERMINED_LANGUAGE  # part of this interface
from supportpilot.models import TriageResult

CATEGORIES: tuple[str, ...] = (
    "order_status",
    "delivery_problem",
    "return_request",
    "refund",
    "billing_error",
    "product_defect",
    "cancellation",
    "account",
    "product_question",
    "privacy_request",
)
OUT_OF_SCOPE = "out_of_scope"
SUPPORTED_LANGUAGES: tuple[str, ...] = ("nl", "en")

# Longer texts are cut before triage; the start of a message carries the request.
MAX_TRIAGE_CHARS = 20_000
# Below this category confidence a person should look at the ticket.
MIN_CONFIDENCE = 0.5
HIGH_EMOTIONAL_LOAD = 0.6

# needs_human reasons; stable strings the classify stage and dashboards can rely on.
REASON_LOW_CONFIDENCE = "low confidence"
REASON_OUT_OF_SCOPE = "out of scope: no known topic recognised"
REASON_NO_TEXT = "no text to classify"
REASON_TRUNCATED = "message truncated for triage"
REASON_PRIVACY = "privacy request: handled by a person"
REASON_HIGH_EMOTIONAL_LOAD = "high emotional load"
REASON_TRIAGE_FAILED = "triage failed: internal error"
REASON_NO_BODY = "no message of their own: only a subject or quoted mail"
REASON_NO_REQUEST = "no request: only a greeting, thanks or sign-off"
REASON_PLATFORM_NOTICE = "a platform's notice, not a customer's message: a person handles it"


def unsupported_language_reason(language: str) -> str:
    return f"unsupported language: {language}"


def mixed_languages_reason(languages: list[str]) -> str:
    return f"mixed languages: {', '.join(languages)}"


class TriageInput(BaseModel):
    """What a triager sees of an inbound message. Deliberately no customer identity."""

    subject: str = ""
    body: str = ""
    channel: str | None = None
    language: str | None = None
    contacts_last_7_days: int | None = None


@runtime_checkable
class Triager(Protocol):
    """Anything that turns a message into a `TriageResult`. Implementations must never raise on text."""

    name: str
    version: str

    def triage(self, message: TriageInput) -> TriageResult: ...


def triage_result(
    triager: Triager,
    category: str,
    confidence: float,
    language: str,
    load: float,
    cues: list[str],
    reasons: list[str],
    explanation: str,
) -> TriageResult:
    """The result every triager returns: a person is needed exactly when there is a reason."""
    return TriageResult(
        category=category,
        confidence=confidence,
        language=language,
        emotional_load=load,
        high_emotional_load=load >= HIGH_EMOTIONAL_LOAD,
        cues=cues,
        needs_human=bool(reasons),
        reasons=reasons,
        model_name=triager.name,
        model_version=triager.version,
        explanation=explanation,
    )


# The model `make model` trains from the seed corpus; it ships in the package (and so the layer).
DEFAULT_MODEL_DIR = os.path.join(os.path.dirname(__file__), "models", "default")


def load_triager(model_dir: str | None = None) -> Triager:
    """Return the triager to use. `None` gives the keyword baseline; a directory holding `model.json`
    gives a `TrainedTriager`. Anything else is rejected with a ValueError rather than silently falling
    back to the baseline.
    """
    if model_dir is None:
        from supportpilot.triage.keyword_baseline import KeywordBaselineTriager

        return KeywordBaselineTriager()
    if not isinstance(model_dir, str) or not model_dir.strip():
        raise ValueError("model_dir must be a directory path, or None for the keyword baseline")
    if not os.path.isdir(model_dir):
        raise ValueError(f"triage model directory not found: {model_dir!r}")
    if os.path.isfile(os.path.join(model_dir, "model.json")):
        from supportpilot.triage.linear_model import TrainedTriager

        return TrainedTriager(model_dir)
    raise ValueError(f"unrecognised triage model directory: {model_dir!r} (no model.json in it)")


class _FoldTable(dict[int, str]):
    """str.translate table: controls to a space, apostrophe look-alikes to ', every other character to its
    NFKD decomposition without combining marks; filled on first sight of a character, so the hot path is C."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        folded = self[code] = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        return folded


_CONTROL_CHARS = [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), *range(0x200B, 0x2010)]
_FOLD = _FoldTable(
    {code: " " for code in [*_CONTROL_CHARS, 0x2028, 0x2029, 0xFEFF]}
    | {ord(ch): "'" for ch in "\u2019\u2018`\u00b4"}
    | {0x0131: "i"}  # dotless i
)


def fold_text(text: str) -> str:
    """Case- and accent-insensitive form used for matching: casefolded, no diacritics, no controls.

    `fold_text` keeps one character per visible character in most cases but is not length-preserving;
    use it for matching only, never to slice the original text.
    """
    return text.casefold().translate(_FOLD)


def message_text(message: TriageInput) -> tuple[str, bool]:
    """Subject and body as one text, cut to MAX_TRIAGE_CHARS. Returns (text, truncated)."""
    subject = message.subject.strip()
    body = message.body.strip()
    text = f"{subject}\n{body}" if subject and body else subject or body
    if len(text) > MAX_TRIAGE_CHARS:
        return text[:MAX_TRIAGE_CHARS], True
    return text, False


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)
