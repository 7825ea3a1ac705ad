"""A cascade (`supportpilot train --fine-tune`): the n-gram model decides what it is sure of, a model with a fine-tuned
sentence encoder the rest. Trained here with a stand-in for the fine-tuning (fixed changes of the tuned tensors), so
these tests need no jax; tests/unit/triage/test_fine_tuning.py covers the fine-tuning itself."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from supportpilot.triage.interface import TriageInput
from supportpilot.triage.linear_model import CASCADE, CascadeModel, TrainedTriager, load_model
from supportpilot.triage.sentence_encoder import (
    ENCODER_DIR_VARIABLE,
    dequantise_tensors,
    installed_encoder,
    quantise_tensors,
)
from supportpilot.triage.training import (
    DEFAULT_HOLDOUT,
    DEFAULT_SEED,
    evaluate_model,
    read_corpus,
    split_holdout,
    train_cascade,
    write_model,
)

CORPUS = Path(__file__).resolve().parents[3] / "corpus"
ROWS_PER_LABEL = 50


def stand_in_tuning(encoder, texts, labels, *, progress=None) -> dict[str, np.ndarray]:
    """Layer 1 and the tanh layer changed as fine-tuning would change them: every tensor, a little."""
    rng = np.random.default_rng(len(texts))
    tuned = [name for name in encoder.tensors if name.startswith("layer_1/")] + ["tanh_kernel", "tanh_bias"]
    return {
        name: encoder.tensors[name] * (1 + 0.05 * rng.standard_normal(encoder.tensors[name].shape)) for name in tuned
    }


@pytest.fixture(scope="module")
def examples():
    by_label: dict[str, list] = {}
    for example in read_corpus(CORPUS):
        by_label.setdefault(example.label, []).append(example)
    return [example for label in sorted(by_label) for example in by_label[label][:ROWS_PER_LABEL]]


@pytest.fixture(scope="module")
def trained(examples) -> CascadeModel:
    return train_cascade(examples, encoder=installed_encoder(), tune=stand_in_tuning)


@pytest.fixture(scope="module")
def model_dir(trained, tmp_path_factory) -> Path:
    return write_model(trained, tmp_path_factory.mktemp("cascade") / "model")


@pytest.fixture(scope="module")
def held_texts(examples) -> list[str]:
    return [example.text for example in split_holdout(examples, DEFAULT_HOLDOUT, DEFAULT_SEED)[1]]


@pytest.fixture(scope="module")
def split_dir(model_dir, held_texts, tmp_path_factory) -> Path:
    """The cascade with t at the median first-stage confidence of the held-out texts: half go to each stage."""
    directory = tmp_path_factory.mktemp("split") / "model"
    shutil.copytree(model_dir, directory)
    confidences = sorted(load_model(model_dir).first.decide(text).confidence for text in held_texts)
    meta = json.loads((directory / "model.json").read_text())
    meta[CASCADE]["below"] = confidences[len(confidences) // 2]
    (directory / "model.json").write_text(json.dumps(meta))
    return directory


def test_a_cascade_directory_holds_both_stages_and_the_tuned_tensors(model_dir):
    assert sorted(path.name for path in model_dir.iterdir()) == [
        "model.json",
        "second_stage.encoder_weights.bin",
        "second_stage.model.json",
        "second_stage.tuned_encoder.bin",
        "second_stage.weights.bin",
        "terms.bin",
        "weights.bin",
    ]
    cascade = json.loads((model_dir / "model.json").read_text())[CASCADE]
    assert 0 <= cascade["below"] <= 1 and cascade["holdout_to_second_stage"] <= cascade["budget"]
    tuned = json.loads((model_dir / "second_stage.model.json").read_text())["encoder"]["tuned"]
    assert tuned["sha256"] == hashlib.sha256((model_dir / "second_stage.tuned_encoder.bin").read_bytes()).hexdigest()
    # int8 matrices: a quarter of the 2.9 M float32 values' 11.6 MB
    assert (model_dir / "second_stage.tuned_encoder.bin").stat().st_size < 3.1e6


def test_the_served_cascade_decides_as_the_trained_one(trained, model_dir, held_texts):
    served = load_model(model_dir)
    for text in held_texts:
        ours, theirs = served.decide(text), trained.decide(text)
        assert (ours.label, ours.rejected) == (theirs.label, theirs.rejected)
        assert ours.confidence == pytest.approx(theirs.confidence, abs=1e-6)
    assert served.second.encoder.tuned_data == trained.second.encoder.tuned_data
    texts = [" ".join(text.split()[:12]) for text in held_texts[:20]]
    np.testing.assert_allclose(
        served.second.encoder.encode(texts, (0,)), trained.second.encoder.encode(texts, (0,)), atol=1e-6
    )


def test_the_n_gram_model_decides_what_it_is_sure_of_and_the_second_stage_the_rest(split_dir, held_texts):
    cascade = load_model(split_dir)
    by_first = [cascade.first.decide(text).confidence >= cascade.below for text in held_texts]
    decided_by = [cascade.decide(text).model for text in held_texts]

    assert [model is cascade.first for model in decided_by] == by_first
    assert all(model is cascade.second for model, first in zip(decided_by, by_first, strict=True) if not first)
    assert 0 < sum(by_first) < len(held_texts)
    report = evaluate_model(cascade, [_example(text) for text in held_texts])
    assert report["to_second_stage"] == pytest.approx(1 - sum(by_first) / len(held_texts))


def _example(text: str):
    from supportpilot.triage.training import Example

    return Example(text, "order_status")


def test_a_message_the_n_gram_model_is_sure_of_needs_neither_numpy_nor_the_encoder(split_dir, held_texts):
    cascade = load_model(split_dir)
    sure = max(held_texts, key=lambda text: cascade.first.decide(text).confidence)
    unsure = min(held_texts, key=lambda text: cascade.first.decide(text).confidence)
    code = (
        "import json, sys\n"
        "from supportpilot.triage import TriageInput\n"
        "from supportpilot.triage.linear_model import TrainedTriager\n"
        f"triager = TrainedTriager({str(split_dir)!r})\n"
        "seen = []\n"
        "for text in json.loads(sys.argv[1]):\n"
        "    triager.triage(TriageInput(body=text))\n"
        "    seen.append(['numpy' in sys.modules, triager.model.second_loaded])\n"
        "print(json.dumps(seen))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, json.dumps([sure, unsure])], check=True, capture_output=True, text=True
    )
    assert json.loads(completed.stdout) == [[False, False], [True, True]]


def test_the_operator_sees_the_second_stage_s_words_when_it_decided(split_dir, held_texts):
    triager = TrainedTriager(split_dir)
    by_confidence = sorted(held_texts, key=lambda text: triager.model.first.decide(text).confidence)
    unsure = next(text for text in by_confidence if triager.model.second.decide(text).rejected is None)
    result = triager.triage(TriageInput(body=unsure))
    decision = triager.model.decide(unsure)
    assert decision.model is triager.model.second
    assert result.model_version == triager.model.meta["version"]
    grams = decision.model.top_grams(decision.words, decision.label_index)
    assert grams and grams != triager.model.first.top_grams(decision.words, decision.label_index)
    assert result.explanation == f"drove '{decision.label}': " + ", ".join(f"'{gram}'" for gram in grams)


def test_a_cascade_with_changed_tuned_tensors_is_refused(model_dir, tmp_path):
    directory = tmp_path / "model"
    shutil.copytree(model_dir, directory)
    tuned = directory / "second_stage.tuned_encoder.bin"
    data = bytearray(tuned.read_bytes())
    data[100] ^= 1
    tuned.write_bytes(bytes(data))

    cascade = load_model(directory)  # the second stage is read on the first message that needs it
    with pytest.raises(ValueError, match="sha256"):
        cascade.second  # noqa: B018
    with pytest.raises(ValueError, match="sha256"):
        load_model(directory, lazy=False)


def test_a_cascade_missing_its_second_stage_is_refused_when_loaded(model_dir, tmp_path):
    directory = tmp_path / "model"
    shutil.copytree(model_dir, directory)
    (directory / "second_stage.weights.bin").unlink()

    with pytest.raises(ValueError, match=r"second stage is incomplete.*second_stage\.weights\.bin"):
        TrainedTriager(directory)


def test_tuned_tensors_are_stored_as_int8_rows_and_float32_vectors():
    rng = np.random.default_rng(7)
    tensors = {"matrix": rng.standard_normal((6, 5)).astype(np.float32), "vector": rng.standard_normal(5)}
    tensors["matrix"][2] = 0

    data, index = quantise_tensors(tensors)
    restored = dequantise_tensors(data, index)

    assert len(data) == 6 * 5 + 6 * 4 + 5 * 4
    np.testing.assert_array_equal(restored["vector"], tensors["vector"].astype(np.float32))
    row_scale = np.abs(tensors["matrix"]).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(restored["matrix"] - tensors["matrix"]) <= row_scale / 2 + 1e-7)
    with pytest.raises(ValueError):
        dequantise_tensors(data[:-1], index)
    with pytest.raises(ValueError):
        dequantise_tensors(data + b"\0", index)


def test_a_cascade_whose_encoder_is_not_installed_is_refused_when_loaded(model_dir, monkeypatch, tmp_path):
    monkeypatch.setenv(ENCODER_DIR_VARIABLE, str(tmp_path / "no-encoder"))

    with pytest.raises(ValueError, match=r"needs the sentence encoder .*none installed"):
        TrainedTriager(model_dir)
