"""Study, not part of `make bench`: a cascade of the n-gram model and the sentence-encoder model, and int8 encoder
weights.

    .venv/bin/python -m bench.cascade_study {banking77|clinc150} [--int8]

The n-gram model decides a message when its top in-scope probability is at least t; a second stage decides the rest
(and only those would pay the encoder's milliseconds). Every choice is made on a holdout (banking77: 20% of
train.csv, both models trained on the other 80%; clinc150: its validation split), in steps of 0.02 for t:

- slack rows: the second stage is the model trained with the encoder block; t is the smallest whose cascade is as
  accurate as that model alone, or within a slack of it;
- "best within 45% to the encoder": the same second stage; the t with the best accuracy among those sending at most
  45% of the messages to the encoder (ties: the smaller t);
- "combined second stage": the in-scope label with the best w x the n-gram model's + (1 - w) x the encoder model's
  log probability, the encoder model's out-of-scope verdict; t and w (0, 0.25 or 0.5) chosen as in the row before
  (ties: the smaller t, then the smaller w).

Then both models are trained as `bench.triage_bench` trains them and each chosen cascade is scored once on the test
set. Each model scores a message once (decision and scores from one `scores()` call). `--int8` stores every encoder
matrix as int8 with one float32 scale per row (7.1 MB instead of 27.9) and runs the study with those numbers.
Takes 2 to 3 minutes a data set on one core. Results: docs/architecture.md, "The sentence encoder block".
"""

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.triage_bench import banking77_rows, clinc150_rows
from supportpilot.triage.interface import OUT_OF_SCOPE
from supportpilot.triage.linear_model import LinearModel, softmax
from supportpilot.triage.sentence_encoder import SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import Example, split_holdout, train_model

SLACKS = (0.0, 0.002, 0.005)
STEPS = [step / 50 for step in range(51)]
WEIGHTS = (0.0, 0.25, 0.5)  # the n-gram model's weight in the combined second stage
BUDGET = 0.45  # at most this fraction of messages to the encoder: the median message stays at n-gram speed
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


def scored(model: LinearModel, examples: Sequence[Example]) -> tuple[list[Decided], list[list[float]]]:
    """Each message's served decision and in-scope scores, from one `scores()` call a message (the encoder runs
    once)."""
    decisions, in_scope_scores = [], []
    for example in examples:
        scores, _ = model.scores(example.text)
        decided = model.decision(scores, [])
        decisions.append((decided.label, decided.rejected is None))
        in_scope_scores.append([scores[index] for index in model._in_scope])
    return decisions, in_scope_scores


def combined(
    encoder: list[Decided], ngram: list[list[float]], encoded: list[list[float]], labels: list[str], w: float
) -> list[Decided]:
    """The in-scope label with the best w x n-gram + (1 - w) x encoder log probability (the same label as the best
    weighted in-scope score: a model's log-sum-exp is the same for every label); the encoder model's verdict on
    whether it is in scope. w = 0: the encoder model's own decisions."""
    result = []
    for (_, kept), mine, theirs in zip(encoder, ngram, encoded, strict=True):
        mixed = [w * a + (1 - w) * b for a, b in zip(mine, theirs, strict=True)]
        result.append((labels[mixed.index(max(mixed))], kept))
    return result


def cascade(ngram: list[Decided], second: list[Decided], confidence: list[float], t: float) -> list[Decided]:
    return [mine if sure >= t else theirs for mine, theirs, sure in zip(ngram, second, confidence, strict=True)]


def to_encoder(confidence: list[float], t: float) -> float:
    return sum(sure < t for sure in confidence) / len(confidence)


@dataclass(frozen=True)
class Stages:
    """Both models' view of a set of messages: the n-gram model's decisions and top in-scope probabilities, and the
    second stage's decisions for each w in WEIGHTS (w = 0: the encoder model's own)."""

    ngram: list[Decided]
    confidence: list[float]
    second: dict[float, list[Decided]]

    def cascade(self, t: float, w: float) -> list[Decided]:
        return cascade(self.ngram, self.second[w], self.confidence, t)


def stages(ngram_model: LinearModel, encoder_model: LinearModel, examples: Sequence[Example]) -> Stages:
    labels = [ngram_model.labels[index] for index in ngram_model._in_scope]
    if labels != [encoder_model.labels[index] for index in encoder_model._in_scope]:
        raise ValueError("the two models' in-scope labels differ")
    ngram, ngram_scores = scored(ngram_model, examples)
    encoded, encoder_scores = scored(encoder_model, examples)
    return Stages(
        ngram,
        [max(softmax(scores)) for scores in ngram_scores],
        {w: combined(encoded, ngram_scores, encoder_scores, labels, w) for w in WEIGHTS},
    )


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


def smallest_t_reaching(held: Stages, examples: Sequence[Example], accuracy: float) -> float:
    """The slack rule: the smallest t whose cascade (second stage: the encoder model) reaches `accuracy`."""
    return next((t for t in STEPS if metrics(held.cascade(t, 0.0), examples)["accuracy"] >= accuracy), 1.0)


def best_within_budget(held: Stages, examples: Sequence[Example], weights: Sequence[float]) -> tuple[float, float]:
    """The budget rule: the (t, w) with the best accuracy among those sending at most BUDGET of the messages to the
    encoder; ties: the smaller t, then the smaller w."""
    candidates = [(t, w) for t in STEPS for w in weights if to_encoder(held.confidence, t) <= BUDGET]
    return max(candidates, key=lambda chosen: metrics(held.cascade(*chosen), examples)["accuracy"])


def row(scored_set: Stages, examples: Sequence[Example], t: float, w: float) -> dict[str, float]:
    return {
        "t": t,
        "w": w,
        **metrics(scored_set.cascade(t, w), examples),
        "to_encoder": to_encoder(scored_set.confidence, t),
    }


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
    held_stages = stages(*held_models, held)
    target = metrics(held_stages.second[0.0], held)["accuracy"]
    chosen = {
        f"cascade, slack {slack}": (smallest_t_reaching(held_stages, held, target - slack), 0.0) for slack in SLACKS
    }
    chosen[f"cascade, best within {BUDGET:.0%} to the encoder"] = best_within_budget(held_stages, held, (0.0,))
    chosen[f"combined second stage, best within {BUDGET:.0%} to the encoder"] = best_within_budget(
        held_stages, held, WEIGHTS
    )
    report["holdout"] = {name: row(held_stages, held, t, w) for name, (t, w) in chosen.items()}
    test_stages = stages(*test_models, test)
    report["test"] = {
        "n-gram model": metrics(test_stages.ngram, test),
        "encoder model": metrics(test_stages.second[0.0], test),
    }
    report["test"].update({name: row(test_stages, test, t, w) for name, (t, w) in chosen.items()})
    print(json.dumps(_rounded(report), indent=2))


if __name__ == "__main__":
    main()
