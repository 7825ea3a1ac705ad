"""Fine-tuning the sentence encoder on a model's labels (`supportpilot train --fine-tune`): training only.

The encoder's forward pass (`SentenceEncoder._encode_batch`) is written again in jax.numpy, up to the block a model
with the encoder reads (the unit embedding, then the unit mean of layer 0's states), and trained end to end with a
linear head on that block: softmax cross-entropy, AdamW with 10% warm-up then cosine decay, batches of 32 texts of
similar lengths, dropout in the FFN. Only layer 1 and the tanh layer learn (`TUNED_TENSORS`); the head is dropped,
and a model stores the tuned tensors for the numpy encoder to serve (`SentenceEncoder.with_tuned`). Training runs once
per seed and the tuned tensors are the runs' mean (a "soup"): one encoder to serve, with less of one run's luck in it.
The configuration is the one bench/finetune_study.py chose (docs/architecture.md, "The sentence encoder block").

jax and optax come with the `fine-tune` extra. This module imports without them, so that `require_fine_tuning()` can
say what to install; everything else here needs them.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from supportpilot.triage.linear_model import encoder_text, tokenise
from supportpilot.triage.sentence_encoder import EMBEDDING_SIZE, SentenceEncoder
from supportpilot.triage.training import DEFAULT_SEED, Progress

try:
    import jax
    import jax.numpy as jnp
    import optax
except ImportError as error:
    _missing: ImportError | None = error
else:
    _missing = None

# The encoder tensors fine-tuning trains: layer 1 and the tanh layer (the embeddings and layer 0 stay as they are).
TUNED_TENSORS: tuple[str, ...] = (
    *(
        f"layer_1/{name}"
        for name in (
            "attention_norm_scale",
            "attention_norm_bias",
            "qkv_kernel",
            "qkv_bias",
            "output_kernel",
            "output_bias",
            "ffn_norm_scale",
            "ffn_norm_bias",
            "ffn_inner_kernel",
            "ffn_inner_bias",
            "ffn_outer_kernel",
            "ffn_outer_bias",
        )
    ),
    "tanh_kernel",
    "tanh_bias",
)
BLOCK_WIDTH = 2 * EMBEDDING_SIZE  # the embedding, then the mean of layer 0's states
WIDTH_STEP = 8  # texts are padded to a multiple of this many tokens: few shapes for jax to compile
BATCH = 32
FEATURES_BATCH = 128
HEAD_SCALE = 20.0  # the block's rows are unit vectors: the head's logits need a scale to reach confident probabilities
CLIP_NORM = 1.0
WEIGHT_DECAY = 0.01


@dataclass(frozen=True)
class FineTuning:
    """How `fine_tune_encoder` trains; the defaults are the study's choice."""

    epochs: int = 8
    learning_rate: float = 1e-3
    head_learning_rate: float = 1e-2
    dropout: float = 0.1
    seeds: tuple[int, ...] = (DEFAULT_SEED, 1, 2)  # one run per seed (batch order and dropout), then their mean

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"fine-tuning needs at least one epoch, not {self.epochs}")
        if not self.seeds:
            raise ValueError("fine-tuning needs at least one seed")


def require_fine_tuning() -> None:
    """RuntimeError, saying what to install, when jax or optax is missing."""
    if _missing is not None:
        raise RuntimeError(
            f"fine-tuning needs jax and optax: pip install 'supportpilot[fine-tune]' (importing them: {_missing})"
        )


def fine_tune_encoder(
    encoder: SentenceEncoder,
    texts: Sequence[str],
    labels: Sequence[str],
    settings: FineTuning = FineTuning(),
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """The encoder's `TUNED_TENSORS` fine-tuned to tell `labels` apart from raw message `texts`, as float32 arrays of
    the encoder's shapes: the mean of one run per seed of `settings`; the same inputs and settings give the same
    arrays. jax compiles a training step for each padded text width it meets (up to 16, a few seconds each), mostly in
    each run's first epoch."""
    graph = EncoderGraph(encoder)
    rows = token_rows(encoder, texts)
    runs = []
    for number, seed in enumerate(settings.seeds, start=1):
        for epoch in training_epochs(graph, rows, labels, settings, seed):
            if progress:
                progress(f"fine-tuning the sentence encoder, run {number} of {len(settings.seeds)}: {epoch.summary}")
        runs.append(epoch.params)
    return {name: sum(np.asarray(run[name], dtype=np.float32) for run in runs) / len(runs) for name in TUNED_TENSORS}


def encoder_block(encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
    """The jax forward pass's block for raw message texts, (len(texts), BLOCK_WIDTH): what
    `encoder.encode([encoder_text(tokenise(text)) ...], (0,))` computes in numpy."""
    graph = EncoderGraph(encoder)
    return graph.features(graph.params(), token_rows(encoder, texts))


def token_rows(encoder: SentenceEncoder, texts: Sequence[str]) -> list[list[int]]:
    """The token ids the encoder reads for raw message texts, as served."""
    return [encoder.token_ids(encoder_text(tokenise(text)))[: encoder.max_length] for text in texts]


class EncoderGraph:
    """The encoder's forward pass in jax.numpy: its constants here, its tensors as `params()` (what training moves)."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        require_fine_tuning()
        constants = encoder.constants
        self.tensors = encoder.tensors
        self.heads = int(constants["num_heads"])
        layers = sum(name.startswith("query_scale_") for name in constants)
        self.query_scales = [float(constants[f"query_scale_{layer}"]) for layer in range(layers)]
        self.epsilon = float(constants["layer_norm_epsilon"])
        self.l2_epsilon = float(constants["l2_epsilon"])
        self.padding_bias = float(constants["padding_bias"])
        self.timing = jnp.asarray(encoder.timing_signal)
        self._block = jax.jit(self.block)

    def params(self) -> dict[str, Any]:
        """The encoder's tensors by name, as jax arrays; not `inv_timescales`, whose timing signal is a constant."""
        return {name: jnp.asarray(tensor) for name, tensor in self.tensors.items() if name != "inv_timescales"}

    def block(self, params, ids, mask, dropout_key=None, rate=0.0):
        """(texts, width) ids and mask -> (texts, BLOCK_WIDTH): the unit embedding, then the unit mean of layer 0's
        states; with `dropout_key`, dropout at `rate` in every FFN."""
        texts, width = ids.shape
        embedded = params["embeddings"][ids]
        hidden = embedded + (embedded + self.timing[:width])
        bias = ((1.0 - mask) * self.padding_bias)[:, None, None, :]
        states = []
        for number, query_scale in enumerate(self.query_scales):
            prefix = f"layer_{number}/"
            layer = {name.removeprefix(prefix): tensor for name, tensor in params.items() if name.startswith(prefix)}
            residual = (
                hidden @ layer["residual_kernel"] + layer["residual_bias"] if "residual_kernel" in layer else hidden
            )
            normed = self._layer_norm(hidden, layer["attention_norm_scale"], layer["attention_norm_bias"])
            qkv = normed @ layer["qkv_kernel"] + layer["qkv_bias"]
            heads = qkv.reshape(texts, width, 3, self.heads, -1).transpose(2, 0, 3, 1, 4)
            queries, keys, values = heads[0] * query_scale, heads[1], heads[2]
            weights = jax.nn.softmax(queries @ keys.transpose(0, 1, 3, 2) + bias, axis=-1)
            attended = (weights @ values).transpose(0, 2, 1, 3).reshape(texts, width, -1)
            hidden = attended @ layer["output_kernel"] + layer["output_bias"] + residual
            normed = self._layer_norm(hidden, layer["ffn_norm_scale"], layer["ffn_norm_bias"])
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
        return jnp.concatenate([self._unit(activations), self._unit(mean(states[0]))], axis=1)

    def features(self, params, rows: list[list[int]]) -> np.ndarray:
        """The block of these token rows with `params`, computed in batches of similar lengths."""
        order = sorted(range(len(rows)), key=lambda row: len(rows[row]))
        out = np.zeros((len(rows), BLOCK_WIDTH), dtype=np.float32)
        for first in range(0, len(order), FEATURES_BATCH):
            chunk = order[first : first + FEATURES_BATCH]
            ids, mask = padded([rows[row] for row in chunk])
            out[chunk] = np.asarray(self._block(params, ids, mask))
        return out

    def _layer_norm(self, hidden, scale, bias):
        centred = hidden - hidden.mean(axis=-1, keepdims=True)
        variance = (centred * centred).mean(axis=-1, keepdims=True)
        return scale * (1 / jnp.sqrt(variance + self.epsilon)) * centred + bias

    def _unit(self, rows):
        return rows / jnp.sqrt(jnp.maximum(jnp.sum(rows * rows, axis=-1, keepdims=True), self.l2_epsilon))


def padded(rows: list[list[int]]):
    """Token rows as (texts, width) ids and mask, width a multiple of WIDTH_STEP."""
    width = max(WIDTH_STEP, -(-max(len(row) for row in rows) // WIDTH_STEP) * WIDTH_STEP)
    ids = np.zeros((len(rows), width), dtype=np.int32)
    mask = np.zeros((len(rows), width), dtype=np.float32)
    for number, row in enumerate(rows):
        ids[number, : len(row)] = row
        mask[number, : len(row)] = 1
    return jnp.asarray(ids), jnp.asarray(mask)


def head_logits(head, features):
    return HEAD_SCALE * (features @ head["kernel"]) + head["bias"]


@dataclass(frozen=True)
class Epoch:
    """Where training is after an epoch: the encoder's params and the head (labels in sorted order)."""

    number: int
    loss: float
    seconds: float
    params: dict[str, Any]
    head: dict[str, Any]

    @property
    def summary(self) -> str:
        return f"epoch {self.number}: loss {self.loss:.4f} in {self.seconds:.0f} s"


def training_epochs(
    graph: EncoderGraph,
    rows: list[list[int]],
    labels: Sequence[str],
    settings: FineTuning,
    seed: int,
    trained: Collection[str] = TUNED_TENSORS,
) -> Iterator[Epoch]:
    """Trains the `trained` tensors of `graph.params()` and a linear head on the block of token `rows` to predict
    `labels`, with `seed` for batch order and dropout, and yields after each of `settings.epochs` epochs."""
    label_names = sorted(set(labels))
    params = graph.params()
    head = {"kernel": jnp.zeros((BLOCK_WIDTH, len(label_names))), "bias": jnp.zeros(len(label_names))}
    steps = settings.epochs * (-(-len(rows) // BATCH))
    schedule = optax.warmup_cosine_decay_schedule(0.0, 1.0, max(steps // 10, 1), steps)  # 10% warm-up
    optimiser = optax.multi_transform(
        {
            "encoder": optax.chain(
                optax.clip_by_global_norm(CLIP_NORM),
                optax.adamw(lambda step: settings.learning_rate * schedule(step), weight_decay=WEIGHT_DECAY),
            ),
            "head": optax.adamw(lambda step: settings.head_learning_rate * schedule(step), weight_decay=0.0),
            "frozen": optax.set_to_zero(),
        },
        {
            "encoder": {name: "encoder" if name in trained else "frozen" for name in params},
            "head": {name: "head" for name in head},
        },
    )
    everything = {"encoder": params, "head": head}
    state = optimiser.init(everything)

    def loss(everything, ids, mask, targets, key):
        logits = head_logits(everything["head"], graph.block(everything["encoder"], ids, mask, key, settings.dropout))
        return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()

    @jax.jit
    def step(everything, state, ids, mask, targets, key):
        value, grads = jax.value_and_grad(loss)(everything, ids, mask, targets, key)
        updates, state = optimiser.update(grads, state, everything)
        return optax.apply_updates(everything, updates), state, value

    index = {name: number for number, name in enumerate(label_names)}
    targets = np.array([index[label] for label in labels], dtype=np.int32)
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    for epoch in range(settings.epochs):
        # Batches of similar lengths (little padding), in a random order.
        order = rng.permutation(len(rows))
        order = sorted(order, key=lambda row: (len(rows[row]) // WIDTH_STEP, rng.random()))
        batches = [order[first : first + BATCH] for first in range(0, len(order), BATCH)]
        rng.shuffle(batches)
        losses = []
        started = time.perf_counter()
        for batch in batches:
            ids, mask = padded([rows[row] for row in batch])
            key, sub = jax.random.split(key)
            everything, state, value = step(everything, state, ids, mask, jnp.asarray(targets[batch]), sub)
            losses.append(float(value))
        seconds = time.perf_counter() - started
        yield Epoch(epoch + 1, float(np.mean(losses)), seconds, everything["encoder"], everything["head"])
