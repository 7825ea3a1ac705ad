"""Emotional load of a message (Dutch and English): a score in 0..1 and short English cue labels.

Cues name the kind of signal ("insult", "threat: consumer authority"), never the customer's words,
so they can be shown on dashboards and stored in audit logs. Names, titles, pronouns and ages are
not features: Title-case words (names, sentence starts, "Mevrouw") are ignored by the capitals check.
"""

from __future__ import annotations

import re
from functools import cache

from supportpilot.regex_store import compiled
from supportpilot.triage.interface import fold_text
from supportpilot.triage.neutral import neutralise_names


def _words(*alternatives: str) -> str:
    return r"\b(?:" + "|".join(alternatives) + r")\b"


# (cue, weight, pattern on folded text). Each cue counts once however often it occurs.
_TEXT_CUES: tuple[tuple[str, float, str], ...] = (
    (
        "insult",
        0.35,
        _words(
            r"oplicht\w*",
            r"zwendel\w*",
            r"dieven",
            r"boeven",
            r"prutsers",
            r"amateurs",
            r"idioten",
            r"debielen?",
            r"waardeloo?s\w*",
            r"klote\w*",
            r"kut\w*",
            r"flikkers?",
            r"incompetent\w*",
            r"nepwinkel",
            r"scam\w*",
            r"fraud\w*",
            r"fraude",
            r"crooks?",
            r"thie(?:f|ves)",
            r"idiots?",
            r"morons?",
            r"useless",
            r"incompetent",
            r"pathetic",
            r"clowns",
            r"shit\w*",
            r"crap\w*",
            r"the\s+(?:\w+\s+)?worst",
            r"worst\s+(?:\w+\s+)?ever",
        ),
    ),
    (
        "anger",
        0.25,
        _words(
            r"belachelijk\w*",
            r"schandalig\w*",
            r"schande",
            r"onacceptabel",
            r"onaanvaardbaar",
            r"bespottelijk",
            r"te\s+gek\s+voor\s+woorden",
            r"diep\s+teleurgesteld",
            r"woedend",
            r"boos",
            r"kwaad",
            r"slechtste",
            r"aanfluiting",
            r"lachertje",
            r"ridiculous",
            r"outrageous",
            r"unacceptable",
            r"disgrace\w*",
            r"disgusting",
            r"furious",
            r"angry",
            r"appalling",
            r"terrible",
            r"horrible",
            r"what\s+a\s+joke",
            r"wtf",
        )
        # Angry, pouting, cursing and huffing faces, a raised middle finger: no word characters, so outside the
        # word boundaries. Social posts say it this way. Not the eye-roll: the seed corpus has it as often for a
        # cat that hates a cushion as for a late parcel.
        + "|[\U0001f620\U0001f621\U0001f624\U0001f92c\U0001f595]",
    ),
    (
        "despair",
        0.3,
        _words(
            r"ik\s+ben\s+het\s+(?:\w+\s+)?(?:spuug|kots|meer\s+dan\s+)?zat",
            r"wanhopig",
            r"radeloos",
            r"ten\s+einde\s+raad",
            r"ik\s+word\s+gek",
            r"ik\s+geef\s+het\s+op",
            r"(?:ik\s+)?weet\s+niet\s+meer\s+wat\s+ik",
            r"i'?m\s+desperate",
            r"i\s+am\s+desperate",
            r"desperate(?:ly)?",
            r"fed\s+up",
            r"sick\s+and\s+tired",
            r"at\s+my\s+wits'?\s+end",
            r"i\s+give\s+up",
            r"going\s+crazy",
            r"losing\s+my\s+mind",
        ),
    ),
    (
        "threat: consumer authority",
        0.35,
        _words(
            r"acm",
            r"consumentenbond",
            r"consuwijzer",
            r"geschillencommissie",
            r"ombudsman",
            r"consumer\s+(?:authority|association|protection"
            r"|rights\s+organi[sz]ation)",
            r"trading\s+standards",
            r"autoriteit\s+consument",
        ),
    ),
    (
        "threat: legal action",
        0.35,
        _words(
            r"advocaat",
            r"jurist",
            r"juridische\s+stappen",
            r"rechtszaak",
            r"aangifte",
            r"dagvaard\w*",
            r"naar\s+de\s+rechter\s+(?:stappen|gaan|slepen)",
            r"(?:stap|ga|sleep)\w*\s+(?:\w+\s+){0,3}naar\s+de\s+rechter",
            r"lawyer",
            r"attorney",
            r"solicitor",
            r"legal\s+action",
            r"sue\s+you",
            r"(?:see|take)\s+you\s+(?:\w+\s+)?(?:in|to)\s+court",
        ),
    ),
    (
        "threat: chargeback",
        0.35,
        _words(
            r"chargeback",
            r"charge\s+back",
            r"terugboek\w*",
            r"storno",
            r"terugvorderen\s+via",
            r"dispute\s+(?:\w+\s+){0,3}(?:bank|card|credit\s+card|paypal)",
        ),
    ),
    (
        "threat: review",
        0.3,
        _words(
            r"trustpilot",
            r"kiyoh",
            r"(?:slechte|negatieve)\s+(?:review|recensie|beoordeling)",
            r"(?:bad|negative|terrible|1[\s-]star|one[\s-]star)\s+review",
            r"(?:post|posten|posting|share|sharing|zet|zetten|plaats|plaatsen|delen|deel)\s+(?:\w+\s+){0,4}"
            r"(?:social\s+media|twitter|facebook|instagram|tiktok)",
            r"(?:social\s+media|twitter|facebook|instagram|tiktok|internet)\s+(?:\w+\s+){0,3}(?:zetten"
            r"|plaatsen|"
            r"posten|delen|gooien)",
            r"iedereen\s+(?:\w+\s+){0,2}waarschuwen",
            r"warn\s+(?:everyone|others|people)",
        ),
    ),
    (
        "threat: leave",
        0.25,
        _words(
            r"nooit\s+meer\s+(?:\w+\s+){0,2}(?:bestellen|kopen"
            r"|klant)",
            r"(?:bestel|koop)\w*\s+(?:\w+\s+){0,3}nooit\s+meer",  # "bestel ik hier nooit meer"
            r"nooitmeer",  # #nooitmeer
            r"neveragain",
            r"(?:laatste|eerste\s+en\s+laatste)\s+keer",
            r"klant\s+af",
            r"never\s+(?:\w+\s+){0,2}(?:order|buy|shop)\w*\s+(?:\w+\s+){0,3}again",
            r"(?:take|taking)\s+my\s+business\s+elsewhere",
            r"last\s+time\s+i\s+(?:order|buy|shop)\w*",
            r"done\s+with\s+(?:you|this\s+(?:shop|company|store))",
        ),
    ),
    (
        "repeat contact",
        0.25,
        _words(
            r"(?:this\s+is\s+)?(?:the|my)\s+(?:third|3rd|fourth|4th|fifth|5th)\s+time",
            r"(?:for|voor)\s+(?:the|de)\s+(?:third|3rd|fourth|4th|derde|3e|vierde|4e|vijfde)\s+(?:time|keer"
            r"|maal)",
            r"(?:al|inmiddels|nu)\s+(?:drie|vier|vijf|\d+|meerdere|zoveel|zo\s+vaak|talloze)\s+(?:keer|keren"
            r"|maal|mails)",
            r"(?:already|i'?ve|i\s+have)\s+(?:\w+\s+){0,2}(?:three|four|five|\d+|several|multiple"
            r"|many)\s+times",
            r"nog\s+steeds\s+geen\s+(?:antwoord"
            r"|reactie)",
            r"still\s+(?:no|not\s+had\s+an?|haven'?t\s+had\s+an?)\s+(?:answer|reply|response)",
            r"(?:zonder|geen)\s+(?:enige\s+)?reactie",
            r"no\s+one\s+(?:answers|replies|responds)",
        ),
    ),
)

# Matches wherever any cue matches (one pass instead of one per cue for the many calm messages).
_ANY_TEXT_CUE = compiled("|".join(pattern for _, _, pattern in _TEXT_CUES))


@cache
def _cue_patterns() -> tuple[tuple[str, float, re.Pattern[str]], ...]:
    """The cues, compiled on first need: most messages stop at `_ANY_TEXT_CUE`, and compiling the cues at import
    cost every cold start about 2 ms."""
    return tuple((cue, weight, compiled(pattern)) for cue, weight, pattern in _TEXT_CUES)


_EXCLAMATION_RUN = compiled(r"[!\u00a1][!1?\u00a1]*!")
_CAPS_WORD = compiled(r"[^\W\d_]{3,}")
_CAPS_MIN_LETTERS = 8
_CAPS_MIN_SHARE = 0.5
_CAPS_WEIGHT = 0.3
_EXCLAMATION_WEIGHT = 0.2
_EXCLAMATION_HEAVY_WEIGHT = 0.3
_CONTACTS_THRESHOLD = 3
_CONTACTS_WEIGHT = 0.25
_CONTACTS_STEP = 0.05
_CONTACTS_MAX = 0.4
_MAX_CHARS = 20_000


def _has_capitals(text: str) -> bool:
    """Enough upper-case letters for the capitals check to fire at all (cheap, in C)."""
    return text != text.lower() and sum(map(str.isupper, text)) >= _CAPS_MIN_LETTERS


def _capital_share(text: str) -> tuple[float, int]:
    """Share of upper-case letters in words of 3+ letters, ignoring Title-case words (names, titles)."""
    upper = total = 0
    for word in _CAPS_WORD.findall(text):
        if word[0].isupper() and not any(ch.isupper() for ch in word[1:]):
            continue
        total += len(word)
        upper += sum(1 for ch in word if ch.isupper())
    return (upper / total if total else 0.0), upper


def _shouts(text: str) -> bool:
    share, upper_letters = _capital_share(text)
    return share >= _CAPS_MIN_SHARE and upper_letters >= _CAPS_MIN_LETTERS


def _written_in_capitals(text: str) -> bool:
    """Whether the writer uses capitals for emphasis. Names do not count: a surname written in capitals
    ("Jean DUPONT-VERSTRAETEN", as Belgian and French forms write it) would make a long name raise the load
    where a short one does not. Checked without them only when the raw text would fire (most texts do not)."""
    return _has_capitals(text) and _shouts(text) and _shouts(neutralise_names(text))


def emotional_load(text: str, contacts_last_7_days: int | None = None) -> tuple[float, list[str]]:
    """Return (load in 0..1, cue labels). Never raises on text."""
    text = text[:_MAX_CHARS]
    folded = fold_text(text)
    load = 0.0
    cues: list[str] = []
    if _ANY_TEXT_CUE.search(folded):
        for cue, weight, pattern in _cue_patterns():
            if pattern.search(folded):
                load += weight
                cues.append(cue)

    if _written_in_capitals(text):
        load += _CAPS_WEIGHT
        cues.append("capitals")

    runs = _EXCLAMATION_RUN.findall(text)
    if runs:
        heavy = len(runs) >= 2 or max(len(run) for run in runs) >= 3
        load += _EXCLAMATION_HEAVY_WEIGHT if heavy else _EXCLAMATION_WEIGHT
        cues.append("exclamation run")

    if contacts_last_7_days is not None and contacts_last_7_days >= _CONTACTS_THRESHOLD:
        extra = _CONTACTS_STEP * (contacts_last_7_days - _CONTACTS_THRESHOLD)
        load += min(_CONTACTS_MAX, _CONTACTS_WEIGHT + extra)
        cues.append(f"{contacts_last_7_days} contacts in 7 days")

    return round(min(1.0, max(0.0, load)), 3), cues
