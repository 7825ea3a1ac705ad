"""Study, not part of `make bench`: does fine-tuning the sentence encoder on the training labels lift banking77?

    python -m bench.finetune_study holdout [--trained all|top] [--epochs N] [--lr LR] [--seed S]
    python -m bench.finetune_study test --trained top --epochs 8 --lr 1e-3 --t joint:0.74,head:0.5,poe:0.76
    python -m bench.finetune_study seeds --trained top --epochs 8 --lr 1e-3 --seeds 20260,1,2

`holdout` fine-tunes on train_model's 80% of train.csv and scores its 20% holdout, choosing each cascade's t by the
budget rule of bench/cascade_study.py; `test` fine-tunes on all of train.csv and scores test.csv (run it ONCE per
configuration chosen on the holdout, with the t's the holdout chose); `seeds` fine-tunes once per seed on the
holdout split and scores, beside each seed's joint model, the joint model of the seeds' mean tuned tensors (a "soup":
one encoder to serve) and the mean of the seeds' joint probabilities (one encoder pass per seed).

It needs jax and optax: the `fine-tune` extra, which requirements/dev.lock pins (`make` installs them).

    PYTHONPATH=.:shared .venv/bin/python -m bench.finetune_study holdout --trained top --lr 1e-3 --epochs 8

The encoder's forward pass in jax and its training are `supportpilot.triage.fine_tuning`'s, which
`train --fine-tune` runs with the configuration chosen here (`--trained top --lr 1e-3 --epochs 8`): the jax forward
pass is checked against the numpy one first, then trained end to end with a linear head on its block (embedding +
layer 0 mean, as `train --encoder` uses), softmax cross-entropy, AdamW. Three second stages are scored, alone and in
a cascade after the n-gram model: the fine-tuned block in the joint n-gram + encoder LogisticRegression of
`train --encoder` (C = 20), the fine-tuned head alone, and the product of its probabilities with the n-gram model's.
~15 s an epoch on two cores.
Results: docs/architecture.md, "The sentence encoder block".
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from bench.static_study import LABELS, holdout_split, train_counts, train_rows
from bench.triage_bench import banking77_rows
from supportpilot.triage.fine_tuning import (
    TUNED_TENSORS,
    EncoderGraph,
    FineTuning,
    encoder_block,
    head_logits,
    token_rows,
    training_epochs,
)
from supportpilot.triage.linear_model import DEFAULT_BLOCKS, encoder_text, tokenise
from supportpilot.triage.sentence_encoder import installed_encoder
from supportpilot.triage.training import DEFAULT_C, DEFAULT_MIN_DF, DEFAULT_SEED, FittedPipeline, featurise

EVERY_MESSAGE_TO_THE_SECOND_STAGE = 2.0  # a t above any probability: the second stage alone


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def check_forward() -> None:
    encoder = installed_encoder()
    texts = [e.text for e in train_rows[:50]]
    ours = encoder_block(encoder, texts)
    theirs = encoder.encode([encoder_text(tokenise(t)) for t in texts], (0,))
    say(f"jax forward against numpy: max abs difference {np.abs(ours - theirs).max():.2e}")


def fitted_probabilities(fit_counts, fit_labels, fit_block, eval_counts, eval_block) -> tuple[np.ndarray, np.ndarray]:
    """The joint n-gram (+ encoder block, when given) LogisticRegression's classes and probabilities on eval rows."""
    pipeline = FittedPipeline(DEFAULT_BLOCKS, DEFAULT_MIN_DF, DEFAULT_C, DEFAULT_SEED)
    pipeline.fit(fit_counts, fit_labels, fit_block)
    return pipeline.classifier.classes_, pipeline.predict_proba(eval_counts, eval_block)


def joint_accuracy(fit_counts, fit_labels, fit_block, eval_counts, eval_labels, eval_block) -> tuple[float, int]:
    classes, probabilities = fitted_probabilities(fit_counts, fit_labels, fit_block, eval_counts, eval_block)
    right = int(np.sum(classes[np.argmax(probabilities, axis=1)] == np.asarray(eval_labels)))
    return right / len(eval_labels), right


BUDGET = 0.45  # as bench.cascade_study: at most this share to the second stage keeps the median at n-gram speed


def cascade_rows(ngram, joint, eval_labels, thresholds) -> list[dict]:
    """Per t: the n-gram model decides where its top probability is >= t, the fine-tuned joint model the rest."""
    (ngram_classes, ngram_p), (joint_classes, joint_p) = ngram, joint
    confidence = ngram_p.max(axis=1)
    first, second = ngram_classes[ngram_p.argmax(axis=1)], joint_classes[joint_p.argmax(axis=1)]
    truth = np.asarray(eval_labels)
    out = []
    for t in thresholds:
        decided = np.where(confidence >= t, first, second)
        right = int(np.sum(decided == truth))
        out.append(
            {"t": t, "accuracy": right / len(truth), "right": right, "to_encoder": float(np.mean(confidence < t))}
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["holdout", "test", "seeds"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=FineTuning.head_learning_rate)
    parser.add_argument("--dropout", type=float, default=FineTuning.dropout)
    parser.add_argument("--trained", choices=["all", "top"], default="all", help="top: layer 1 and the tanh layer")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="batch order, dropout")
    parser.add_argument(
        "--t", default="", help="test mode: each cascade's t chosen on the holdout, e.g. joint:0.74,head:0.6"
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seeds", default="", help="seeds mode: the seeds to fine-tune with, e.g. 20260,1,2")
    args = parser.parse_args(argv)
    if args.mode == "seeds":
        return seeds_study(args)
    check_forward()
    encoder = installed_encoder()
    graph = EncoderGraph(encoder)
    label_names = sorted(set(LABELS))
    texts = [e.text for e in train_rows]
    rows = token_rows(encoder, texts)
    counts = train_counts()
    if args.mode == "holdout":
        fit, held = holdout_split()
        fit_rows, fit_labels = [rows[i] for i in fit], list(LABELS[fit])
        eval_rows, eval_labels = [rows[i] for i in held], list(LABELS[held])
        fit_counts, eval_counts = [counts[i] for i in fit], [counts[i] for i in held]
    else:
        test = banking77_rows("test")
        fit_rows, fit_labels, fit_counts = rows, list(LABELS), counts
        eval_rows, eval_labels = token_rows(encoder, [e.text for e in test]), [e.label for e in test]
        eval_counts = featurise([e.text for e in test], DEFAULT_BLOCKS)
    frozen = graph.params()
    results = {"mode": args.mode, "args": vars(args)}
    ngram = fitted_probabilities(fit_counts, fit_labels, None, eval_counts, None)
    results["ngram"] = cascade_rows(ngram, ngram, eval_labels, [0.0])[0]
    say(f"n-gram model: {results['ngram']}")
    if not args.no_baseline:
        fit_block, eval_block = graph.features(frozen, fit_rows), graph.features(frozen, eval_rows)
        results["frozen_joint"] = joint_accuracy(
            fit_counts, fit_labels, fit_block, eval_counts, eval_labels, eval_block
        )
        say(f"frozen encoder, joint model: {results['frozen_joint']}")

    def head_accuracy(epoch) -> str:
        logits = np.asarray(head_logits(epoch.head, graph.features(epoch.params, eval_rows)))
        predicted = np.asarray(label_names)[np.argmax(logits, axis=1)]
        return f"head accuracy {np.mean(predicted == np.asarray(eval_labels)):.4f}"

    settings = FineTuning(
        epochs=args.epochs, learning_rate=args.lr, head_learning_rate=args.head_lr, dropout=args.dropout
    )
    trained = TUNED_TENSORS if args.trained == "top" else tuple(frozen)
    for tuned in training_epochs(graph, fit_rows, fit_labels, settings, args.seed, trained):
        say(f"{tuned.summary}, {head_accuracy(tuned)}" if args.mode == "holdout" else tuned.summary)
    tuned_fit, tuned_eval = graph.features(tuned.params, fit_rows), graph.features(tuned.params, eval_rows)
    logits = np.asarray(head_logits(tuned.head, tuned_eval))
    head_p = np.exp(logits - logits.max(axis=1, keepdims=True))
    head_p /= head_p.sum(axis=1, keepdims=True)
    poe_p = ngram[1] * head_p
    poe_p /= poe_p.sum(axis=1, keepdims=True)
    classes = np.asarray(label_names)
    assert list(ngram[0]) == label_names
    second_stages = {
        # the fine-tuned block in the joint n-gram + encoder LogisticRegression (as `train --encoder` serves it)
        "joint": fitted_probabilities(fit_counts, fit_labels, tuned_fit, eval_counts, tuned_eval),
        # the fine-tuned encoder's own head, alone and as a product with the n-gram model's probabilities
        "head": (classes, head_p),
        "poe": (classes, poe_p),
    }
    chosen_t = dict(part.split(":") for part in args.t.split(",")) if args.t else {}
    for name, second in second_stages.items():
        results[name] = cascade_rows(ngram, second, eval_labels, [EVERY_MESSAGE_TO_THE_SECOND_STAGE])[0]
        if args.mode == "holdout":
            rows_by_t = cascade_rows(ngram, second, eval_labels, [step / 50 for step in range(51)])
            within = [row for row in rows_by_t if row["to_encoder"] <= BUDGET]
            results[f"cascade_{name}"] = max(within, key=lambda row: (row["accuracy"], -row["t"]))
        elif name in chosen_t:
            results[f"cascade_{name}"] = cascade_rows(ngram, second, eval_labels, [float(chosen_t[name])])[0]
        say(f"{name}: alone {results[name]}, cascade {results.get(f'cascade_{name}')}")
    print(json.dumps(results))
    return 0


def budget_cascade(ngram, second, eval_labels) -> dict:
    rows_by_t = cascade_rows(ngram, second, eval_labels, [step / 50 for step in range(51)])
    return max((row for row in rows_by_t if row["to_encoder"] <= BUDGET), key=lambda row: (row["accuracy"], -row["t"]))


def seeds_study(args) -> int:
    encoder = installed_encoder()
    graph = EncoderGraph(encoder)
    rows = token_rows(encoder, [e.text for e in train_rows])
    counts = train_counts()
    fit, held = holdout_split()
    fit_rows, fit_labels = [rows[i] for i in fit], list(LABELS[fit])
    eval_rows, eval_labels = [rows[i] for i in held], list(LABELS[held])
    fit_counts, eval_counts = [counts[i] for i in fit], [counts[i] for i in held]
    ngram = fitted_probabilities(fit_counts, fit_labels, None, eval_counts, None)
    trained = TUNED_TENSORS if args.trained == "top" else tuple(graph.params())
    results: dict = {"mode": "seeds", "args": vars(args)}

    def joint(params):
        fit_block, eval_block = graph.features(params, fit_rows), graph.features(params, eval_rows)
        return fitted_probabilities(fit_counts, fit_labels, fit_block, eval_counts, eval_block)

    def score(name, second):
        results[name] = {
            "alone": cascade_rows(ngram, second, eval_labels, [EVERY_MESSAGE_TO_THE_SECOND_STAGE])[0],
            "cascade": budget_cascade(ngram, second, eval_labels),
        }
        say(f"{name}: {results[name]}")

    tuned_params, joints = [], []
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        settings = FineTuning(epochs=args.epochs, learning_rate=args.lr)
        for epoch in training_epochs(graph, fit_rows, fit_labels, settings, seed, trained):
            say(f"seed {seed}: {epoch.summary}")
        tuned_params.append(epoch.params)
        joints.append(joint(epoch.params))
        score(f"seed_{seed}", joints[-1])
        if len(tuned_params) > 1:
            soup = dict(epoch.params)
            for name in trained:
                soup[name] = sum(params[name] for params in tuned_params) / len(tuned_params)
            score(f"soup_of_{len(tuned_params)}", joint(soup))
            mean = sum(probabilities for _, probabilities in joints) / len(joints)
            score(f"ensemble_of_{len(joints)}", (joints[0][0], mean))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
