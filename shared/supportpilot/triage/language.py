"""A small stopword-frequency language detector (nl, en, de, fr, es, tr, it, pt; otherwise "und").

Enough to tell the supported languages from the ones a person has to handle. Gendered third-person
pronouns (he/she, hij/zij, er/sie, il/elle, ...) and words spelled like them in another language
(Turkish "her") are left out on purpose so that they cannot shift a result; see the fairness tests.
"""

from __future__ import annotations

from collections import Counter

from supportpilot.regex_store import compiled
from supportpilot.triage.interface import SUPPORTED_LANGUAGES, UNDETERMINED_LANGUAGE, fold_text

_STOPWORDS: dict[str, str] = {
    "nl": """de het een en van ik je jij u uw mijn mn niet is dat die dit deze met voor op aan er maar
        om ook als bij nog wel geen naar wat waar wanneer hoe heb hebt heeft hebben ben bent was wordt
        worden kan kunt kunnen wil wilt graag jullie ons onze mij al dan of tot uit over door te zo
        toch even moet nu alleen omdat weer hier daar bedankt alvast groet groeten vriendelijke dank
        gij ge nie ni ook wij we waarom zou zal heel niks niets iets""",
    "en": """the a an and of to in is it i my me you your we our not that this for on with have has
        had was were be been are but can could would will please thanks thank what where when how why
        there from at by do does did don t am im just still yet any some about which who if or so they
        them their hi hello dear regards""",
    "de": """der die das und ist ich nicht ein eine einen mit auf fur den dem des zu von wie wo wann
        warum habe hat haben bin sind war mein meine meinen mir mich es auch noch aber oder wenn dass
        bitte danke kann konnen schon nur bei nach aus bis doch keine kein wurde wird werden immer
        hallo guten tag vielen grusse freundlichen""",
    "fr": """le la les un une des du de et est je j ai pas ne que qui pour dans sur avec mon ma mes
        vous votre vos nous notre ce cette mais ou au aux suis etait sont avoir merci bonjour toujours
        tres plus y c qu n bien depuis cordialement""",
    "es": """el la los las un una unos y de del que en es no por para con mi mis su sus lo al pero
        como cuando donde porque muy ya todavia gracias hola estoy esta este esto tengo tiene hay fue ha
        se me le yo nos hasta sin sobre tambien o saludos""",
    "it": """il lo la i gli le un una uno e di del della che non per con mio mia sono ho ha hanno ma
        come quando dove perche molto ancora grazie buongiorno ciao questo questa nel alla al anche gia
        se mi ci da in sul salve cordiali saluti""",
    "pt": """o a os as um uma e de do da dos das que nao em no na por para com meu minha eu voce mas
        como quando onde porque muito ainda obrigado obrigada ola estou esta tenho tem foi se ja ao seu
        sua pelo pela""",
    "tr": """bir ve bu su o icin cok ne da de mi mu ile ama var yok ben benim bana beni siz sizin biz
        nerede neden nasil daha gibi kadar hala hic degil olan sonra once lutfen tesekkur
        tesekkurler merhaba evet hayir veya cunku hep simdi hemen ki olarak icinde diye gun bugun dun
        sey ya""",
}
_LANGUAGES = tuple(_STOPWORDS)

# Each stopword counts 1/k for each of the k languages that list it.
_WEIGHTS: dict[str, dict[str, float]] = {}
for _lang, _words in _STOPWORDS.items():
    for _word in set(_words.split()):
        _WEIGHTS.setdefault(_word, {})[_lang] = 1.0
for _langs in _WEIGHTS.values():
    for _lang in _langs:
        _langs[_lang] = 1.0 / len(_langs)

# Letters that (almost) only one of the languages uses; checked on the unfolded, lower-cased text.
_CHAR_HINTS = {
    "tr": compiled("[\u0131\u015f\u011f]"),  # dotless i, s-cedilla, g-breve
    "de": compiled("\u00df"),  # sharp s
    "es": compiled("[\u00f1\u00bf\u00a1]"),  # n-tilde, inverted question and exclamation marks
    "pt": compiled("[\u00e3\u00f5]"),  # a-tilde, o-tilde
    "fr": compiled("\u0153"),  # oe ligature
}
_CHAR_HINT_WEIGHT = 2.0

_TOKEN = compiled(r"[^\W\d_]+")
_MAX_CHARS = 5_000  # the opening of a message is plenty to tell its language
_MIN_SCORE = 1.0
_FULL_EVIDENCE = 3.0
_ORDER = SUPPORTED_LANGUAGES + tuple(lang for lang in _LANGUAGES if lang not in SUPPORTED_LANGUAGES)
_PRIORITY = {lang: i for i, lang in enumerate(_ORDER)}


def detect_language(text: str) -> tuple[str, float]:
    """Return (ISO 639-1 code or "und", confidence 0..1). Never raises on text."""
    text = text[:_MAX_CHARS]
    scores = dict.fromkeys(_LANGUAGES, 0.0)
    counts = Counter(_TOKEN.findall(fold_text(text)))
    for token in counts.keys() & _WEIGHTS.keys():
        for lang, weight in _WEIGHTS[token].items():
            scores[lang] += weight * counts[token]
    if not text.isascii():
        lowered = text.lower()
        for lang, pattern in _CHAR_HINTS.items():
            if pattern.search(lowered):
                scores[lang] += _CHAR_HINT_WEIGHT
    # Highest score first; ties go to the supported languages (the benefit of the doubt). Rounded: weights
    # such as 1/3 summed in another order (set order follows the process's hash seed) must still tie.
    ranked = sorted(
        ((lang, round(score, 9)) for lang, score in scores.items()), key=lambda item: (-item[1], _PRIORITY[item[0]])
    )
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    if best_score < _MIN_SCORE:
        return UNDETERMINED_LANGUAGE, 0.0
    margin = (best_score - second_score) / best_score
    evidence = min(1.0, best_score / _FULL_EVIDENCE)
    return best, round(evidence * (0.5 + 0.5 * margin), 3)


_LANGUAGE_TAG = compiled(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-]*)?")


def message_language(given: str | None, text: str) -> str:
    """The caller's language tag when it is one ("nl-BE" -> "nl"), else the detected language."""
    tag = _LANGUAGE_TAG.fullmatch((given or "").strip())
    return tag.group(1).lower() if tag else detect_language(text)[0]
