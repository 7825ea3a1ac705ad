"""What every triager does around its model: text, emotional load, language, and the reasons a person is needed.

A triager only supplies `classify(text) -> Classification` for a message that has text to classify.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from supportpilot.mail.text import is_reply_subject, split_reply
from supportpilot.models import TriageResult
from supportpilot.triage.courtesy import asks_nothing
from supportpilot.triage.emotion import emotional_load
from supportpilot.triage.interface import (
    HIGH_EMOTIONAL_LOAD,
    MIN_CONFIDENCE,
    OUT_OF_SCOPE,
    REASON_HIGH_EMOTIONAL_LOAD,
    REASON_LOW_CONFIDENCE,
    REASON_NO_BODY,
    REASON_NO_REQUEST,
    REASON_NO_TEXT,
    REASON_PRIVACY,
    REASON_TRIAGE_FAILED,
    REASON_TRUNCATED,
    SUPPORTED_LANGUAGES,
    UNDETERMINED_LANGUAGE,
    TriageInput,
    Triager,
    has_letters,
    message_text,
    mixed_languages_reason,
    triage_result,
    unsupported_language_reason,
)
from supportpilot.triage.language import message_language, mixed_languages
from supportpilot.triage.neutral import neutralise_names

logger = logging.getLogger(__name__)

PRIVACY_CATEGORY = "privacy_request"


@dataclass(frozen=True)
class Classification:
    """A model's verdict on a message's text."""

    category: str  # one of the model's labels, or OUT_OF_SCOPE
    confidence: float
    explanation: str
    reasons: tuple[str, ...] = ()  # the model's own reasons for a person (out of scope, low confidence)
    mentions_privacy: bool = False  # personal data is asked about, even when another category won


def new_words(text: str) -> str:
    """A mail without quoted earlier messages and signature (a single line as it is)."""
    return split_reply(text)[0] if "\n" in text else text


def own_text(text: str) -> str:
    """The writer's own words of a mail: without quoted earlier messages and signature, when anything is left."""
    new = new_words(text)
    return new if has_letters(new) else text


def own_and_thread(text: str) -> tuple[str, str]:
    """A message's own words (`own_text`) and its whole thread, both with names neutralised: what the emotional
    load and the language read. The model's `tokenise` neutralises the same text and gets this answer from
    `neutralise_names`'s cache."""
    thread = neutralise_names(text)
    return own_text(thread), thread


def body_text(message: TriageInput, thread: str) -> str:
    """The body's part of a message's `thread` (as `own_and_thread` gives it for `message_text(message)`, which puts
    the subject's lines first); "" when there is no body."""
    subject = message.subject.strip()
    if not subject:
        return thread
    subject_lines = subject.count("\n") + 1
    lines = thread.split("\n", subject_lines)
    return lines[-1] if len(lines) > subject_lines else ""


def written_language(given: str | None, own: str, thread: str) -> str:
    """The caller's language tag, else the language of a message's own words (`own_text`), else of the whole thread
    when those are too few to tell ("Ok!"). `own` and `thread` as `own_and_thread` gives them."""
    language = message_language(given, own)
    if language == UNDETERMINED_LANGUAGE and own != thread:
        language = message_language(None, thread)
    return language


def triage_message(triager: Triager, message: TriageInput, classify: Callable[[str], Classification]) -> TriageResult:
    """Never raises on a message: a bug in a triager hands the message to a person instead of losing it."""
    try:
        return _triage_message(triager, message, classify)
    except Exception:
        logger.exception("triage failed", extra={"model": triager.name})
        return triage_result(triager, OUT_OF_SCOPE, 0.0, UNDETERMINED_LANGUAGE, 0.0, [], [REASON_TRIAGE_FAILED], "")


def _triage_message(triager: Triager, message: TriageInput, classify: Callable[[str], Classification]) -> TriageResult:
    text, truncated = message_text(message)
    reasons = [REASON_TRUNCATED] if truncated else []
    # A thank-you that quotes an angry earlier mail is no angry mail, an English reply to the shop's Dutch one is
    # English, and "Mia" and "Nur" (Italian and German stopwords) in a signature do not make a Dutch message foreign.
    own, neutral = own_and_thread(text)
    load, cues = emotional_load(own, message.contacts_last_7_days)
    if load >= HIGH_EMOTIONAL_LOAD:
        reasons.append(REASON_HIGH_EMOTIONAL_LOAD)
    if not has_letters(text):
        language = message_language(message.language, "")
        return triage_result(
            triager, OUT_OF_SCOPE, 0.0, language, load, cues, [REASON_NO_TEXT, *reasons], "no text to classify"
        )

    language = written_language(message.language, own, neutral)
    body_new = new_words(body_text(message, neutral))
    # A reply's subject ("Re: Waar blijft mijn pakket?") repeats its thread's: of a reply only the body can ask.
    asking = body_new if message.body.strip() and is_reply_subject(message.subject) else own
    if asks_nothing(asking):  # "Bedankt!": a model would read some category into it
        explanation = "only a greeting, thanks or sign-off"
        return triage_result(
            triager, OUT_OF_SCOPE, 0.0, language, load, cues, [REASON_NO_REQUEST, *reasons], explanation
        )

    if not has_letters(body_new):  # the model reads the subject, or the quote
        reasons.append(REASON_NO_BODY)
    unsupported = language not in SUPPORTED_LANGUAGES and language != UNDETERMINED_LANGUAGE
    if unsupported:
        reasons.insert(0, unsupported_language_reason(language))
    if mixed := mixed_languages(own):  # which language would a reply take?
        reasons.append(mixed_languages_reason(mixed))
    verdict = classify(text)
    reasons += verdict.reasons
    category, explanation = verdict.category, verdict.explanation
    if category != OUT_OF_SCOPE:
        if verdict.confidence < MIN_CONFIDENCE:
            reasons.append(REASON_LOW_CONFIDENCE)
        if category == PRIVACY_CATEGORY or verdict.mentions_privacy:
            reasons.append(REASON_PRIVACY)  # a privacy request in any language goes to the privacy queue
        if unsupported:  # the model knows only the supported languages: its category is a guess, said as one
            category = OUT_OF_SCOPE
            explanation = f"{reasons[0]}: best guess '{verdict.category}' ({verdict.confidence}); {explanation}"
    return triage_result(triager, category, verdict.confidence, language, load, cues, reasons, explanation)
