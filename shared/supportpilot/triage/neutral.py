"""Identity-neutral text for the trained model: names, titles, gendered words and ages never become features.

Two steps, both used by training and serving alike (`linear_model.tokenise`):

- `neutralise_names` rewrites the raw text, before quoted replies and signatures are cut: a name in a
  greeting ("Beste Jan," "Dear Mr Smith,"), a sign-off ("Groeten, Anna" / "Kind regards,\\nJ. Voorbeeld"),
  alone on the last line, in a self-introduction ("my name is", "ik heet"), after a title ("mevrouw De
  Vries"), an initial ("J. Voorbeeld") or a known first name ("Fatima El Amrani") becomes `<name>`,
  whatever the name is;
- `NEUTRAL_TOKENS` maps folded word tokens: known first names to `<name>`, titles (meneer, mevrouw, dhr.,
  mevr., Mr, Mrs, Ms, Miss, sir, madam) to `<title>`, third-person pronouns (he, she, him, her, his, hers,
  they; hij, zij, ze, hem, haar, zijn, hen, hun) to `<pronoun>` and gendered relatives (mother, father,
  zoon, dochter...) to `<relative>`.

Ages need no rule of their own: every number is `<num>` (`linear_model.normalise`), so "I'm 72" and
"ik ben 34 jaar" give the same features as any other age. A name outside these positions that is not in
the list (a surname in mid-sentence) can still reach the features; `min_df` and the hashing make such a
rare token weigh next to nothing, and the counterfactual test checks the held-out corpus.
First names that are also common words (Bill, Will, May, Ben, Mark, Chase, Sue, Can...) are left out of
the list on purpose; they are neutralised only in the positions above.
"""

from __future__ import annotations

import re
from functools import lru_cache

from supportpilot.regex_store import compiled

NAME = "<name>"
TITLE = "<title>"
PRONOUN = "<pronoun>"
RELATIVE = "<relative>"

_TITLES = """meneer mijnheer mnr heer heren dhr mevrouw mevr mw mevrouwen juffrouw mejuffrouw dames
    mr mrs ms miss mx mister missus sir sirs madam madame maam ma'am mme mlle herr frau"""
_PRONOUNS = """he she him her his hers himself herself they them their theirs themselves themself
    hij zij ze hem haar zijn hen hun ie hijzelf zijzelf zichzelf z'n d'r"""
_RELATIVES = """man vrouw husband wife hubby father mother dad daddy mum mom mummy mommy son daughter
    brother sister grandfather grandmother grandpa grandma granddad grandad gran nan boyfriend girlfriend
    uncle aunt auntie nephew niece fiance fiancee widow widower
    echtgenoot echtgenote vader moeder papa mama zoon zoons dochter dochters broer broers zus zussen
    zuster opa oma grootvader grootmoeder vriend vriendin oom tante neef nicht schoonvader schoonmoeder
    schoonzoon schoondochter weduwe weduwnaar verloofde"""
# Folded (lower case, no accents). Dutch, Flemish and English first names and those of the larger
# communities in the Netherlands and Belgium; no first name that is also a common word.
_FIRST_NAMES = """
    aad adam adrie adriaan agnes ahmad ahmed ahmet aisha aicha alex alexander alexandra ali alice alicia
    amal amina amir amy andre andrea andreas andrew angela anja ann anna anne anneke annemarie annelies
    anouk anthony antoine arie arjan arjen arnold astrid aukje ayoub ayse aysel bart bas bastiaan bea
    beatrix benjamin bernard bert bianca bilal bram brian bruno burak carla carlos caroline catherine
    charles charlotte chantal chris christian christine christopher claire claudia cor corine cornelis
    daan daniel daniela danielle david dennis derya dewi diana dimitri dirk dorota dorothy edward
    eline elif elisa elisabeth eliza elizabeth ellen els elise emily emine emma emre erik esra esther
    eva evelien ewa fabian fatima fatma fenna femke fiona floris fleur freek frederik gerard
    gerrit gert gijs grainne graham hanna hannah hans harry hasan hatice hendrik henk henri hilde
    huseyin ibrahim ilse ines inge ingrid iris isabel isabella jaap jacob jacqueline james jamal jan
    jane janneke jannes jasper jelle jennifer jeroen jesse jessica jim joanna joep johan johanna john
    jonas jonathan joost jordi joris jos josef joseph josephine julia julian julie justin kaat karel
    karin kate katie katrien kees kelly kemal kevin khadija kim koen kristof kwame lars laura lauren
    lena lennart leo lieke linda lisa liam lotte louis lucas lucy luuk maaike
    maarten madelief manon marc marcel marco marek margaret margriet maria marie marieke mariska
    marjolein martijn martin mary maryam mathilde matthew mehmet melissa merel michael michel michelle
    mieke milan mirjam mohamed mohammed mohammad muhammad mustafa nadia naima natasha nathalie nicole
    niels nienke nina noah noor nora nynke olena olga oliver olivia ollie omar oksana orla oscar
    patrick patricia paul paula pauline peter petra philip pieter priya rachel rajesh ramon rebecca
    remco richard rik robert robin roel rosa ruben ruud sabine sandra sanne sara sarah saskia
    sebastiaan sem siobhan simon simone sofia sophie stefan stephanie steven stijn susan suzanne tamara
    tessa thijs thomas tijs tim tom tomasz tobias vera victoria vincent wendy wilma wim wouter
    yasmina yasmine yousef youssef yusuf yvonne zeynep zoe aoife eoin conor hilda
    """

NEUTRAL_TOKENS: dict[str, str] = {
    **dict.fromkeys(_FIRST_NAMES.split(), NAME),
    **dict.fromkeys(_RELATIVES.split(), RELATIVE),
    **dict.fromkeys(_PRONOUNS.split(), PRONOUN),
    **dict.fromkeys(_TITLES.split(), TITLE),
}
FIRST_NAMES = frozenset(_FIRST_NAMES.split())

# (?i) makes these match more than their upper and lower case (checked over every code point).
_CASE_VARIANTS = {"i": "iI\u0130\u0131", "k": "kK\u212a", "s": "sS\u017f"}


def _word_start(alternatives: str) -> str:
    r"""The same as `(?<!\w)(?i:alternative|...)` (each alternative starting with a letter), written for speed.

    A pattern that starts with a lookbehind makes `re` try a match at every position of the text; one that starts
    with a plain character class lets it scan for those characters first. So: the first letters as a class, the
    `(?<!\w)` check after it (`(?<!\w.)`), then per first letter the rest of its alternatives, in their order."""
    rests: dict[str, list[str]] = {}
    for alternative in alternatives.split("|"):
        rests.setdefault(alternative[0], []).append(alternative[1:])
    first = "".join(_CASE_VARIANTS.get(letter, letter + letter.upper()) for letter in rests)
    groups = "|".join(
        f"(?<=[{_CASE_VARIANTS.get(letter, letter + letter.upper())}])(?i:{'|'.join(rest)})"
        for letter, rest in rests.items()
    )
    return rf"[{first}](?<!\w.)(?:{groups})"


# One part of a name: a capitalised word ("Anna", "O'Brien", "Jean-Luc", "Ayşe") or an initial ("J.").
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0106\u010c\u0130\u0141\u015a\u015e\u0160\u017b\u017d"
_AFTER_CAPITAL = r"(?:\.|(?:[^\W\d_]|['\u2019-][^\W\d_])+)"
_PART = rf"[{_UPPER}]{_AFTER_CAPITAL}"
_PARTICLE = r"(?:van|von|de|der|den|del|della|di|da|dos|du|le|la|el|al|ten|ter|te|op|bin|ibn|'t)"
# Up to four parts, with particles between or before them: "J. de Vries", "van der Berg", "Mehmet Örnek".
_NAME = rf"(?:{_PARTICLE}[ \t]+)*{_PART}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_PART}){{0,3}}"
_TITLES_BEFORE_NAME = "meneer|mijnheer|mnr|heer|dhr|mevrouw|mevr|mw|juffrouw|mr|mrs|ms|miss|mx|mister|sir|madam|madame"
_TITLE = rf"(?i:{_TITLES_BEFORE_NAME})"

_AFTER_TITLE = compiled(rf"({_word_start(_TITLES_BEFORE_NAME)}\.?[ \t]+){_NAME}")
_GREETING = compiled(
    rf"(?m)^([ \t]*(?i:beste|lieve|geachte|hallo|hoi|hey|hi|hello|hiya|dear|dag|goedemorgen|goedemiddag|goedenavond"
    rf"|good\s+(?:morning|afternoon|evening))[ \t,]+)({_NAME})(?=[ \t]*(?:[,!:]|$))"
)
_SIGN_OFF_WORDS = (
    r"groet|groeten|groetjes|gr|grt|mvg|m\.v\.g|regards|best|cheers|thanks|thank\s+you|thx|bedankt|dank\s+je"
    r"|dank\s+u|dank|advance|alvast|sincerely|greetings|wishes|ciao|doei|xx+"
)
_SIGN_OFF = compiled(
    rf"({_word_start(_SIGN_OFF_WORDS)}[ \t]*[,.!]*(?:[ \t]*\n){{0,2}}[ \t]*)"
    rf"(?:{_TITLE}\.?[ \t]+)?{_NAME}(?=[ \t]*(?:\n|$))"
)
_INTRODUCTION_WORDS = (
    r"my\s+name\s+is|my\s+name['\u2019]s|mijn\s+naam\s+is|ik\s+heet|name:|naam:|this\s+is|dit\s+is|i\s+am"
    r"|i['\u2019]m|ik\s+ben"
)
_INTRODUCTION = compiled(rf"({_word_start(_INTRODUCTION_WORDS)}[ \t]+){_NAME}")
# A last line that is only a name: the writer signing without a sign-off ("...vandaag?\nAnna de Vries").
_LAST_LINE = compiled(rf"(\n[ \t]*){_NAME}[ \t]*\Z")
# `\b{_PART}...`, with the `\b` after the capital for speed (see `_word_start`).
_CAPITALISED_RUN = compiled(rf"[{_UPPER}](?<!\w.){_AFTER_CAPITAL}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_PART})+")
_WORD = compiled(r"[^\W\d_]+")
# Addressees that are no person: keep "Dear Customer Service," and "Hi Team," as they are.
_ADDRESSEES = """team service services customer support officer department protection data privacy billing accounts
    sir sirs madam shop webshop store klantenservice afdeling mensen allemaal there all everyone iedereen
    dpo hr press office company owner directie folks guys"""
_NOT_A_NAME = frozenset(_ADDRESSEES.split())


def _greeting_name(match: re.Match[str]) -> str:
    words = {word.lower() for word in _WORD.findall(match.group(2))}
    return match.group(0) if words & _NOT_A_NAME else f"{match.group(1)}{NAME}"


def _person_in_run(match: re.Match[str]) -> str:
    """`<name>` from the first known first name or initial of a run of capitalised words to its end
    ("Order Jan Voorbeeld", "op naam van J. Voorbeeld")."""
    run = match.group(0)
    for word in _WORD.finditer(run):
        is_initial = len(word.group(0)) == 1 and run[word.end() : word.end() + 1] == "."
        if is_initial or word.group(0).casefold() in FIRST_NAMES:
            return f"{run[: word.start()]}{NAME}"
    return run


@lru_cache(maxsize=1)  # triage_message asks for a message's text before the model's tokenise does
def neutralise_names(text: str) -> str:
    """The raw text with names in greetings, sign-offs, introductions and after titles or first names as `<name>`."""
    if text == text.lower():  # every rule needs a capitalised name part
        return text
    text = _AFTER_TITLE.sub(rf"\1{NAME}", text)
    text = _GREETING.sub(_greeting_name, text)
    text = _SIGN_OFF.sub(rf"\1{NAME}", text)
    text = _INTRODUCTION.sub(rf"\1{NAME}", text)
    text = _LAST_LINE.sub(rf"\1{NAME}", text)
    return _CAPITALISED_RUN.sub(_person_in_run, text)
