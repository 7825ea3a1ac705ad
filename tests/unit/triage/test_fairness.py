"""Counterfactual fairness of the shipped default model, and of the seed corpus trained with the sentence
encoder block and as a fine-tuned cascade, on the held-out part of the seed corpus.

Swapping names, titles, pronouns and ages (in both directions), or signing the same message as
someone else, changes neither the category nor needs_human (nor the confidence: the features are the same).
"""

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from supportpilot.triage.fine_tuning import FineTuning, fine_tune_encoder
from supportpilot.triage.interface import DEFAULT_MODEL_DIR, TriageInput
from supportpilot.triage.linear_model import TrainedTriager, tokenise
from supportpilot.triage.sentence_encoder import SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import (
    DEFAULT_HOLDOUT,
    DEFAULT_SEED,
    Example,
    read_corpus,
    split_holdout,
    train_cascade,
    train_model,
    write_model,
)

CORPUS = Path(__file__).resolve().parents[3] / "corpus"

# Pairs swapped both ways at once: men's and women's names, across origins.
NAME_PAIRS = [
    ("Jan", "Fatima"),
    ("Pieter", "Sanne"),
    ("Emily", "Mohammed"),
    ("Sarah", "Ahmet"),
    ("Wim", "Zeynep"),
    ("Laura", "Yusuf"),
    ("Joost", "Ayşe"),
    ("Alex", "Olena"),
    ("Thijs", "Ingrid"),
    ("Koen", "Aoife"),
]
# The corpus's surnames, swapped where they name a person: after a first name, an initial or a title
# ("Jan Voorbeeld", "mevr. S. Voorbeeld"), not in company names ("Voorbeeld Advies B.V.", "Example Bots").
SURNAME_PAIRS = [("Voorbeeld", "Öztürk"), ("Example", "Okonkwo"), ("Proef", "Nguyen")]
_SURNAME = re.compile(
    r"(\b(?:[A-Z]\.|(?!De\b)[A-Z][a-z]+\.?)[ \t]+(?:de[ \t]+)?)("
    + "|".join(a for pair in SURNAME_PAIRS for a in pair)
    + r")\b"
)
_OTHER_SURNAME = {**dict(SURNAME_PAIRS), **{b: a for a, b in SURNAME_PAIRS}}
TO_WOMEN = {
    "meneer": "mevrouw",
    "dhr.": "mevr.",
    "Mr": "Mrs",
    "Mr.": "Ms.",
    "Sir": "Madam",
    "he": "she",
    "him": "her",
    "his": "her",
    "hij": "zij",
    "hem": "haar",
    "zijn": "haar",
    "z'n": "d'r",
    "husband": "wife",
    "father": "mother",
    "son": "daughter",
    "man": "vrouw",
    "vader": "moeder",
    "zoon": "dochter",
}
TO_MEN = {
    "mevrouw": "meneer",
    "mevr.": "dhr.",
    "Mrs": "Mr",
    "Ms": "Mr",
    "Miss": "Mr",
    "Madam": "Sir",
    "she": "he",
    "her": "his",
    "hers": "his",
    "zij": "hij",
    "ze": "hij",
    "haar": "zijn",
    "d'r": "z'n",
    "wife": "husband",
    "mother": "father",
    "daughter": "son",
    "vrouw": "man",
    "moeder": "vader",
    "dochter": "zoon",
}
_AGE = re.compile(r"(?i)(\b(?:i'm|i am|ik ben|aged?)\s+)(\d{1,2})\b|\b(\d{1,2})(\s*(?:jaar|years?|yrs)\b)")
# Someone else signing the same message: names no list knows, in greeting, introduction and sign-off.
PERSONAS = [
    ("Xandro", "meneer", "Mr", "Quistberg", "72"),
    ("Yaëlle", "mevrouw", "Ms", "Okonkwo-Bello", "19"),
    ("Ngozi", "mevr.", "Mrs", "van der Berg", "45"),
    ("Zbigniew", "dhr.", "Mr.", "Nakamura", "34"),
]


def _swapper(mapping: dict[str, str]) -> Callable[[str], str]:
    """Replace whole words (as written, Title-case and lower-case forms) by their counterparts."""
    forms = {**mapping, **{k.capitalize(): v.capitalize() for k, v in mapping.items()}}
    forms |= {k.upper(): v.upper() for k, v in mapping.items() if len(k) > 1}
    pattern = re.compile(
        r"(?<![\w'.])(" + "|".join(map(re.escape, sorted(forms, key=len, reverse=True))) + r")(?![\w'])"
    )
    return lambda text: pattern.sub(lambda match: forms[match.group(1)], text)


def _ages(older: bool) -> Callable[[str], str]:
    def other_age(age: str) -> str:
        return ("81" if int(age) < 50 else "34") if older else ("19" if int(age) >= 30 else "72")

    def replace(match: re.Match[str]) -> str:
        if match.group(2):
            return match.group(1) + other_age(match.group(2))
        return other_age(match.group(3)) + match.group(4)

    return lambda text: _AGE.sub(replace, text)


_FIRST_NAMES = _swapper({**dict(NAME_PAIRS), **{b: a for a, b in NAME_PAIRS}})


def swap_names(text: str) -> str:
    text = _SURNAME.sub(lambda match: match.group(1) + _OTHER_SURNAME[match.group(2)], text)
    return _FIRST_NAMES(text)


COUNTERFACTUALS: dict[str, Callable[[str], str]] = {
    "names swapped": swap_names,
    "to women, older": lambda text: _ages(True)(_swapper(TO_WOMEN)(swap_names(text))),
    "to men, younger": lambda text: _ages(False)(_swapper(TO_MEN)(swap_names(text))),
}


def _signed(text: str, language: str | None, persona: tuple[str, str, str, str, str]) -> str:
    first, title_nl, title_en, surname, age = persona
    if language == "nl":
        return f"Beste {title_nl} {surname},\n\nIk ben {first}, ik ben {age} jaar. {text}\n\nGroeten, {first}"
    return f"Dear {title_en} {surname},\n\nMy name is {first}, I'm {age}. {text}\n\nThanks,\n{first} {surname}"


@pytest.fixture(scope="module", params=["shipped default", "with the sentence encoder", "fine-tuned cascade"])
def triager(request, tmp_path_factory) -> TrainedTriager:
    if request.param == "shipped default":
        return TrainedTriager(DEFAULT_MODEL_DIR)
    encoder = SentenceEncoder(default_encoder_dir())
    if request.param == "with the sentence encoder":
        model = train_model(read_corpus(CORPUS), encoder=encoder)
    else:
        # One run of one epoch (the default is 3 of 8): what the tuned encoder reads is the same placeholders whatever
        # it learnt.
        tune = partial(fine_tune_encoder, settings=FineTuning(epochs=1, seeds=(DEFAULT_SEED,)))
        model = train_cascade(read_corpus(CORPUS), encoder=encoder, tune=tune)
        assert model.meta["cascade"]["holdout_to_second_stage"] > 0
    return TrainedTriager(write_model(model, tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="module")
def held_out() -> list[Example]:
    _, held = split_holdout(read_corpus(CORPUS), DEFAULT_HOLDOUT, DEFAULT_SEED)
    return held


def _outcome(triager: TrainedTriager, text: str) -> tuple[str, bool, float]:
    result = triager.triage(TriageInput(body=text))
    return result.category, result.needs_human, result.confidence


@pytest.mark.parametrize("counterfactual", sorted(COUNTERFACTUALS))
def test_swapping_names_titles_pronouns_and_ages_changes_no_outcome(triager, held_out, counterfactual):
    swap = COUNTERFACTUALS[counterfactual]
    changed = [(example.text, swap(example.text)) for example in held_out if swap(example.text) != example.text]

    differences = [
        (original[:60], _outcome(triager, original), _outcome(triager, swapped))
        for original, swapped in changed
        if _outcome(triager, original) != _outcome(triager, swapped)
    ]

    assert len(changed) >= 80  # the held-out corpus mentions names, titles and pronouns often enough
    assert differences == []


def test_who_signs_the_message_changes_no_outcome(triager, held_out):
    differences = []
    for example in held_out:
        outcomes = {_outcome(triager, _signed(example.text, example.language, persona)) for persona in PERSONAS}
        if len(outcomes) > 1:
            differences.append((example.text[:60], outcomes))

    assert differences == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beste Jan,\nwaar is het?", ["beste", "<name>", "waar", "is", "het"]),
        ("Dear Mr Smith, she paid", ["dear", "<title>", "<name>", "<pronoun>", "paid"]),
        ("Ik ben 34 jaar. Groeten, Xandro Quistberg", ["ik", "ben", "<num>", "jaar", "groeten", "<name>"]),
        ("Kind regards,\n\nmevr. A. Example", ["kind", "regards", "<title>", "<name>"]),
        ("Mijn moeder Fatima El Amrani wacht.", ["mijn", "<relative>", "<name>", "wacht"]),
        (
            "My name is Quinn Doe, hij wil zijn geld",
            ["my", "name", "is", "<name>", "<pronoun>", "wil", "<pronoun>", "geld"],
        ),
        ("Dear Customer Service,\nhello", ["dear", "customer", "service", "hello"]),
    ],
    ids=["greeting", "title", "age and sign-off", "initials", "known first name", "introduction", "no person"],
)
def test_identity_becomes_placeholders_in_training_and_serving_alike(text, expected):
    assert tokenise(text) == expected
