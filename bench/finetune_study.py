"""Study, not part of `make bench`: does fine-tuning the sentence encoder on the training labels lift banking77?

    python -m bench.finetune_study holdout [--trained all|top] [--epochs N] [--lr LR] [--seed S]
    python -m bench.finetune_study test --trained top --epochs 8 --lr 1e-3 --t joint:0.74,head:0.5,poe:0.76

`holdout` fine-tunes on train_model's 80% of train.csv and scores its 20% holdout, choosing each cascade's t by the
budget rule of bench/cascade_study.py; `test` fine-tunes on all of train.csv and scores test.csv (run it ONCE per
configuration chosen on the holdout, with the t's the holdout chose).

It needs jax and optax beside the project's packages, in an environment of its own (the served model stays numpy):

    python3.11 -m venv .venv-study
    .venv-study/bin/pip install -c requirements/dev.lock numpy scikit-learn pydantic
    .venv-study/bin/pip install jax==0.10.2 jaxlib==0.10.2 optax==0.2.8
    PYTHONPATH=.:shared .venv-study/bin/python -m bench.finetune_study holdout --trained top --lr 1e-3 --epochs 8

The encoder's forward pass (`SentenceEncoder._encode_batch`) is written again in jax.numpy, checked against the numpy
one, and trained end to end with a linear head on its block (embedding + layer 0 mean, as `train --encoder` uses),
softmax cross-entropy, AdamW. Three second stages are scored, alone and in a cascade after the n-gram model: the
fine-tuned block in the joint n-gram + encoder LogisticRegression of `train --encoder` (C = 20), the fine-tuned head
alone, and the product of its probabilities with the n-gram model's. ~15 s an epoch on two cores.
Results: docs/architecture.md, "The sentence encoder block".
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from bench.static_study import LABELS, holdout_split, train_counts, train_rows
from bench.triage_bench import banking77_rows
from supportpilot.triage.linear_model import DEFAULT_BLOCKS, encoder_text, tokenise
from supportpilot.triage.sentence_encoder import installed_encoder
from supportpilot.triage.training import DEFAULT_C, DEFAULT_MIN_DF, DEFAULT_SEED, FittedPipeline, featurise

WIDTH_STEP = 8
BATCH = 32
HEAD_SCALE = 20.0  # the block's rows are unit vectors: the head's logits need a scale to reach confident probabilities
EVERY_MESSAGE_TO_THE_SECOND_STAGE = 2.0  # a t above any probability: the second stage alone


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


ENCODER = installed_encoder()


def initial_params() -> dict:
    layers = [{name: jnp.asarray(t) for name, t in layer.items() if name != "query_scale"} for layer in ENCODER._layers]
    return {
        "embeddings": jnp.asarray(ENCODER._embeddings),
        "layers": layers,
        "tanh_kernel": jnp.asarray(ENCODER._tanh_kernel),
        "tanh_bias": jnp.asarray(ENCODER._tanh_bias),
    }


QUERY_SCALES = [float(layer["query_scale"]) for layer in ENCODER._layers]
HEADS = ENCODER._num_heads
TIMING = jnp.asarray(ENCODER._timing_signal)
EPS = float(ENCODER._epsilon)
L2_EPS = float(ENCODER._l2_epsilon)
PAD_BIAS = float(ENCODER._padding_bias)


def _layer_norm(hidden, scale, bias):
    centred = hidden - hidden.mean(axis=-1, keepdims=True)
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return scale * (1 / jnp.sqrt(variance + EPS)) * centred + bias


def _unit(rows):
    return rows / jnp.sqrt(jnp.maximum(jnp.sum(rows * rows, axis=-1, keepdims=True), L2_EPS))


def block(params, ids, mask, dropout_key=None, rate=0.0):
    """(texts, width) ids and mask -> (texts, 1024): the unit embedding, then the unit mean of layer 0's states."""
    texts, width = ids.shape
    embedded = params["embeddings"][ids]
    hidden = embedded + (embedded + TIMING[:width])
    bias = ((1.0 - mask) * PAD_BIAS)[:, None, None, :]
    states = []
    for number, layer in enumerate(params["layers"]):
        residual = hidden @ layer["residual_kernel"] + layer["residual_bias"] if "residual_kernel" in layer else hidden
        normed = _layer_norm(hidden, layer["attention_norm_scale"], layer["attention_norm_bias"])
        qkv = normed @ layer["qkv_kernel"] + layer["qkv_bias"]
        heads = qkv.reshape(texts, width, 3, HEADS, -1).transpose(2, 0, 3, 1, 4)
        queries, keys, values = heads[0] * QUERY_SCALES[number], heads[1], heads[2]
        weights = jax.nn.softmax(queries @ keys.transpose(0, 1, 3, 2) + bias, axis=-1)
        attended = (weights @ values).transpose(0, 2, 1, 3).reshape(texts, width, -1)
        hidden = attended @ layer["output_kernel"] + layer["output_bias"] + residual
        normed = _layer_norm(hidden, layer["ffn_norm_scale"], layer["ffn_norm_bias"])
        inner = jax.nn.relu(normed @ layer["ffn_inner_kernel"] + layer["ffn_inner_bias"])
        if dropout_key is not None and rate:
            dropout_key, sub = jax.random.split(dropout_key)
            inner = inner * jax.random.bernoulli(sub, 1 - rate, inner.shape) / (1 - rate)
        hidden = inner @ layer["ffn_outer_kernel"] + layer["ffn_outer_bias"] + hidden
        states.append(hidden)
    lengths = jnp.maximum(mask.sum(axis=1, keepdims=True), 1.0)

    def mean(values):
        return (values * mask[:, :, None]).sum(axis=1) / lengths

    activations = jnp.tanh(mean(hidden) @ params["tanh_kernel"] + params["tanh_bias"])
    return jnp.concatenate([_unit(activations), _unit(mean(states[0]))], axis=1)


block_jit = jax.jit(block)


def token_ids(texts) -> list[list[int]]:
    return [ENCODER.token_ids(encoder_text(tokenise(text)))[: ENCODER._max_length] for text in texts]


def padded(rows: list[list[int]]):
    width = max(WIDTH_STEP, -(-max(len(r) for r in rows) // WIDTH_STEP) * WIDTH_STEP)
    ids = np.zeros((len(rows), width), dtype=np.int32)
    mask = np.zeros((len(rows), width), dtype=np.float32)
    for number, row in enumerate(rows):
        ids[number, : len(row)] = row
        mask[number, : len(row)] = 1
    return jnp.asarray(ids), jnp.asarray(mask)


def features(params, rows: list[list[int]]) -> np.ndarray:
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    out = np.zeros((len(rows), 1024), dtype=np.float32)
    for first in range(0, len(order), 128):
        chunk = order[first : first + 128]
        ids, mask = padded([rows[i] for i in chunk])
        out[chunk] = np.asarray(block_jit(params, ids, mask))
    return out


def check_forward() -> None:
    texts = [e.text for e in train_rows[:50]]
    ours = features(initial_params(), token_ids(texts))
    theirs = ENCODER.encode([encoder_text(tokenise(t)) for t in texts], (0,))
    say(f"jax forward against numpy: max abs difference {np.abs(ours - theirs).max():.2e}")


def trainable_labels(params, trained: str) -> dict:
    """Which encoder tensors learn: `all`, or `top` (layer 1 and the tanh layer; the embeddings and layer 0 stay)."""
    if trained == "all":
        return jax.tree_util.tree_map(lambda _: "encoder", params)
    return {
        "embeddings": "frozen",
        "layers": [jax.tree_util.tree_map(lambda _: "frozen", params["layers"][0])]
        + [jax.tree_util.tree_map(lambda _: "encoder", layer) for layer in params["layers"][1:]],
        "tanh_kernel": "encoder",
        "tanh_bias": "encoder",
    }


def head_logits(head, feats):
    return HEAD_SCALE * (feats @ head["kernel"]) + head["bias"]


def fine_tune(params, rows, labels, label_names, epochs, lr, head_lr, rate, seed, trained="all", evaluate=None):
    classes = len(label_names)
    head = {"kernel": jnp.zeros((1024, classes)), "bias": jnp.zeros(classes)}
    everything = {"encoder": params, "head": head}
    steps = epochs * (-(-len(rows) // BATCH))
    schedule = optax.warmup_cosine_decay_schedule(0.0, 1.0, max(steps // 10, 1), steps)
    optimiser = optax.multi_transform(
        {
            "encoder": optax.chain(
                optax.clip_by_global_norm(1.0), optax.adamw(lambda s: lr * schedule(s), weight_decay=0.01)
            ),
            "head": optax.adamw(lambda s: head_lr * schedule(s), weight_decay=0.0),
            "frozen": optax.set_to_zero(),
        },
        {"encoder": trainable_labels(params, trained), "head": jax.tree_util.tree_map(lambda _: "head", head)},
    )
    state = optimiser.init(everything)

    def loss(everything, ids, mask, targets, key):
        logits = head_logits(everything["head"], block(everything["encoder"], ids, mask, key, rate))
        return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

    @jax.jit
    def step(everything, state, ids, mask, targets, key):
        value, grads = jax.value_and_grad(loss)(everything, ids, mask, targets, key)
        updates, state = optimiser.update(grads, state, everything)
        return optax.apply_updates(everything, updates), state, value

    index = {name: number for number, name in enumerate(label_names)}
    targets_all = np.array([index[label] for label in labels], dtype=np.int32)
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    for epoch in range(epochs):
        # Batches of similar lengths (little padding), in a random order.
        order = rng.permutation(len(rows))
        order = sorted(order, key=lambda i: (len(rows[i]) // WIDTH_STEP, rng.random()))
        batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
        rng.shuffle(batches)
        losses = []
        started = time.time()
        for batch in batches:
            ids, mask = padded([rows[i] for i in batch])
            key, sub = jax.random.split(key)
            everything, state, value = step(everything, state, ids, mask, jnp.asarray(targets_all[batch]), sub)
            losses.append(float(value))
        message = f"epoch {epoch + 1}: loss {np.mean(losses):.4f} in {time.time() - started:.0f} s"
        if evaluate is not None:
            message += f", {evaluate(everything)}"
        say(message)
    return everything


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
    parser.add_argument("mode", choices=["holdout", "test"])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=1e-2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--trained", choices=["all", "top"], default="all")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="batch order, dropout")
    parser.add_argument(
        "--t", default="", help="test mode: each cascade's t chosen on the holdout, e.g. joint:0.74,head:0.6"
    )
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    check_forward()
    label_names = sorted(set(LABELS))
    texts = [e.text for e in train_rows]
    rows = token_ids(texts)
    counts = train_counts()
    if args.mode == "holdout":
        fit, held = holdout_split()
        fit_rows, fit_labels = [rows[i] for i in fit], list(LABELS[fit])
        eval_rows, eval_labels = [rows[i] for i in held], list(LABELS[held])
        fit_counts, eval_counts = [counts[i] for i in fit], [counts[i] for i in held]
    else:
        test = banking77_rows("test")
        fit_rows, fit_labels, fit_counts = rows, list(LABELS), counts
        eval_rows, eval_labels = token_ids([e.text for e in test]), [e.label for e in test]
        eval_counts = featurise([e.text for e in test], DEFAULT_BLOCKS)
    frozen = initial_params()
    results = {"mode": args.mode, "args": vars(args)}
    ngram = fitted_probabilities(fit_counts, fit_labels, None, eval_counts, None)
    results["ngram"] = cascade_rows(ngram, ngram, eval_labels, [0.0])[0]
    say(f"n-gram model: {results['ngram']}")
    if not args.no_baseline:
        results["frozen_joint"] = joint_accuracy(
            fit_counts, fit_labels, features(frozen, fit_rows), eval_counts, eval_labels, features(frozen, eval_rows)
        )
        say(f"frozen encoder, joint model: {results['frozen_joint']}")

    def evaluate(everything):
        logits = np.asarray(head_logits(everything["head"], features(everything["encoder"], eval_rows)))
        predicted = np.asarray(label_names)[np.argmax(logits, axis=1)]
        return f"head accuracy {np.mean(predicted == np.asarray(eval_labels)):.4f}"

    tuned = fine_tune(
        frozen,
        fit_rows,
        fit_labels,
        label_names,
        args.epochs,
        args.lr,
        args.head_lr,
        args.dropout,
        args.seed,
        args.trained,
        evaluate if args.mode == "holdout" else None,
    )
    tuned_fit, tuned_eval = features(tuned["encoder"], fit_rows), features(tuned["encoder"], eval_rows)
    logits = np.asarray(head_logits(tuned["head"], tuned_eval))
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


if __name__ == "__main__":
    raise SystemExit(main())
