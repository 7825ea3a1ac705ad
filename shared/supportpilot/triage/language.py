"""A small language detector: the script for text mostly outside the Latin alphabet (ar, el, fa, he, hi, ja, ko,
ru, th, uk, ur, zh), else stopword frequencies (nl, en, de, fr, es, tr, it, pt, pl, sv, da, no); otherwise "und".

Enough to tell the supported languages from the ones a person has to handle. Hand-written, because the
maintained detectors measured here (2026-11-29) do not fit the classify stage:
- fastText's language model (lid.176.ftz, with fasttext-predict: 1.3 MB, no numpy) takes 20-35 ms to load,
  most of the cold start's room, and called 10 of the 2,259 Dutch and English seed messages another language
  (Afrikaans, Danish, Basque...), each of which would go to a person as unsupported; this detector calls none
  so, and 10 undetermined (which only rules out an automatic reply; 29 before `_SHOP_WORDS`);
- langdetect needs about 0.3 s for its first answer; py3langid needs numpy; lingua's wheel is 170 MB; pycld2
  has no wheel for arm64, the functions' architecture.
Gendered third-person pronouns (he/she, hij/zij, er/sie, il/elle, on/ona, ...) and words spelled like them in
another language (Turkish "her") are left out on purpose so that they cannot shift a result; see the fairness
tests.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from functools import lru_cache

from supportpilot.regex_store import compiled
from supportpilot.triage.interface import SUPPORTED_LANGUAGES, UNDETERMINED_LANGUAGE, fold_text

_STOPWORDS: dict[str, str] = {
    "nl": """de het een en van ik je jij u uw mijn mn niet is dat die dit deze met voor op aan er maar
        om ook als bij nog wel geen naar wat waar wanneer hoe heb hebt heeft hebben ben bent was wordt
        worden kan kunt kunnen wil wilt graag jullie ons onze mij al dan of tot uit over door te zo
        toch even moet nu alleen omdat weer hier daar bedankt alvast groet groeten vriendelijke dank
        gij ge nie ni ook wij we waarom zou zal heel niks niets iets ja nee in t""",
    "en": """the a an and of to in is it i my me you your we our not that this for on with have has
        had was were be been are but can could would will please thanks thank what where when how why
        there from at by do does did don t am im just still yet any some about which who if or so they
        them their hi hello dear regards""",
    "de": """der die das und ist ich nicht ein eine einen mit auf fur den dem des zu von wie wo wann
        warum habe hat haben bin sind war mein meine meinen mir mich es auch noch aber oder wenn dass
        bitte danke kann konnen schon nur bei nach aus bis doch keine kein wurde wird werden immer
        hallo guten tag vielen grusse freundlichen ja nein""",
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
    # Folded as fold_text folds (no accents; l-stroke stays). Words that a supported language lists too ("en",
    # "kan", "for", "at", "er") are left out, so that they keep their full weight there.
    "pl": """sie jest ze na w z co jak ale po od za czy juz jeszcze moja moje moj mam dla tak bardzo
        dzien dobry prosze dziekuje pozdrawiam kiedy gdzie dlaczego zamowienie paczka przesyłka sa był
        było mnie mi tylko jestem""",
    "sv": """och att det som ar pa inte jag har min mitt till med av den nar hej tack halsningar hur
        varfor vi mig du ni annu fortfarande bestallning paket fick""",
    "da": """og ikke jeg af hvordan hvorfor hvor hvornar hvad tak venlig hilsen endnu stadig mit mig pakke bestilling
        fik modtaget""",
    "no": """og ikke jeg hvordan hvorfor hvor hva hei takk vennlig hilsen enna fortsatt meg deg dere noe pakken
        pakke bestilling fikk mottatt""",
}
# Words of web-shop customers that only Dutch or only English (of the languages above) spells so: a short post
# ("pakket kwijt", "Wachtwoord vergeten", "parcel lost") has no stopword, and undetermined it got no automatic
# answer and mail in English. Each counts as one stopword. Not the words both write ("order", "account",
# "tracking", "refund", "stock", "retour"), nor ones another language above writes too or nearly so ("geld",
# "garantie", "color", "paket").
_SHOP_WORDS: dict[str, str] = {
    "nl": """pakket pakketje pakje bestelling bestellingen besteld bestellen levering geleverd bezorgd bezorging
        bezorger verzonden verzending factuur betaald betaling terugbetaling terugbetaald kapot beschadigd
        retourneren ruilen omruilen annuleren geannuleerd opzeggen wachtwoord vergeten inloggen gegevens
        nieuwsbrief afmelden maat kleur voorraad korting levertijd kwijt aangekomen ontvangen gekregen verkeerd
        verkeerde ontbreekt klopt dubbel afgeschreven aub alstublieft alsjeblieft""",
    "en": """parcel package delivered delivery shipped shipping invoice charged money broken damaged exchange
        cancel cancelled canceled password forgot login newsletter unsubscribe size colour discount lost
        arrived received wrong missing twice receipt warranty pls""",
}
_LANGUAGES = tuple(_STOPWORDS)

# Each stopword counts 1/k for each of the k languages that list it.
_WEIGHTS: dict[str, dict[str, float]] = {}
for _lang, _words in [*_STOPWORDS.items(), *_SHOP_WORDS.items()]:
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
    "pl": compiled("[\u0105\u0119\u0142\u015b\u0107\u0144\u017c\u017a]"),  # a/e-ogonek, l-stroke, s/c/n/z-acute, z-dot
    "sv": compiled("\u00e5"),  # a-ring
    "da": compiled("[\u00e5\u00e6\u00f8]"),  # a-ring (as in Swedish), ae, o-slash
}
_CHAR_HINT_WEIGHT = 2.0

_TOKEN = compiled(r"[^\W\d_]+")
_MAX_CHARS = 5_000  # the opening of a message is plenty to tell its language
_MIN_SCORE = 1.0
# An unsupported language sends the message to a person with its category as a mere guess, so it takes more than
# one word's evidence: a reply "Ja" (also Portuguese "ja") or "Ok, danke" stays undetermined, and its thread decides.
_MIN_UNSUPPORTED_SCORE = 2.0
_FULL_EVIDENCE = 3.0
_ORDER = SUPPORTED_LANGUAGES + tuple(lang for lang in _LANGUAGES if lang not in SUPPORTED_LANGUAGES)
_PRIORITY = {lang: i for i, lang in enumerate(_ORDER)}


# Scripts other than Latin: [first, end) code points and the language a text mostly in that script gets,
# unless a letter that only another language of the script uses shows (`_SCRIPT_REFINEMENTS`).
_SCRIPT_BLOCKS = (
    (0x0370, 0x0400, "el"),
    (0x0400, 0x0530, "ru"),
    (0x0590, 0x0600, "he"),
    (0x0600, 0x0700, "ar"),
    (0x0900, 0x0980, "hi"),
    (0x0E00, 0x0E80, "th"),
    (0x3040, 0x3100, "ja"),  # kana
    (0x4E00, 0xA000, "zh"),  # Han characters
    (0xAC00, 0xD7B0, "ko"),  # Hangul syllables
)
_SCRIPT_REFINEMENTS = {
    "ru": (("uk", compiled("[\u0404\u0406\u0407\u0454\u0456\u0457\u0490\u0491]")),),  # ye, i, yi, ghe upturn
    "ar": (
        ("ur", compiled("[\u0679\u0688\u0691\u06ba\u06d2]")),  # tteh, ddal, rreh, noon ghunna, yeh barree
        ("fa", compiled("[\u067e\u0686\u0698\u06a9\u06af\u06cc]")),  # peh, tcheh, jeh, keheh, gaf, farsi yeh
    ),
    "zh": (("ja", compiled("[\u3040-\u30ff]")),),  # kana among Han characters
}
_SCRIPT_STARTS = [first for first, _, _ in _SCRIPT_BLOCKS]
_OTHER_SCRIPT = compiled("[" + "".join(f"\\u{first:04x}-\\u{end - 1:04x}" for first, end, _ in _SCRIPT_BLOCKS) + "]")
_LATIN_LETTER = compiled("[A-Za-z\u00c0-\u024f]")


def _script_language(text: str) -> tuple[str, float] | None:
    """The language of a text written mostly in one of `_SCRIPT_BLOCKS`, and the share of its letters in that
    script; None for a text mostly in Latin letters."""
    other = _OTHER_SCRIPT.findall(text)
    if not other or len(other) <= len(latin := _LATIN_LETTER.findall(text)):
        return None
    blocks = Counter(bisect_right(_SCRIPT_STARTS, ord(letter)) - 1 for letter in other)
    block, count = blocks.most_common(1)[0]
    language = _SCRIPT_BLOCKS[block][2]
    for variant, letters in _SCRIPT_REFINEMENTS.get(language, ()):
        if letters.search(text):
            language = variant
            break
    return language, round(count / (len(other) + len(latin)), 3)


def detect_language(text: str) -> tuple[str, float]:
    """Return (ISO 639-1 code or "und", confidence 0..1). Never raises on text."""
    text = text[:_MAX_CHARS]
    if not text.isascii() and (script := _script_language(text)) is not None:
        return script
    (best, best_score), (_, second_score) = _ranked(text)[:2]
    if best_score < (_MIN_SCORE if best in SUPPORTED_LANGUAGES else _MIN_UNSUPPORTED_SCORE):
        return UNDETERMINED_LANGUAGE, 0.0
    margin = (best_score - second_score) / best_score
    evidence = min(1.0, best_score / _FULL_EVIDENCE)
    return best, round(evidence * (0.5 + 0.5 * margin), 3)


@lru_cache(maxsize=1)  # the triage frame asks for a message's language, then whether it mixes languages
def _ranked(text: str) -> list[tuple[str, float]]:
    """The Latin-script languages by their stopword (and letter) score in `text`, highest first."""
    scores = dict.fromkeys(_LANGUAGES, 0.0)
    counts = Counter(_TOKEN.findall(fold_text(text)))
    for token in counts.keys() & _WEIGHTS.keys():
        for lang, weight in _WEIGHTS[token].items():
            scores[lang] += weight * counts[token]
    if not text.isascii():
        lowered = text.lower()
        for lang, pattern in _CHAR_HINTS.items():
            # A letter confirms a language its words already suggest, never makes one: else a name (a Dutch
            # message signed "Ayşe" or "Nuñez") would change the language, and the customer's treatment.
            if scores[lang] >= _MIN_SCORE and pattern.search(lowered):
                scores[lang] += _CHAR_HINT_WEIGHT
    # Ties go to the supported languages (the benefit of the doubt). Rounded: weights such as 1/3 summed in
    # another order (set order follows the process's hash seed) must still tie.
    return sorted(
        ((lang, round(score, 9)) for lang, score in scores.items()), key=lambda item: (-item[1], _PRIORITY[item[0]])
    )


# A message mixes languages when it switches between its two highest-scoring languages from sentence to sentence:
# sentences of four words or more clearly in one of them (two stopwords that only it lists, and at least twice
# as many as the other has), each language with at least a fifth of those sentences' words. "Hello, my Dutch is
# bad. Ik wil weten of mijn bestelling verstuurd is." An English word in a Dutch sentence ("tracking", "refund")
# is no switch, and neither is a Dutch sentence whose shared words ("de", "en") another language lists too.
_SENTENCE = compiled(r"[^.!?\n]+")
_MIN_SENTENCE_WORDS = 4
_MIN_OWN_STOPWORDS = 2
_MIN_MIXED_SHARE = 0.2
_OWN_LANGUAGE = {word: next(iter(langs)) for word, langs in _WEIGHTS.items() if len(langs) == 1}


def mixed_languages(text: str) -> list[str]:
    """The two languages of a text that switches between them, most words first; [] when it does not."""
    text = text[:_MAX_CHARS]
    (first, _), (second, second_score) = _ranked(text)[:2]
    if second_score < _MIN_OWN_STOPWORDS:
        return []  # the runner-up has not the words of one clear sentence: most messages stop here
    words = dict.fromkeys((first, second), 0)
    for sentence in _SENTENCE.findall(fold_text(text)):
        tokens = _TOKEN.findall(sentence)
        if len(tokens) >= _MIN_SENTENCE_WORDS:
            own = Counter(map(_OWN_LANGUAGE.get, tokens))
            if own[first] >= max(_MIN_OWN_STOPWORDS, 2 * own[second]):
                words[first] += len(tokens)
            elif own[second] >= max(_MIN_OWN_STOPWORDS, 2 * own[first]):
                words[second] += len(tokens)
    if min(words.values()) < max(1, _MIN_MIXED_SHARE * sum(words.values())):
        return []
    return sorted(words, key=words.__getitem__, reverse=True)  # a tie: the text's first language first


_LANGUAGE_TAG = compiled(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-]*)?")


def message_language(given: str | None, text: str) -> str:
    """The caller's language tag when it is one ("nl-BE" -> "nl"), else the detected language."""
    tag = _LANGUAGE_TAG.fullmatch((given or "").strip())
    return tag.group(1).lower() if tag else detect_language(text)[0]
