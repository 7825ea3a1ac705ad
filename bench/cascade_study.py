"""Study, not part of `make bench`: a cascade of the n-gram model and the sentence-encoder model, and int8 encoder
weights.

    .venv/bin/python -m bench.cascade_study {banking77|clinc150} [--int8]

The n-gram model decides a message when its top in-scope probability is at least t; the model trained with the
encoder block decides the rest (and only those would pay the encoder's milliseconds). t is the smallest (in steps of
0.02) whose cascade is as accurate as the encoder model alone on a holdout (banking77: 20% of train.csv, both models
trained on the other 80%; clinc150: its validation split), or within a slack of it; then both models are trained as
`bench.triage_bench` trains them and the cascade is scored once on the test set. `--int8` stores every encoder
matrix as int8 with one float32 scale per row (7.1 MB instead of 27.9) and runs the study with those numbers.
Takes about 10 minutes a data set on one core. Results: docs/architecture.md, "The sentence encoder block".
"""

import argparse
import json
from collections.abc import Sequence

import numpy as np

from bench.triage_bench import banking77_rows, clinc150_rows
from supportpilot.triage.interface import OUT_OF_SCOPE
from supportpilot.triage.linear_model import LinearModel, softmax
from supportpilot.triage.sentence_encoder import SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import Example, split_holdout, train_model

SLACKS = (0.0, 0.002, 0.005)
Decided = tuple[str, bool]  # (label, kept as in scope)


def int8_weights(encoder: SentenceEncoder) -> int:
    """Round every matrix of `encoder` to int8 with a float32 scale per row, in place; the bytes they would take."""

    def rounded(tensor: np.ndarray) -> tuple[np.ndarray, int]:
        rows = tensor.reshape(-1, tensor.shape[-1])
        scale = np.abs(rows).max(axis=1, keepdims=True) / 127.0
        scale[scale == 0] = 1.0
        values = np.round(rows / scale).astype(np.int8)
        return (values.astype(np.float32) * scale.astype(np.float32)).reshape(
            tensor.shape
        ), values.size + 4 * scale.size

    size = 0
    encoder._embeddings, bytes_ = rounded(encoder._embeddings)
    size += bytes_
    encoder._tanh_kernel, bytes_ = rounded(encoder._tanh_kernel)
    size += bytes_
    for layer in encoder._layers:
        for name, tensor in list(layer.items()):
            if isinstance(tensor, np.ndarray) and tensor.ndim >= 2:
                layer[name], bytes_ = rounded(tensor)
                size += bytes_
            elif isinstance(tensor, np.ndarray):
                size += 4 * tensor.size
    return size


def decided(model: LinearModel, examples: Sequence[Example]) -> list[Decided]:
    return [(decision.label, decision.rejected is None) for decision in map(model.decide, (e.text for e in examples))]


def top_in_scope_probability(model: LinearModel, examples: Sequence[Example]) -> list[float]:
    """The n-gram model's certainty about each message (only the n-gram model's: the encoder runs once)."""
    certainty = []
    for example in examples:
        scores, _ = model.scores(example.text)
        certainty.append(max(softmax([scores[index] for index in model._in_scope])))
    return certainty


def cascade(ngram: list[Decided], encoder: list[Decided], confidence: list[float], t: float) -> list[Decided]:
    return [mine if sure >= t else theirs for mine, theirs, sure in zip(ngram, encoder, confidence, strict=True)]


def metrics(decided: list[Decided], examples: Sequence[Example]) -> dict[str, float]:
    pairs = list(zip(decided, examples, strict=True))
    in_scope = [(d, e) for d, e in pairs if e.label != OUT_OF_SCOPE]
    result = {
        "accuracy": sum(d[0] == e.label for d, e in in_scope) / len(in_scope),
        "kept": sum(d[1] for d, _ in in_scope) / len(in_scope),
    }
    out_of_scope = [d for d, e in pairs if e.label == OUT_OF_SCOPE]
    if out_of_scope:
        result["out_of_scope_recall"] = sum(not kept for _, kept in out_of_scope) / len(out_of_scope)
    return result


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    return {key: _rounded(item) for key, item in value.items()} if isinstance(value, dict) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=("banking77", "clinc150"))
    parser.add_argument("--int8", action="store_true", help="int8 encoder weights")
    args = parser.parse_args()
    encoder = SentenceEncoder(default_encoder_dir())
    report: dict = {"dataset": args.dataset, "encoder": "int8" if args.int8 else "float32"}
    if args.int8:
        report["encoder_weight_bytes"] = int8_weights(encoder)
    if args.dataset == "banking77":
        train, test = banking77_rows("train"), banking77_rows("test")
        fit, held = split_holdout(train, 0.2, 0)
        held_models = train_model(fit), train_model(fit, encoder=encoder)
        test_models = train_model(train, refit=True), train_model(train, refit=True, encoder=encoder)
    else:
        train, held = clinc150_rows("train", "oos_train"), clinc150_rows("val")
        test = clinc150_rows("test", "oos_test")
        test_models = held_models = (
            train_model(train, validation=held),
            train_model(train, validation=held, encoder=encoder),
        )
    ngram, encoded = decided(held_models[0], held), decided(held_models[1], held)
    confidence = top_in_scope_probability(held_models[0], held)
    target = metrics(encoded, held)["accuracy"]
    steps = [step / 50 for step in range(51)]
    chosen = {
        slack: next(
            (t for t in steps if metrics(cascade(ngram, encoded, confidence, t), held)["accuracy"] >= target - slack),
            1.0,
        )
        for slack in SLACKS
    }
    ngram, encoded = decided(test_models[0], test), decided(test_models[1], test)
    confidence = top_in_scope_probability(test_models[0], test)
    report["test"] = {"n-gram model": metrics(ngram, test), "encoder model": metrics(encoded, test)}
    for slack, t in chosen.items():
        report["test"][f"cascade, slack {slack}"] = {
            "t": t,
            **metrics(cascade(ngram, encoded, confidence, t), test),
            "to_encoder": round(sum(sure < t for sure in confidence) / len(confidence), 3),
        }
    print(json.dumps(_rounded(report), indent=2))


if __name__ == "__main__":
    main()
