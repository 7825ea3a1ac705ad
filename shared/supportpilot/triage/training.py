"""Train and evaluate the linear triage model. scikit-learn, numpy and scipy are needed here only.

Hashed word and char_wb n-grams (see `linear_model`) -> sublinear TF-IDF per block, L2 -> multinomial
LogisticRegression. A stratified holdout gives the reported metrics and the novelty threshold: the
energy (log-sum-exp of the in-scope scores; it separates unknown topics better than the top probability)
that keeps ~95% of in-scope holdout messages (`novelty_threshold`). Rows labelled `out_of_scope` train a
class of their own (half of them; the other half measures the out-of-scope recall): a message that class
wins, or whose energy is below the threshold, goes to a person as out of scope.

Parameters are rounded to float32 before they are measured and exported, so scikit-learn and the
pure-Python scorer use the very same numbers; `float32_max_proba_change` in the metrics records what
that rounding moved.

`python -m supportpilot.triage.training --corpus corpus --out DIR` trains from every
`seed_*.jsonl` in a corpus directory (what `make model` runs).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import random
import shutil
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from supportpilot.csv_header import delimiter_for
from supportpilot.triage.interface import OUT_OF_SCOPE
from supportpilot.triage.linear_model import (
    CASCADE,
    DEFAULT_BLOCKS,
    ENCODER_LAYER_MEANS,
    ENERGY,
    MODEL_FILE,
    SECOND_STAGE_PREFIX,
    TOKENISER_REVISION,
    CascadeModel,
    Decision,
    Encoder,
    FeatureBlock,
    LinearModel,
    encoder_text,
    hashed_counts,
    tokenise,
)

Progress = Callable[[str], None]

DEFAULT_NAME = "supportpilot-linear"
DEFAULT_HOLDOUT = 0.2
DEFAULT_SEED = 20260
DEFAULT_C = 20.0
DEFAULT_MIN_DF = 2
IN_SCOPE_KEPT = 0.95
OUT_OF_SCOPE_HOLDOUT = 0.5
PROGRESS_EVERY = 5_000
ENCODER_BATCH = 64
# With an encoder: the mean of its first transformer layer's states joins the embedding (chosen by 5-fold
# cross-validation on banking77's train.csv; docs/architecture.md, "The sentence encoder block").
DEFAULT_ENCODER_LAYER_MEANS = (0,)
CORPUS_PATTERN = "seed_*.jsonl"


class TrainingError(ValueError):
    """Bad training input or output location; the message names the problem and never quotes row text."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    language: str | None = None


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TrainingError(f"data file not found: {path}") from None
    except IsADirectoryError:
        raise TrainingError(f"data file is a directory: {path}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TrainingError(f"{path} is not UTF-8 text (undecodable byte at offset {error.start})") from None


def _json_rows(path: Path, text: str, strict: bool) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            if strict:
                raise TrainingError(f"{path} line {number}: not a JSON object")
            continue  # a corpus file still being written may end in a partial line
        rows.append(row)
    return rows


def _csv_rows(path: Path, text: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    delimiter = delimiter_for(text.partition("\n")[0], columns)
    try:
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise TrainingError(f"{path}: not valid CSV ({error})") from None


def read_examples(
    path: str | Path, text_column: str, label_column: str, *, strict: bool = True, language_column: str = "language"
) -> list[Example]:
    """Rows of a CSV or JSONL file as examples; raises TrainingError on anything a model cannot be trained from."""
    path = Path(path)
    text = _decode(path)
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(path, text, (text_column, label_column))
    else:
        rows = _json_rows(path, text, strict)
    if not rows:
        raise TrainingError(f"{path} holds no rows")
    for column in (text_column, label_column):
        if column not in rows[0]:
            available = ", ".join(sorted(str(key) for key in rows[0])) or "none"
            raise TrainingError(f"{path}: column {column!r} not found (columns: {available})")
    examples = []
    for number, row in enumerate(rows, start=1):
        text_value, label_value = row.get(text_column), row.get(label_column)
        if text_value is not None and not isinstance(text_value, str):
            kind = type(text_value).__name__
            raise TrainingError(f"{path} row {number}: column {text_column!r} is not text ({kind})")
        if not text_value or not text_value.strip():
            raise TrainingError(f"{path} row {number}: empty text in column {text_column!r}")
        if label_value is None or not str(label_value).strip():
            raise TrainingError(f"{path} row {number}: empty label in column {label_column!r}")
        language = row.get(language_column)
        examples.append(Example(text_value, str(label_value).strip(), language if isinstance(language, str) else None))
    return examples


def read_corpus(directory: str | Path) -> list[Example]:
    """Every `seed_*.jsonl` of a corpus directory, in name order; partial last lines are skipped."""
    files = sorted(Path(directory).glob(CORPUS_PATTERN))
    if not files:
        raise TrainingError(f"no {CORPUS_PATTERN} files in {directory}")
    return [example for file in files for example in read_examples(file, "text", "label", strict=False)]


def check_labels(examples: Sequence[Example]) -> list[str]:
    labels = sorted({example.label for example in examples if example.label != OUT_OF_SCOPE})
    if len(labels) < 2:
        raise TrainingError(f"need at least two labels to train (found {len(labels)}: {', '.join(labels) or 'none'})")
    return labels


def split_holdout(examples: Sequence[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Stratified split: per label, a seeded shuffle and `fraction` to the holdout (half of the `out_of_scope`
    rows, which measure the novelty threshold); every label keeps a training row."""
    by_label: dict[str, list[Example]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not a secret
    train, holdout = [], []
    for label in sorted(by_label):
        group = list(by_label[label])
        rng.shuffle(group)
        share = OUT_OF_SCOPE_HOLDOUT if label == OUT_OF_SCOPE else fraction
        size = min(round(len(group) * share), len(group) - 1)
        holdout += group[:size]
        train += group[size:]
    return train, holdout


def featurise(texts: Sequence[str], blocks: Sequence[FeatureBlock], progress: Progress | None = None) -> list:
    counts = []
    for number, text in enumerate(texts, start=1):
        counts.append(hashed_counts(text, blocks))
        if progress and number % PROGRESS_EVERY == 0:
            progress(f"featurised {number}/{len(texts)} rows")
    return counts


def embed(texts: Sequence[str], encoder: Encoder, progress: Progress | None = None, layer_means: Sequence[int] = ()):
    """The sentence encoder's rows for raw texts, in batches, as the served model computes them one by one."""
    import numpy as np

    rows = []
    for start in range(0, len(texts), ENCODER_BATCH):
        batch = texts[start : start + ENCODER_BATCH]
        rows.append(encoder.encode([encoder_text(tokenise(text)) for text in batch], tuple(layer_means)))
        done = start + len(batch)
        if progress and (done // PROGRESS_EVERY > start // PROGRESS_EVERY or done == len(texts)):
            progress(f"encoded {done}/{len(texts)} rows")
    return np.vstack(rows).astype(np.float64) if rows else np.zeros((0, 0))


class FittedPipeline:
    """The scikit-learn side: kept buckets per block, one TfidfTransformer per block, the classifier."""

    def __init__(self, blocks: Sequence[FeatureBlock], min_df: int, c: float, seed: int):
        self.blocks, self.min_df, self.c, self.seed = tuple(blocks), min_df, c, seed

    def fit(self, counts: list, labels: Sequence[str], embeddings=None) -> FittedPipeline:
        import numpy as np
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        self.kept = []
        for block in range(len(self.blocks)):
            df = Counter(index for row in counts for index in row[block])
            self.kept.append(sorted(index for index, seen in df.items() if seen >= self.min_df))
        self.columns = [{index: column for column, index in enumerate(kept)} for kept in self.kept]
        self.tfidfs = []
        for block in range(len(self.blocks)):
            tfidf = TfidfTransformer(sublinear_tf=True, norm="l2").fit(self._counts_matrix(counts, block))
            tfidf.idf_ = tfidf.idf_.astype(np.float32).astype(np.float64)
            self.tfidfs.append(tfidf)
        self.classifier = LogisticRegression(C=self.c, max_iter=2000, random_state=self.seed)
        # BLAS sums in another order with each thread count, which moved weights in the 7th digit: with one thread
        # the same data gives the same model whatever OPENBLAS_NUM_THREADS says (on the same CPU and libraries).
        with threadpool_limits(limits=1, user_api="blas"):
            self.classifier.fit(self.transform(counts, embeddings), list(labels))
        return self

    def round_to_float32(self) -> None:
        import numpy as np

        self.classifier.coef_ = self.classifier.coef_.astype(np.float32).astype(np.float64)
        self.classifier.intercept_ = self.classifier.intercept_.astype(np.float32).astype(np.float64)

    def _counts_matrix(self, counts: list, block: int):
        from scipy.sparse import csr_matrix

        columns = self.columns[block]
        indptr, indices, data = [0], [], []
        for row in counts:
            kept = sorted((columns[index], count) for index, count in row[block].items() if index in columns)
            indices += [column for column, _ in kept]
            data += [float(count) for _, count in kept]
            indptr.append(len(indices))
        return csr_matrix((data, indices, indptr), shape=(len(counts), len(columns)), dtype=float)

    def transform(self, counts: list, embeddings=None):
        """The classifier's input: the TF-IDF blocks, then the sentence encoder's rows when there are any."""
        from scipy.sparse import csr_matrix, hstack

        parts = [tfidf.transform(self._counts_matrix(counts, block)) for block, tfidf in enumerate(self.tfidfs)]
        if embeddings is not None:
            parts.append(csr_matrix(embeddings))
        return hstack(parts, format="csr")

    def predict_proba(self, counts: list, embeddings=None):
        return self.classifier.predict_proba(self.transform(counts, embeddings))

    def export(self, meta: dict[str, Any], threshold: float, encoder: Encoder | None = None) -> LinearModel:
        """The served model; with `encoder` (the one the embeddings came from), the columns after the TF-IDF
        blocks become its encoder block."""
        import numpy as np

        coef, intercept = self.classifier.coef_, self.classifier.intercept_
        if coef.shape[0] == 1:  # binary: softmax([0, d]) equals scikit-learn's [1 - sigmoid(d), sigmoid(d)]
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        features = np.concatenate([np.asarray(kept, dtype=np.int64) for kept in self.kept])  # global, ascending
        idf = np.concatenate([tfidf.idf_ for tfidf in self.tfidfs])
        coef, encoder_coef = coef[:, : len(features)], coef[:, len(features) :]
        return LinearModel(
            meta=meta,
            labels=[str(label) for label in self.classifier.classes_],
            blocks=self.blocks,
            features=_array("I", features.astype("<u4")),
            idf=_array("f", idf.astype("<f4")),
            coef=_array("f", np.ascontiguousarray(coef.T, dtype="<f4")),
            intercept=[float(value) for value in intercept],
            threshold=threshold,
            encoder_coef=_array("f", np.ascontiguousarray(encoder_coef.T, dtype="<f4")) if encoder else None,
            encoder=encoder,
        )


def _array(typecode: str, values) -> Any:
    from array import array

    result = array(typecode)
    result.frombytes(values.tobytes())
    if sys.byteorder == "big":
        result.byteswap()
    return result


def novelty_threshold(scores: Sequence[float], keep: float = IN_SCOPE_KEPT) -> float:
    """A threshold that keeps at least `keep` of these in-scope messages' novelty scores: halfway between the
    lowest kept score and the next one down, so that the message with the lowest kept score still passes when the
    served model recomputes its score a rounding error lower (pure Python against numpy: ~1e-13)."""
    ranked = sorted(scores, reverse=True)
    kept = min(len(ranked), max(1, math.ceil(round(keep * len(ranked), 9))))
    lowest_kept = ranked[kept - 1]
    if kept < len(ranked) and math.isfinite(ranked[kept]):
        return float((lowest_kept + ranked[kept]) / 2)
    return float(lowest_kept)


def data_digest(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.label}\x1f{example.text}\x1e".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def data_counts(examples: Sequence[Example]) -> dict[str, Any]:
    return {
        "rows": len(examples),
        "per_label": dict(sorted(Counter(example.label for example in examples).items())),
        "per_language": dict(sorted(Counter(example.language or "unknown" for example in examples).items())),
    }


def train_model(
    examples: Sequence[Example],
    *,
    name: str = DEFAULT_NAME,
    holdout: float = DEFAULT_HOLDOUT,
    seed: int = DEFAULT_SEED,
    c: float = DEFAULT_C,
    min_df: int = DEFAULT_MIN_DF,
    blocks: Sequence[FeatureBlock] = DEFAULT_BLOCKS,
    validation: Sequence[Example] | None = None,
    refit: bool = False,
    encoder: Encoder | None = None,
    encoder_layer_means: Sequence[int] = DEFAULT_ENCODER_LAYER_MEANS,
    progress: Progress | None = None,
) -> LinearModel:
    """Fit on the training part, calibrate the novelty threshold and measure on the holdout, export.

    With `encoder`, the sentence encoder's embedding of each text, followed by the mean states of its
    `encoder_layer_means` layers, is one more feature block (see `linear_model`): the model then needs that
    same encoder wherever it is served.

    With `validation` (an official validation split), all `examples` train and the validation rows
    give the threshold and the metrics instead of a holdout. With `refit`, the exported model is fitted
    again, same settings and threshold, on training and holdout rows together: more data, but the
    metrics then describe its slightly smaller sibling.
    """

    if not 0 < holdout < 1:
        raise TrainingError("holdout must be a fraction between 0 and 1")
    check_labels(examples)
    train, held = split_holdout(examples, holdout, seed) if validation is None else (list(examples), list(validation))
    in_scope_held = [example for example in held if example.label != OUT_OF_SCOPE]
    if not in_scope_held:
        raise TrainingError("too few rows for a holdout: need at least two rows of some label")
    say = progress or (lambda _: None)
    say(f"featurising {len(train)} training and {len(held)} holdout rows")
    train_counts = featurise([example.text for example in train], blocks, progress)
    held_counts = featurise([example.text for example in held], blocks, progress)
    train_embeddings = held_embeddings = None
    if encoder is not None:
        say(f"encoding {len(train) + len(held)} rows with the sentence encoder")
        train_embeddings = embed([example.text for example in train], encoder, progress, encoder_layer_means)
        held_embeddings = embed([example.text for example in held], encoder, progress, encoder_layer_means)
    say("fitting")
    labels = [example.label for example in train]
    pipeline = FittedPipeline(blocks, min_df, c, seed).fit(train_counts, labels, train_embeddings)
    metrics, threshold = _measure(pipeline, held, held_counts, held_embeddings)
    meta = {
        "name": name,
        "version": f"{TOKENISER_REVISION}.{data_digest(examples)[:12]}",
        "features": {
            "tokeniser_revision": TOKENISER_REVISION,
            "normalise": "<name> <title> <pronoun> <relative> (triage/neutral.py), own text of mails, fold_text, "
            "<url> <email> <amount> <order> <num>",
            "hash": "crc32(utf-8 n-gram, block number) % buckets",
            "tf": "1 + ln(count)",
            "norm": "l2 per block",
            "min_df": min_df,
        },
        "training": {
            "seed": seed,
            "holdout": holdout if validation is None else "validation split",
            "classifier": f"LogisticRegression(C={c}, lbfgs, multinomial)",
            "c": c,
            "out_of_scope_class": any(example.label == OUT_OF_SCOPE for example in train),
            "data": data_counts(examples),
            "trained_on": data_counts(train + held if refit else train),
            "refit_on_holdout": refit,
        },
        "novelty": {"score": ENERGY, "keeps": IN_SCOPE_KEPT},
        "metrics": metrics,
    }
    if encoder is not None:
        meta["encoder"] = encoder.spec
        meta[ENCODER_LAYER_MEANS] = list(encoder_layer_means)
    say(f"holdout accuracy {metrics['accuracy']:.3f}, macro F1 {metrics['macro_f1']:.3f}")
    if refit:
        say("refitting on all rows")
        every = [example.label for example in train + held]
        embeddings = None if encoder is None else _stack(train_embeddings, held_embeddings)
        pipeline = FittedPipeline(blocks, min_df, c, seed).fit(train_counts + held_counts, every, embeddings)
        pipeline.round_to_float32()
    return pipeline.export(meta, threshold, encoder)


def refitted(model: LinearModel, examples: Sequence[Example], encoder: Encoder | None = None) -> LinearModel:
    """`model` fitted again on every example with its settings, threshold and metrics (as `train_model`'s `refit`);
    its encoder block from `encoder`, which may differ from the model's (a fine-tuned one tuned on every example)."""
    training = model.meta["training"]
    embeddings = None
    if encoder is not None:
        embeddings = embed([example.text for example in examples], encoder, None, model.meta[ENCODER_LAYER_MEANS])
    counts = featurise([example.text for example in examples], model.blocks)
    pipeline = FittedPipeline(model.blocks, model.meta["features"]["min_df"], training["c"], training["seed"])
    pipeline.fit(counts, [example.label for example in examples], embeddings)
    pipeline.round_to_float32()
    meta = {**model.meta, "training": {**training, "trained_on": data_counts(examples), "refit_on_holdout": True}}
    if encoder is not None:
        meta["encoder"] = encoder.spec
    return pipeline.export(meta, model.threshold, encoder)


# The cascade's t: at most this share of the holdout goes to the second stage, so that the median message costs what
# the n-gram model costs (chosen in bench/cascade_study.py; docs/architecture.md, "The sentence encoder block").
SECOND_STAGE_BUDGET = 0.45
CASCADE_STEPS = 50


class Tuner(Protocol):
    """`fine_tuning.fine_tune_encoder`: fine-tuned tensors of `encoder` for these texts and labels."""

    def __call__(
        self, encoder: Any, texts: Sequence[str], labels: Sequence[str], *, progress: Progress | None
    ) -> Any: ...


def fine_tuner() -> Tuner:
    """`fine_tuning.fine_tune_encoder`; TrainingError, saying what to install, when jax or optax is missing."""
    from supportpilot.triage import fine_tuning  # it imports this module

    try:
        fine_tuning.require_fine_tuning()
    except RuntimeError as error:
        raise TrainingError(str(error)) from None
    return fine_tuning.fine_tune_encoder


def train_cascade(
    examples: Sequence[Example],
    *,
    encoder: Encoder,
    tune: Tuner,
    holdout: float = DEFAULT_HOLDOUT,
    seed: int = DEFAULT_SEED,
    validation: Sequence[Example] | None = None,
    refit: bool = False,
    progress: Progress | None = None,
    **options: Any,
) -> CascadeModel:
    """The n-gram model, then a model with the encoder fine-tuned by `tune` (`encoder.with_tuned`) for the messages
    the n-gram model is least sure of: t is the confidence below which a message goes to the second stage, chosen
    on the holdout (`cascade_threshold`). With `refit`, both stages are fitted again on every row, the encoder
    tuned again on every row, keeping t and the thresholds measured on the holdout."""
    say = progress or (lambda _: None)
    if not 0 < holdout < 1:
        raise TrainingError("holdout must be a fraction between 0 and 1")
    check_labels(examples)
    train, held = split_holdout(examples, holdout, seed) if validation is None else (list(examples), list(validation))
    split = {"holdout": holdout, "seed": seed, "validation": validation, "progress": progress, **options}
    say(f"fine-tuning the sentence encoder on {len(train)} training rows")
    tuned = encoder.with_tuned(tune(encoder, [e.text for e in train], [e.label for e in train], progress=progress))
    say("the first stage: the n-gram model")
    first = train_model(examples, **split)
    say("the second stage: the n-gram model with the fine-tuned encoder's block")
    second = train_model(examples, encoder=tuned, **split)
    below, chosen = cascade_threshold(first, second, held)
    say(f"the cascade: below {below} to the second stage: {chosen}")
    if refit:
        every = train + held
        say(f"fine-tuning the sentence encoder again on all {len(every)} rows")
        tuned = encoder.with_tuned(tune(encoder, [e.text for e in every], [e.label for e in every], progress=progress))
        say("refitting both stages on all rows")
        first, second = refitted(first, every), refitted(second, every, tuned)
    first.meta[CASCADE] = {"below": below, "second_stage": SECOND_STAGE_PREFIX, **chosen}
    return CascadeModel(first, second=second)


def cascade_threshold(first: LinearModel, second: LinearModel, held: Sequence[Example]) -> tuple[float, dict[str, Any]]:
    """The cascade's t, on the holdout: of the t's in steps of 1/CASCADE_STEPS that send at most
    SECOND_STAGE_BUDGET of the rows to the second stage, the one with the most rows right (the right label, or for
    an out-of-scope row a rejection); ties: the smaller t. Decisions as served."""
    firsts = [first.decide(example.text) for example in held]
    seconds = [second.decide(example.text) for example in held]
    right_first = [_is_right(decision, example) for decision, example in zip(firsts, held, strict=True)]
    right_second = [_is_right(decision, example) for decision, example in zip(seconds, held, strict=True)]
    best: tuple[int, float, float] | None = None
    for step in range(CASCADE_STEPS + 1):
        below = step / CASCADE_STEPS
        to_second = [decision.confidence < below for decision in firsts]
        share = sum(to_second) / len(held)
        if share > SECOND_STAGE_BUDGET:
            break
        right = sum(two if go else one for go, one, two in zip(to_second, right_first, right_second, strict=True))
        if best is None or right > best[0]:
            best = (right, below, share)
    assert best is not None  # t = 0 sends nothing to the second stage
    right, below, share = best
    return below, {
        "chosen_on": f"{len(held)} holdout rows",
        "budget": SECOND_STAGE_BUDGET,
        "holdout_to_second_stage": share,
        "holdout_accuracy": right / len(held),
        "holdout_accuracy_first_stage": sum(right_first) / len(held),
        "holdout_accuracy_second_stage": sum(right_second) / len(held),
    }


def _is_right(decision: Decision, example: Example) -> bool:
    if example.label == OUT_OF_SCOPE:
        return decision.rejected is not None
    return decision.label == example.label


def _stack(*parts):
    import numpy as np

    return np.vstack(parts)


def _measure(
    pipeline: FittedPipeline, held: Sequence[Example], held_counts: list, held_embeddings=None
) -> tuple[dict[str, Any], float]:
    """Round the pipeline to float32, then the holdout metrics and the novelty threshold of in-scope rows."""
    import numpy as np

    before = pipeline.predict_proba(held_counts, held_embeddings)
    pipeline.round_to_float32()
    probabilities = pipeline.predict_proba(held_counts, held_embeddings)
    scores = pipeline.classifier.decision_function(pipeline.transform(held_counts, held_embeddings))
    classes = [str(label) for label in pipeline.classifier.classes_]
    if scores.ndim == 1:  # binary: scikit-learn's single score is the second class's, against 0 for the first
        scores = np.column_stack([np.zeros_like(scores), scores])
    in_scope_columns = [column for column, label in enumerate(classes) if label != OUT_OF_SCOPE]
    in_scope_scores = scores[:, in_scope_columns]
    best = in_scope_scores.argmax(axis=1)
    by_class = scores.argmax(axis=1) != np.asarray(in_scope_columns)[best]  # the out-of-scope class won
    top = in_scope_scores.max(axis=1)
    novelty = np.where(by_class, -np.inf, top + np.log(np.exp(in_scope_scores - top[:, None]).sum(axis=1)))
    in_scope = np.array([example.label != OUT_OF_SCOPE for example in held])
    finite = novelty[in_scope & ~by_class]
    threshold = novelty_threshold(novelty[in_scope].tolist())
    if not math.isfinite(threshold):  # the class alone already rejects more in-scope rows than allowed
        threshold = float(finite.min()) if finite.size else 0.0
    kept = novelty >= threshold
    predicted = [classes[in_scope_columns[index]] for index in best]
    metrics = {
        "holdout_rows": len(held),
        "threshold_keeps": IN_SCOPE_KEPT,
        **closed_set_metrics(
            [example.label for example, keep in zip(held, in_scope, strict=True) if keep],
            [label for label, keep in zip(predicted, in_scope, strict=True) if keep],
        ),
        "in_scope_kept": float(kept[in_scope].mean()),
        "float32_max_proba_change": float(np.abs(probabilities - before).max()),
    }
    if not in_scope.all():
        metrics["out_of_scope_rows"] = int((~in_scope).sum())
        metrics["out_of_scope_recall"] = float((~kept[~in_scope]).mean())
    return metrics, threshold


def closed_set_metrics(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro F1, per-label precision/recall/F1/support and the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro", zero_division=0)),
        "per_label": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(truth, predicted, labels=labels).tolist(),
        },
    }


# evaluate_model's report key: labels of the data that the model was not trained on, when there are any.
LABELS_NOT_IN_MODEL = "labels_not_in_model"


def evaluate_model(
    model: LinearModel | CascadeModel, examples: Sequence[Example], progress: Progress | None = None
) -> dict[str, Any]:
    """Metrics of the served decision (below the threshold -> out_of_scope), scored by the pure-Python model; for a
    cascade also the share of rows its second stage decided."""
    first = model.first if isinstance(model, CascadeModel) else model
    truth, decided, closed = [], [], []
    kept_in_scope = in_scope = rejected_oos = oos = to_second = 0
    for number, example in enumerate(examples, start=1):
        decision = model.decide(example.text)
        to_second += decision.model is not first
        confident = decision.rejected is None
        truth.append(example.label)
        decided.append(decision.label if confident else OUT_OF_SCOPE)
        if example.label == OUT_OF_SCOPE:
            oos += 1
            rejected_oos += not confident
        else:
            in_scope += 1
            kept_in_scope += confident
            closed.append(decision.label == example.label)
        if progress and number % PROGRESS_EVERY == 0:
            progress(f"scored {number}/{len(examples)} rows")
    report: dict[str, Any] = {
        "model": {"name": model.meta.get("name"), "version": model.meta.get("version")},
        "rows": len(examples),
        "threshold": model.threshold,
        **closed_set_metrics(truth, decided),
    }
    if in_scope:
        report["closed_set_accuracy"] = sum(closed) / in_scope
        report["in_scope_kept"] = kept_in_scope / in_scope
    if oos:
        report["out_of_scope_recall"] = rejected_oos / oos
    if isinstance(model, CascadeModel):
        report["to_second_stage"] = to_second / len(examples)
    if unknown := sorted(set(truth) - {*first.labels, OUT_OF_SCOPE}):
        report[LABELS_NOT_IN_MODEL] = unknown  # data from another label set: every such row counts wrong
    return report


def write_model(model: LinearModel | CascadeModel, out: str | Path) -> Path:
    """Write to a temporary sibling directory, then rename: a failed run never leaves a partial model."""
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MODEL_FILE).is_file())):
        raise TrainingError(f"output {out} exists and is not a model directory; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save(staging)
        os.chmod(staging, 0o755)  # noqa: S103 - a model directory is meant to be read by everyone
        if out.exists():
            previous = out.with_name(f".{out.name}.old-{uuid.uuid4().hex}")
            out.rename(previous)
            staging.rename(out)
            shutil.rmtree(previous)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def installed_encoder() -> Encoder:
    """`sentence_encoder.installed_encoder()` (the same instance a model served in this process uses);
    TrainingError when it is not there."""
    from supportpilot.triage import sentence_encoder

    try:
        return sentence_encoder.installed_encoder()
    except FileNotFoundError as error:
        raise TrainingError(str(error)) from None


def _stderr(message: str) -> None:
    print(f"train: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the default triage model from a seed corpus directory")
    parser.add_argument("--corpus", type=Path, required=True, help=f"directory holding {CORPUS_PATTERN}")
    parser.add_argument("--out", type=Path, required=True, help="model directory to (re)write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        examples = read_corpus(args.corpus)
        _stderr(f"{len(examples)} rows from {args.corpus}")
        model = train_model(examples, name="supportpilot-default", seed=args.seed, progress=_stderr)
        out = write_model(model, args.out)
    except TrainingError as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    _stderr(f"wrote {out}")
    print(json.dumps({"version": model.meta["version"], **model.meta["metrics"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
