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

# (cue, weight, word patterns, symbols) on folded text: a word pattern matches between word boundaries, the
# symbols (a character class, or "") anywhere. Each cue counts once however often it occurs.
_TEXT_CUES: tuple[tuple[str, float, tuple[str, ...], str], ...] = (
    (
        "insult",
        0.35,
        (
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
            r"crimine(?:el|len?)",
            r"criminals?",
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
            r"worst\s+(?:\w+\s+){0,3}ever",
        ),
        "",
    ),
    (
        "anger",
        0.25,
        (
            r"belachelijk\w*",
            r"schandalig\w*",
            r"schande",
            r"onacceptabel",
            r"onaanvaardbaar",
            r"bespottelijk",
            r"te\s+gek\s+voor\s+woorden",
            r"woedend",
            r"woest",
            r"absurd",
            r"wat\s+een\s+(?:zooi|puinhoop|bende|grap)",
            r"bedankt\s+voor\s+(?:niks|niets)",
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
            r"what\s+a\s+(?:joke|mess|shambles)",
            r"(?:is|are)\s+a\s+joke",
            r"thanks\s+for\s+nothing",
            r"livid",
            r"pissed",
            r"wtf",
        ),
        # Angry, pouting, cursing and huffing faces, a raised middle finger: no word characters, so outside the
        # word boundaries. Social posts say it this way. Not the eye-roll: the seed corpus has it as often for a
        # cat that hates a cushion as for a late parcel.
        "[\U0001f620\U0001f621\U0001f624\U0001f92c\U0001f595]",
    ),
    (
        "frustration",
        0.2,
        (
            r"teleurgesteld",
            r"teleurstellend",
            r"ontevreden",
            r"geirriteerd",
            r"irritant",
            r"ergerlijk",
            r"gefrustreerd",
            r"frustrerend",
            r"disappoint(?:ed|ing)",
            r"annoy(?:ed|ing)",
            r"irritat(?:ed|ing)",
            r"frustrat(?:ed|ing)",
            r"upset",
            r"niemand\s+(?:die\s+)?(?:me\s+|mij\s+|ons\s+)?(?:helpt|iets\s+doet)",
            r"(?:no\s*one|nobody)\s+(?:here\s+|there\s+)?(?:cares|helps|(?:does|did)\s+anything|seems\s+to\s+care)",
            r"p+f{2,}t?",  # sighs and growls of social posts: "pfff", "grrr", "argh", "zucht", "ugh"
            r"gr{3,}",
            r"ar+g+h+",
            r"zucht",
            r"ugh+",
        ),
        "",
    ),
    (
        "despair",
        0.3,
        (
            r"ik\s+ben\s+het\s+(?:\w+\s+)?(?:spuug|kots|meer\s+dan\s+)?zat",
            r"wanhopig",
            r"radeloos",
            r"ten\s+einde\s+raad",
            r"ik\s+word\s+gek",
            r"ik\s+geef\s+het\s+op",
            r"(?:ik\s+ben\s+)?er\s+(?:\w+\s+){0,2}klaar\s+mee",
            r"ik\s+weet\s+het\s+(?:\w+\s+)?niet\s+meer",
            r"(?:ik\s+)?weet\s+niet\s+meer\s+wat\s+ik",
            r"met\s+de\s+handen\s+in\s+het\s+haar",
            r"i'?m\s+desperate",
            r"i\s+am\s+desperate",
            r"desperate(?:ly)?",
            r"fed\s+up",
            r"sick\s+and\s+tired",
            r"at\s+my\s+wits'?\s+end",
            r"i\s+give\s+up",
            r"i'?m\s+(?:so\s+|really\s+|just\s+)?done\s+with\s+(?:this|it|all\s+this)",
            r"can'?t\s+take\s+(?:this|it)\s+any\s*more",
            r"(?:don'?t|do\s+not)\s+know\s+what\s+(?:else\s+)?to\s+do",
            r"going\s+crazy",
            r"losing\s+my\s+mind",
        ),
        "",
    ),
    (
        "threat: consumer authority",
        0.35,
        (
            r"acm",
            r"consumentenbond",
            r"consuwijzer",
            r"geschillencommissie",
            r"ombudsman",
            r"consumer\s+(?:authority|association|protection"
            r"|rights\s+organi[sz]ation)",
            r"trading\s+standards",
            r"better\s+business\s+bureau",
            # the consumer programmes on Dutch television; "bij de kassa" is the checkout
            r"(?:naar|bij|mail\w*|meld\w*)\s+(?:radar|kassa)",
            r"autoriteit\s+consument",
        ),
        "",
    ),
    (
        "threat: legal action",
        0.35,
        (
            r"advocaat",
            r"jurist",
            r"juridische\s+stappen",
            r"rechtszaak",
            r"aangifte",
            r"juridisch\s+loket",
            r"rechtsbijstand\w*",
            r"small\s+claims",
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
        "",
    ),
    (
        "threat: chargeback",
        0.35,
        (
            r"chargeback",
            r"charge\s+back",
            r"terugboek\w*",
            r"storno",
            r"terugvorderen\s+via",
            r"dispute\s+(?:\w+\s+){0,3}(?:bank|card|credit\s+card|paypal)",
        ),
        "",
    ),
    (
        "threat: review",
        0.3,
        (
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
            r"warn\s+(?:everyone|everybody|others|people|all\s+my\s+friends)",
        ),
        "",
    ),
    (
        "threat: leave",
        0.25,
        (
            r"nooit\s+meer\s+(?:\w+\s+){0,2}(?:bestellen|kopen"
            r"|klant)",
            r"(?:bestel|koop)\w*\s+(?:\w+\s+){0,3}nooit\s+meer",  # "bestel ik hier nooit meer"
            r"nooitmeer",  # #nooitmeer
            r"neveragain",
            r"never\s+again",
            r"kom\w*\s+(?:\w+\s+){0,2}nooit\s+meer\s+terug",
            r"(?:voortaan|vanaf\s+nu)\s+(?:ergens\s+anders|elders|(?:naar|bij)\s+(?!jullie\b|u\b|je\b)\w+)",
            r"klant\s+(?:\w+\s+)?(?:kwijt|verloren)",
            r"(?:laatste|eerste\s+en\s+laatste)\s+keer",
            r"klant\s+af",
            r"never\s+(?:\w+\s+){0,2}(?:order|buy|shop)\w*\s+(?:\w+\s+){0,3}again",
            r"(?:take|taking)\s+my\s+business\s+elsewhere",
            r"(?:will|'ll|going\s+to|gonna)\s+(?:\w+\s+)?(?:shop|buy|order|go)\w*\s+elsewhere",
            r"(?:you'?ve|you\s+have|you)\s+(?:just\s+)?lost\s+(?:a|another|one)\s+(?:\w+\s+)?customer",
            r"last\s+time\s+i\s+(?:order|buy|shop)\w*",
            r"done\s+with\s+(?:you|this\s+(?:shop|company|store))",
        ),
        "",
    ),
    (
        "repeat contact",
        0.25,
        (
            r"(?:third|3rd|fourth|4th|fifth|5th)\s+(?:time|e-?mail|mail|message|request|attempt)",
            r"de\s+(?:derde|3e|3de|vierde|4e|4de|vijfde|5e|5de)\s+(?:keer|maal|mail|e-?mail|poging)",
            r"(?:for|voor)\s+(?:the|de)\s+(?:third|3rd|fourth|4th|derde|3e|vierde|4e|vijfde)\s+(?:time|keer"
            r"|maal)",
            r"(?:al|inmiddels|nu)\s+(?:drie|vier|vijf|\d+|meerdere|zoveel|zo\s+vaak|talloze)\s+(?:keer|keren"
            r"|maal|mails)",
            r"\d+\s?x\s+(?:\w+\s+)?(?:gemaild|gebeld|geschreven|gevraagd|contact\w*|already)",
            # "drie keer gebeld"; not "drie keer gebeld met PostNL": others than the shop
            r"(?:twee|drie|vier|vijf|zes|meerdere|talloze|zoveel)\s+(?:keer|keren|maal)\s+(?:\w+\s+)?(?:gemaild|gebeld"
            r"|geschreven|gevraagd|contact\w*)(?!\s+(?:met|naar|bij)\s+(?!jullie\b|u\b|je\b|uw\b))",
            r"(?:called|e-?mailed|mailed|contacted|messaged|written|wrote)\s+(?:(?:to\s+)?you\s+)?(?:twice"
            r"|(?:three|four|five|\d+|several|multiple|many)\s+times)",
            # written to the shop before: said of the shop ("jullie", "you"), or with when; "ik heb de vervoerder
            # al gebeld" is no repeat contact
            r"(?:jullie|u|je)\s+(?:\w+\s+){0,3}(?:al|eerder)\s+(?:\w+\s+){0,2}(?:gemaild|gebeld|geschreven"
            r"|gevraagd)",
            r"(?:al\s+(?:eerder|vaker|een\s+keer|twee\s+keer)|(?:ook|gisteren|vorige\s+week)\s+al)\s+(?:\w+\s+){0,2}"
            r"(?:gemaild|gebeld|geschreven|gevraagd|contact)",
            r"already\s+(?:wrote|written|e-?mailed|mailed|called|contacted|messaged|asked)\s+(?:to\s+)?(?:you|your)",
            r"(?:wrote|written|e-?mailed|called|contacted|asked)\s+(?:to\s+)?you\s+(?:\w+\s+){0,3}(?:already|before"
            r"|earlier|last\s+week|yesterday|twice)",
            r"(?:already|i'?ve|i\s+have)\s+(?:\w+\s+){0,2}(?:three|four|five|\d+|several|multiple"
            r"|many)\s+times",
            r"nog\s+steeds\s+(?:geen|op\s+een|op)\s+(?:antwoord|reactie)",
            r"(?:krijg|kreeg)\s+(?:maar\s+|nog\s+|nooit\s+|steeds\s+)?geen\s+(?:antwoord|reactie)",
            r"(?:weer|alweer|opnieuw)\s+geen\s+(?:antwoord|reactie)",
            r"niemand\s+(?:reageert|antwoordt|neemt\s+op|belt\s+(?:me\s+)?terug|heeft\s+gereageerd)",
            r"still\s+(?:no|not\s+had\s+an?|haven'?t\s+had\s+an?)\s+(?:answer|reply|response)",
            r"(?:zonder|geen)\s+(?:enige\s+)?reactie",
            r"(?:no\s*one|nobody)\s+(?:\w+\s+){0,2}(?:answer|repl|respond|got\s+back|picks?\s+up|picked\s+up)\w*",
            r"still\s+waiting\s+(?:for|on)\s+(?:an?\s+|your\s+)?(?:answer|reply|response)",
            r"again\s+no\s+(?:answer|reply|response)",
        ),
        "",
    ),
)


def _pattern(words: tuple[str, ...], symbols: str) -> str:
    pattern = r"\b(?:" + "|".join(words) + r")\b"
    return f"{pattern}|{symbols}" if symbols else pattern


# Matches wherever any cue matches: one pass instead of one per cue for the many calm messages. All word patterns
# in one group, tried only where a word starts (or "'ll" of "i'll": no word pattern starts with another
# non-word character), take a third of the time of one group per cue.
_ANY_TEXT_CUE = compiled(
    r"\b(?=[\w'])(?:"
    + "|".join(word for _, _, words, _ in _TEXT_CUES for word in words)
    + r")\b"
    + "".join(f"|{symbols}" for *_, symbols in _TEXT_CUES if symbols)
)


@cache
def _cue_patterns() -> tuple[tuple[str, float, re.Pattern[str]], ...]:
    """The cues, compiled on first need: most messages stop at `_ANY_TEXT_CUE`, and compiling the cues at import
    cost every cold start about 2 ms."""
    return tuple((cue, weight, compiled(_pattern(words, symbols))) for cue, weight, words, symbols in _TEXT_CUES)


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
