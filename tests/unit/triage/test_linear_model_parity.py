"""The pure-Python scorer gives scikit-learn's own labels and scores (within 1e-6) on a whole test set."""

import csv
import json
import random
import zlib
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is a dev dependency (pip install -e '.[dev]')")

from supportpilot.triage import linear_model
from supportpilot.triage.linear_model import (
    DEFAULT_BLOCKS,
    ENCODER_LAYER_MEANS,
    LinearModel,
    max_abs_term,
    softmax,
)
from supportpilot.triage.sentence_encoder import SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import DEFAULT_MIN_DF, FittedPipeline, embed, featurise

BANKING77 = Path(__file__).resolve().parents[4] / "shared" / "data" / "banking77"
TOLERANCE = 1e-6


def _banking77(split: str, labels: set[str], limit: int) -> tuple[list[str], list[str]]:
    with (BANKING77 / f"{split}.csv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["category"] in labels]
    rows = random.Random(7).sample(rows, min(limit, len(rows)))
    return [row["text"] for row in rows], [row["category"] for row in rows]


def _generated(count: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    topics = {
        "refund": ["geld terug", "terugbetaling", "refund", "money back", "creditnota"],
        "order_status": ["waar is mijn pakket", "track and trace", "where is my order", "wanneer komt", "tracking"],
    }
    fillers = ["hoi", "hello", "bestelling", "order", "vandaag", "please", "graag", "snel", "thanks", "groet"]
    texts, labels = [], []
    for _ in range(count):
        label = rng.choice(sorted(topics))
        words = [*rng.sample(fillers, 4), rng.choice(topics[label]), f"#{rng.randint(10000, 99999)}"]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


class HashingEncoder:
    """A stand-in sentence encoder for the arithmetic of the encoder block: token hashes in 16 dimensions, and
    for each of `layer_means` the hashes salted with the layer number."""

    spec: ClassVar[dict[str, object]] = {"name": "hashing-test-encoder", "dimensions": 16}

    def encode(self, texts: list[str], layer_means: tuple[int, ...] = ()):
        import numpy as np

        parts = []
        for salt in (None, *layer_means):
            rows = np.zeros((len(texts), 16), dtype=np.float32)
            for row, text in enumerate(texts):
                for token in text.split():
                    rows[row, zlib.crc32(f"{salt}{token}".encode()) % 16] += 1.0
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            parts.append(rows / np.where(norms > 0, norms, 1.0))
        return np.hstack(parts)


def _assert_parity(
    tmp_path: Path,
    train: tuple[list[str], list[str]],
    test_texts: list[str],
    encoder=None,
    layer_means: tuple[int, ...] = (),
) -> None:
    train_embeddings = None if encoder is None else embed(train[0], encoder, layer_means=layer_means)
    pipeline = FittedPipeline(DEFAULT_BLOCKS, DEFAULT_MIN_DF, c=20.0, seed=0)
    pipeline.fit(featurise(train[0], DEFAULT_BLOCKS), train[1], train_embeddings)
    pipeline.round_to_float32()
    meta = {"name": "parity", "version": "0"}
    if encoder:
        meta |= {"encoder": encoder.spec, ENCODER_LAYER_MEANS: list(layer_means)}
    pipeline.export(meta, threshold=0.5, encoder=encoder).save(tmp_path)
    model = LinearModel.load(tmp_path, encoder=encoder)
    assert (tmp_path / "encoder_weights.bin").exists() == (encoder is not None)

    test_embeddings = None
    if encoder is not None:  # one text at a time, as served: a batch may round the encoder's float32 differently
        test_embeddings = np.vstack([embed([text], encoder, layer_means=layer_means) for text in test_texts])
    features = pipeline.transform(featurise(test_texts, DEFAULT_BLOCKS), test_embeddings)
    expected_labels = list(pipeline.classifier.predict(features))
    expected_proba = pipeline.classifier.predict_proba(features)
    expected_scores = pipeline.classifier.decision_function(features)

    labels, worst_proba, worst_score = [], 0.0, 0.0
    for row, text in enumerate(test_texts):
        scores, _ = model.scores(text)
        proba = softmax(scores)
        labels.append(model.labels[max(range(len(proba)), key=proba.__getitem__)])
        worst_proba = max(worst_proba, *(abs(a - b) for a, b in zip(proba, expected_proba[row], strict=True)))
        if expected_scores.ndim == 1:  # binary: scikit-learn's single score is the second class's
            worst_score = max(worst_score, abs(scores[1] - expected_scores[row]))
        else:
            worst_score = max(worst_score, *(abs(a - b) for a, b in zip(scores, expected_scores[row], strict=True)))

    assert labels == expected_labels
    assert worst_proba <= TOLERANCE
    assert worst_score <= TOLERANCE


@pytest.mark.skipif(not BANKING77.is_dir(), reason=f"banking77 not found at {BANKING77} (see shared/data/README.md)")
def test_scorer_matches_scikit_learn_on_banking77(tmp_path):
    labels = {
        "card_arrival",
        "lost_or_stolen_card",
        "exchange_rate",
        "top_up_failed",
        "pin_blocked",
        "refund_not_showing_up",
    }
    train = _banking77("train", labels, limit=400)
    test_texts, _ = _banking77("test", labels, limit=240)

    _assert_parity(tmp_path, train, test_texts)


def test_scorer_matches_scikit_learn_with_two_labels(tmp_path):
    train = _generated(200, seed=1)
    test_texts, _ = _generated(100, seed=2)

    _assert_parity(tmp_path, train, test_texts)


def test_scorer_matches_scikit_learn_on_long_texts_whose_sums_are_split(tmp_path, monkeypatch):
    """A decoded packed sum holds at most MAX_PACKED_SUM distinct rows; here a small limit makes long texts decode in
    chunks, texts of a few words said thousands of times overflow a field on the way to a sum that fits, and words
    over and over exercise the sublinear TF correction."""
    monkeypatch.setattr(linear_model, "MAX_PACKED_SUM", 50)
    train = _generated(200, seed=1)
    short, _ = _generated(40, seed=2)
    long_texts = [" ".join(short[start : start + 12] * 5) for start in range(0, 40, 4)]
    said_over_and_over = [" ".join(text.split()[:3] * 3000) for text in short[:4]]

    _assert_parity(tmp_path, train, short + long_texts + said_over_and_over)


def _saved_model(tmp_path: Path) -> Path:
    train = _generated(200, seed=1)
    pipeline = FittedPipeline(DEFAULT_BLOCKS, DEFAULT_MIN_DF, c=20.0, seed=0)
    pipeline.fit(featurise(train[0], DEFAULT_BLOCKS), train[1])
    pipeline.export({"name": "parity", "version": "0"}, threshold=0.5).save(tmp_path)
    return tmp_path


def _edit_weights_meta(model_dir: Path, edit) -> None:
    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    edit(meta["weights"])
    (model_dir / "model.json").write_text(json.dumps(meta), encoding="utf-8")


def test_models_without_packed_terms_or_packed_otherwise_score_the_same(tmp_path):
    test_texts, _ = _generated(50, seed=2)
    model_dir = _saved_model(tmp_path)
    model = LinearModel.load(model_dir)
    expected = [model.scores(text)[0] for text in test_texts]
    terms = model_dir / "terms.bin"

    terms.write_bytes(bytes(terms.stat().st_size))  # packed otherwise than this code packs: not to be read
    _edit_weights_meta(model_dir, lambda weights: weights["terms"].update(scale_bits=30))
    assert [LinearModel.load(model_dir).scores(text)[0] for text in test_texts] == expected

    terms.unlink()  # model.json names it, the file is gone: derived data, packed from the weights again
    _edit_weights_meta(model_dir, lambda weights: weights["terms"].update(scale_bits=model.packing["scale_bits"]))
    assert [LinearModel.load(model_dir).scores(text)[0] for text in test_texts] == expected

    _edit_weights_meta(model_dir, lambda weights: [weights.pop("terms"), weights.pop("max_abs_term")])  # older
    assert [LinearModel.load(model_dir).scores(text)[0] for text in test_texts] == expected


def test_a_truncated_terms_file_is_refused(tmp_path):
    model_dir = _saved_model(tmp_path)
    terms = model_dir / "terms.bin"
    terms.write_bytes(terms.read_bytes()[:-1])

    with pytest.raises(ValueError, match=r"terms\.bin holds"):
        LinearModel.load(model_dir)


def test_scorer_matches_scikit_learn_with_a_sentence_encoder_block(tmp_path):
    train = _generated(200, seed=1)
    test_texts, _ = _generated(100, seed=2)

    _assert_parity(tmp_path, train, test_texts, encoder=HashingEncoder())


def test_scorer_matches_scikit_learn_with_layer_means_in_the_encoder_block(tmp_path):
    train = _generated(200, seed=1)
    test_texts, _ = _generated(100, seed=2)

    _assert_parity(tmp_path, train, test_texts, encoder=HashingEncoder(), layer_means=(0, 1))


@pytest.mark.skipif(not BANKING77.is_dir(), reason=f"banking77 not found at {BANKING77} (see shared/data/README.md)")
def test_scorer_matches_scikit_learn_on_banking77_with_the_sentence_encoder_and_its_first_layer(tmp_path):
    labels = {"card_arrival", "lost_or_stolen_card", "exchange_rate", "top_up_failed"}
    train = _banking77("train", labels, limit=200)
    test_texts, _ = _banking77("test", labels, limit=120)

    _assert_parity(tmp_path, train, test_texts, encoder=SentenceEncoder(default_encoder_dir()), layer_means=(0,))


def test_encoder_weights_of_another_width_than_model_json_says_are_refused(tmp_path):
    train = _generated(200, seed=1)
    encoder = HashingEncoder()
    pipeline = FittedPipeline(DEFAULT_BLOCKS, DEFAULT_MIN_DF, c=20.0, seed=0)
    pipeline.fit(featurise(train[0], DEFAULT_BLOCKS), train[1], embed(train[0], encoder))
    meta = {"name": "parity", "version": "0", "encoder": encoder.spec, ENCODER_LAYER_MEANS: [0]}
    pipeline.export(meta, threshold=0.5, encoder=encoder).save(tmp_path)

    with pytest.raises(ValueError, match=r"encoder_weights\.bin holds"):
        LinearModel.load(tmp_path, encoder=encoder)


def test_exported_model_files_are_compact_and_self_describing(tmp_path):
    train = _generated(200, seed=1)
    pipeline = FittedPipeline(DEFAULT_BLOCKS, DEFAULT_MIN_DF, c=20.0, seed=0).fit(
        featurise(train[0], DEFAULT_BLOCKS), train[1]
    )
    pipeline.export({"name": "parity", "version": "0"}, threshold=0.5).save(tmp_path)

    model = LinearModel.load(tmp_path)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.json", "terms.bin", "weights.bin"]
    assert model.labels == ["order_status", "refund"]
    assert model.meta["weights"] == {
        "file": "weights.bin",
        "features": len(model.features),
        "dtype": "float32",
        "order": "<",
        "max_abs_term": max_abs_term(model.idf, model.coef),
        "terms": {"file": "terms.bin", "field_bits": 64, "scale_bits": model.packing["scale_bits"]},
    }
    assert (tmp_path / "weights.bin").stat().st_size == 4 * len(model.features) * (2 + 2)
