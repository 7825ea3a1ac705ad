"""TrainedTriager: the same result fields and needs_human reasons as the baseline, for any input."""

import json
import random

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is a dev dependency (pip install -e '.[dev]')")

from threadpoolctl import threadpool_limits

from supportpilot.triage import TriageInput, load_triager
from supportpilot.triage.interface import (
    MAX_TRIAGE_CHARS,
    OUT_OF_SCOPE,
    REASON_LOW_CONFIDENCE,
    REASON_NO_BODY,
    REASON_NO_REQUEST,
    REASON_NO_TEXT,
    REASON_PRIVACY,
    REASON_TRUNCATED,
)
from supportpilot.triage.linear_model import MODEL_FILE, LinearModel, TrainedTriager, normalise, tokenise
from supportpilot.triage.training import (
    DEFAULT_HOLDOUT,
    DEFAULT_SEED,
    Example,
    evaluate_model,
    novelty_threshold,
    read_corpus,
    split_holdout,
    train_model,
    write_model,
)
from tests.conftest import PROJECT_ROOT

PHRASES = {
    "refund": ["ik wil mijn geld terug", "wanneer krijg ik de terugbetaling", "I want a refund", "money back please"],
    "order_status": ["waar is mijn pakket", "where is my order", "wanneer wordt het bezorgd", "where is my parcel"],
    "privacy_request": ["verwijder al mijn gegevens", "delete my personal data", "inzageverzoek avg", "gdpr request"],
}
OPENINGS = ["hoi", "hello", "goedemiddag", "hi there", "beste", "dear shop"]


def _in_scope_examples(rng: random.Random) -> list[Example]:
    return [
        Example(f"{rng.choice(OPENINGS)}, {rng.choice(PHRASES[label])}. order {rng.randint(10000, 99999)}", label)
        for label in sorted(PHRASES)
        for _ in range(40)
    ]


@pytest.fixture(scope="module")
def triager(tmp_path_factory) -> TrainedTriager:
    examples = _in_scope_examples(random.Random(5))
    out = write_model(train_model(examples, name="test-model"), tmp_path_factory.mktemp("models") / "small")
    triager = load_triager(str(out))
    assert isinstance(triager, TrainedTriager)
    return triager


def test_a_clear_message_gets_its_category_and_the_words_behind_it(triager):
    message = TriageInput(subject="Terugbetaling", body="Hoi, ik wil mijn geld terug. Order 12345")

    result = triager.triage(message)

    assert result.category == "refund"
    assert result.language == "nl"
    assert not result.needs_human
    assert result.explanation.startswith("drove 'refund': '")
    drivers = result.explanation.removeprefix("drove 'refund': ").split(", ")
    words = " ".join(tokenise(f"{message.subject}\n{message.body}"))
    assert all(driver.strip("'") in words for driver in drivers)
    assert result.model_name == "test-model"


def test_the_explanation_names_words_that_say_something_each_once(triager):
    result = triager.triage(TriageInput(body="Hoi, ik wil mijn geld terug. Ik wil echt mijn geld terug! Order 12345"))

    drivers = [driver.strip("'") for driver in result.explanation.split(": ", 1)[1].split(", ")]
    said = [set(driver.split()) - {"ik", "mijn", "<order>"} for driver in drivers]
    assert all(said), drivers  # not only "ik", "mijn" or a placeholder
    assert all(not words <= set().union(*said[:index]) for index, words in enumerate(said)), drivers


def test_a_privacy_request_always_goes_to_a_person(triager):
    result = triager.triage(TriageInput(body="Please delete my personal data, this is a GDPR request"))

    assert result.category == "privacy_request"
    assert REASON_PRIVACY in result.reasons and result.needs_human


def test_an_unrelated_message_is_out_of_scope_with_low_confidence(triager):
    result = triager.triage(TriageInput(body="Do you sponsor the local football club tournament next summer?"))

    assert result.category == OUT_OF_SCOPE
    assert REASON_LOW_CONFIDENCE in result.reasons and result.needs_human
    assert result.explanation.startswith("low confidence: best guess")


def test_another_language_is_flagged_unsupported(triager):
    result = triager.triage(TriageInput(body="Hallo, wo ist mein Paket? Ich habe es vor zwei Wochen bestellt."))

    assert result.language == "de"
    assert "unsupported language: de" in result.reasons


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (TriageInput(), REASON_NO_TEXT),
        (TriageInput(body="\U0001f621\U0001f621"), REASON_NO_TEXT),
        (TriageInput(body="12345 / 67890"), REASON_NO_TEXT),
        (TriageInput(body="waar is mijn pakket " * 60_000), REASON_TRUNCATED),
        (TriageInput(body="\x00\ud800\ufffd" + "\x89PNG\x1a\x00" * 500 + "zzzzq" * 5000), REASON_LOW_CONFIDENCE),
        (
            TriageInput(subject="Re: order 12345", body="On Mon, 3 May 2026, shop@example.com wrote:\n> Dear customer"),
            REASON_NO_BODY,
        ),
        (TriageInput(subject="I want a refund"), REASON_NO_BODY),
        (TriageInput(body="Bedankt! \U0001f44d"), REASON_NO_REQUEST),
        (
            TriageInput(body="Hi, where is my order please? Het pakket is nog steeds niet bij mij aangekomen."),
            "mixed languages: nl, en",
        ),
    ],
    ids=[
        "empty",
        "only emoji",
        "only numbers",
        "1 MB body",
        "binary garbage",
        "only a quoted reply",
        "subject without body",
        "only thanks",
        "mixed languages",
    ],
)
def test_bad_input_gets_a_result_for_a_person_never_an_exception(triager, message, reason):
    result = triager.triage(message)

    assert result.needs_human
    assert reason in result.reasons


def test_a_truncated_message_is_still_classified(triager):
    result = triager.triage(TriageInput(body="waar is mijn pakket? " * (MAX_TRIAGE_CHARS // 10)))

    assert result.category == "order_status"
    assert REASON_TRUNCATED in result.reasons


def test_contact_history_raises_the_emotional_load(triager):
    calm = triager.triage(TriageInput(body="waar is mijn pakket"))
    repeated = triager.triage(TriageInput(body="waar is mijn pakket", contacts_last_7_days=5))

    assert repeated.emotional_load > calm.emotional_load
    assert "5 contacts in 7 days" in repeated.cues


def test_normalise_replaces_personal_and_numeric_details_with_placeholders():
    text = "Mail jan@example.nl, order #10045 / NL-20931, \u20ac 12,50 betaald op 3-4, zie https://example.com/x"

    assert normalise(text).split() == [
        "mail", "<email>", ",", "order", "<order>", "/", "<order>", ",", "<amount>", "betaald", "op", "<num>",
        ",", "zie", "<url>",
    ]  # fmt: skip


def test_a_damaged_model_directory_is_refused_with_a_clear_error(triager, tmp_path):
    (tmp_path / "model.json").write_text('{"format": "supportpilot-linear/1", "labels": ["a", "b"]}')
    (tmp_path / "weights.bin").write_bytes(b"")

    with pytest.raises(ValueError, match=r"malformed model\.json"):
        load_triager(str(tmp_path))


UNRELATED = [
    "are you hiring warehouse staff this summer",
    "wij bieden linkbuilding aan voor uw webshop",
    "can your company sponsor our charity run",
    "wie wint er zondag ajax of feyenoord",
    "we build websites for shops at a fixed price",
    "mag ik een interview met de directeur voor de krant",
]


@pytest.fixture(scope="module")
def triager_with_out_of_scope_rows(tmp_path_factory) -> TrainedTriager:
    rng = random.Random(6)
    examples = _in_scope_examples(rng)
    examples += [Example(f"{rng.choice(OPENINGS)}, {rng.choice(UNRELATED)}", OUT_OF_SCOPE) for _ in range(40)]
    model = train_model(examples, name="test-model-oos")
    assert model.meta["training"]["trained_on"]["per_label"][OUT_OF_SCOPE] == 20  # half trains, half measures
    assert model.meta["metrics"]["out_of_scope_rows"] == 20
    return load_triager(str(write_model(model, tmp_path_factory.mktemp("models") / "with-oos")))


def test_a_message_like_the_out_of_scope_rows_goes_to_a_person_as_out_of_scope(triager_with_out_of_scope_rows):
    result = triager_with_out_of_scope_rows.triage(TriageInput(body="Hello, are you hiring warehouse staff?"))

    assert result.category == OUT_OF_SCOPE and result.needs_human
    assert result.reasons[0] == "out of scope: no known topic recognised"
    assert result.explanation.startswith("out of scope")


def test_the_out_of_scope_class_does_not_take_known_topics(triager_with_out_of_scope_rows):
    result = triager_with_out_of_scope_rows.triage(TriageInput(body="Hoi, waar is mijn pakket? Order 12345"))

    assert result.category == "order_status"
    assert not result.needs_human


def test_the_lowest_kept_message_stays_kept_when_its_score_is_recomputed_a_rounding_error_lower():
    threshold = novelty_threshold([5.0, 4.0, 3.0, 2.0, 1.0], keep=0.8)

    assert [score >= threshold for score in (5.0, 4.0, 3.0, 2.0, 1.0)] == [True, True, True, True, False]
    assert threshold <= 2.0 - 1e-12  # the lowest kept score, recomputed a rounding error lower
    assert novelty_threshold([3.0, 2.0, float("-inf")], keep=0.5) == 2.0  # no finite score below the kept ones


@pytest.fixture(scope="module")
def seed_corpus() -> list[Example]:
    return read_corpus(PROJECT_ROOT / "corpus")


@pytest.fixture(scope="module")
def seed_model(seed_corpus, tmp_path_factory):
    with threadpool_limits(limits=1, user_api="blas"):  # as `make model` trains (OPENBLAS_NUM_THREADS=1)
        return write_model(train_model(seed_corpus), tmp_path_factory.mktemp("models") / "seed")


def test_the_served_model_keeps_and_rejects_the_holdout_as_training_measured_it(seed_corpus, seed_model):
    _, holdout = split_holdout(seed_corpus, DEFAULT_HOLDOUT, DEFAULT_SEED)

    served = evaluate_model(LinearModel.load(seed_model), holdout)

    measured = json.loads((seed_model / MODEL_FILE).read_text())["metrics"]
    assert served["in_scope_kept"] == measured["in_scope_kept"]
    assert served["out_of_scope_recall"] == measured["out_of_scope_recall"]


def test_training_gives_the_same_model_whatever_the_number_of_blas_threads(seed_corpus, seed_model, tmp_path):
    with threadpool_limits(limits=2, user_api="blas"):
        again = write_model(train_model(seed_corpus), tmp_path / "seed")

    for name in (MODEL_FILE, "weights.bin", "terms.bin"):
        assert (again / name).read_bytes() == (seed_model / name).read_bytes(), name
