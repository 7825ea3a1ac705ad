"""Fine-tuning the sentence encoder (jax): its forward pass is the served numpy one, and training moves the tuned
tensors only, towards the labels, the same way every time."""

import importlib
import sys
from dataclasses import replace

import numpy as np
import pytest

import supportpilot.triage
from supportpilot.triage import fine_tuning
from supportpilot.triage.fine_tuning import TUNED_TENSORS, FineTuning, encoder_block, fine_tune_encoder
from supportpilot.triage.linear_model import encoder_text, tokenise
from supportpilot.triage.sentence_encoder import SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import DEFAULT_SEED

TEXTS = [
    "!!!",
    "where is my parcel",
    "Hallo, ik heb vorige week een lamp besteld op example.com maar hij is nog steeds niet bezorgd. Bestelling 12345.",
    "The box arrived crushed and the glass inside is broken, what now? " * 12,  # more tokens than the encoder reads
]

LABELLED = {
    "delivery": [
        "where is my parcel",
        "my package has not arrived yet",
        "when will my order be delivered",
        "the tracking page says my parcel is lost",
        "still waiting for my delivery from last week",
        "has my order been shipped",
        "waar is mijn pakket",
        "mijn bestelling is nog niet aangekomen",
        "wanneer wordt mijn pakket bezorgd",
        "de track en trace zegt dat mijn pakket zoek is",
        "ik wacht nog steeds op mijn levering",
        "is mijn bestelling al verzonden",
    ],
    "refund": [
        "refund my money please",
        "I want my money back",
        "how long does a refund take",
        "you charged me twice, please pay it back",
        "I returned the shoes, where is my refund",
        "cancel my order and refund the payment",
        "ik wil mijn geld terug",
        "graag een terugbetaling van mijn bestelling",
        "hoe lang duurt het voordat ik mijn geld terugkrijg",
        "er is twee keer afgeschreven, stort het terug",
        "ik heb de schoenen teruggestuurd, waar blijft mijn geld",
        "annuleer mijn bestelling en betaal mij terug",
    ],
    "account": [
        "change my password",
        "I forgot my password",
        "how do I reset my password",
        "I cannot log in to my account",
        "the password reset mail from example.com never came",
        "please unlock my account, wrong password too many times",
        "wachtwoord wijzigen",
        "ik ben mijn wachtwoord vergeten",
        "hoe stel ik een nieuw wachtwoord in",
        "ik kan niet inloggen op mijn account",
        "de mail om mijn wachtwoord te herstellen is nooit gekomen",
        "mijn account is geblokkeerd na te vaak een fout wachtwoord",
    ],
}
LABELLED_TEXTS = [text for texts in LABELLED.values() for text in texts]
LABELS = [label for label, texts in LABELLED.items() for _ in texts]
SETTINGS = FineTuning(epochs=2, seeds=(DEFAULT_SEED,))


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(default_encoder_dir())


@pytest.fixture(scope="module")
def tuned(encoder: SentenceEncoder) -> dict[str, np.ndarray]:
    return fine_tune_encoder(encoder, LABELLED_TEXTS, LABELS, SETTINGS)


def served_block(encoder: SentenceEncoder, texts: list[str]) -> np.ndarray:
    return encoder.encode([encoder_text(tokenise(text)) for text in texts], (0,))


def test_the_jax_forward_pass_is_the_served_one(encoder: SentenceEncoder) -> None:
    assert not encoder.token_ids(encoder_text(tokenise(TEXTS[0])))  # a text without tokens is among them
    assert len(encoder.token_ids(encoder_text(tokenise(TEXTS[-1])))) > encoder.max_length

    block = encoder_block(encoder, TEXTS)

    assert block.shape == (len(TEXTS), 1024) and block.dtype == np.float32
    np.testing.assert_allclose(block, served_block(encoder, TEXTS), rtol=0, atol=1e-5)


def test_the_jax_forward_pass_is_the_served_one_with_tuned_tensors(encoder: SentenceEncoder) -> None:
    rng = np.random.default_rng(5)
    perturbed = {
        name: encoder.tensors[name] * 1.1 + rng.normal(0, 0.02, encoder.tensors[name].shape).astype(np.float32)
        for name in TUNED_TENSORS
    }
    tuned_encoder = encoder.with_tuned(perturbed)

    block = encoder_block(tuned_encoder, TEXTS)

    np.testing.assert_allclose(block, served_block(tuned_encoder, TEXTS), rtol=0, atol=1e-5)
    assert np.abs(block[:, :512] - encoder_block(encoder, TEXTS)[:, :512]).max() > 1e-2


def test_the_tuned_tensors_are_layer_1_and_the_tanh_layer(encoder: SentenceEncoder) -> None:
    layer_1 = {name for name in encoder.tensors if name.startswith("layer_1/")}

    assert set(TUNED_TENSORS) == layer_1 | {"tanh_kernel", "tanh_bias"}


def test_fine_tuning_returns_the_tuned_tensors_only_as_float32_of_the_encoders_shapes(
    encoder: SentenceEncoder, tuned: dict[str, np.ndarray]
) -> None:
    assert list(tuned) == list(TUNED_TENSORS)
    for name, tensor in tuned.items():
        assert tensor.dtype == np.float32 and tensor.shape == encoder.tensors[name].shape, name
        assert np.isfinite(tensor).all(), name
    assert any(not np.array_equal(tensor, encoder.tensors[name]) for name, tensor in tuned.items())


def test_fine_tuning_brings_texts_of_a_label_closer_together(
    encoder: SentenceEncoder, tuned: dict[str, np.ndarray]
) -> None:
    def separation(encoder: SentenceEncoder) -> float:
        """Mean cosine similarity of the embeddings of texts with the same label minus that of different labels."""
        embeddings = encoder.encode([encoder_text(tokenise(text)) for text in LABELLED_TEXTS])
        similarity = embeddings @ embeddings.T
        same = np.equal.outer(LABELS, LABELS)
        return float(similarity[same & ~np.eye(len(LABELS), dtype=bool)].mean() - similarity[~same].mean())

    # As a model serves them: quantised, in the numpy encoder.
    assert separation(encoder.with_tuned(tuned)) > 1.5 * separation(encoder)


def test_fine_tuning_twice_gives_the_same_tensors(encoder: SentenceEncoder, tuned: dict[str, np.ndarray]) -> None:
    messages: list[str] = []

    again = fine_tune_encoder(encoder, LABELLED_TEXTS, LABELS, SETTINGS, progress=messages.append)

    for name in TUNED_TENSORS:
        np.testing.assert_array_equal(again[name], tuned[name], err_msg=name)
    assert len(messages) == SETTINGS.epochs and all("loss" in message for message in messages)


def test_fine_tuning_with_several_seeds_gives_the_mean_of_a_run_per_seed(
    encoder: SentenceEncoder, tuned: dict[str, np.ndarray]
) -> None:
    other = fine_tune_encoder(encoder, LABELLED_TEXTS, LABELS, replace(SETTINGS, seeds=(7,)))
    messages: list[str] = []

    both = fine_tune_encoder(
        encoder, LABELLED_TEXTS, LABELS, replace(SETTINGS, seeds=(DEFAULT_SEED, 7)), messages.append
    )

    assert any(not np.array_equal(other[name], tuned[name]) for name in TUNED_TENSORS)  # the seed matters
    for name in TUNED_TENSORS:
        assert both[name].dtype == np.float32
        np.testing.assert_allclose(both[name], (tuned[name] + other[name]) / 2, rtol=0, atol=1e-6, err_msg=name)
    assert len(messages) == 2 * SETTINGS.epochs and "run 2 of 2" in messages[-1]


def test_without_jax_fine_tuning_says_what_to_install(monkeypatch: pytest.MonkeyPatch, encoder) -> None:
    # The module imported afresh while jax and optax cannot be; everything is put back afterwards.
    monkeypatch.setattr(supportpilot.triage, "fine_tuning", fine_tuning)
    monkeypatch.delitem(sys.modules, fine_tuning.__name__)
    monkeypatch.setitem(sys.modules, "jax", None)
    monkeypatch.setitem(sys.modules, "optax", None)
    without_jax = importlib.import_module(fine_tuning.__name__)

    with pytest.raises(RuntimeError, match=r"pip install 'supportpilot\[fine-tune\]'"):
        without_jax.require_fine_tuning()
    with pytest.raises(RuntimeError, match="needs jax and optax"):
        without_jax.fine_tune_encoder(encoder, LABELLED_TEXTS, LABELS)
    fine_tuning.require_fine_tuning()  # with them installed, nothing to say
