"""Study, not part of `make bench`: can the n-gram model get encoder-like accuracy on banking77 at n-gram serving cost?

    .venv/bin/python -m bench.static_study holdout [VARIANT ...]    # train_model's 20% holdout of train.csv
    .venv/bin/python -m bench.static_study cv VARIANT [VARIANT ...] # 5-fold stratified CV of train.csv, per fold
    .venv/bin/python -m bench.static_study test VARIANT             # fit on all of train.csv, score test.csv ONCE

Two ideas, each an input of the same `FittedPipeline` (default n-gram blocks, C = 20, min_df 2):

1. Static encoder embeddings (model2vec-style). Every sentencepiece piece of the encoder's vocabulary is run through
   the encoder ALONE (a one-token input of its forward pass): an 8,000 x 512 table. A word's vector is the mean
   (`wmean`) or sum (`wsum`) of its pieces' vectors (`SentenceEncoder.token_ids(word)`), a message's static vector the
   plain mean of its `tokenise` words' vectors (no L2 norm: the score stays a per-word sum a server could cache per
   word). Options: subtract the vocabulary's mean piece vector (`centre`), PCA of the piece table to 128/256 dims
   (`pca128`), and the block's scale `xS`: the block is divided by its mean row norm on the fitting rows and multiplied
   by S (the n-gram blocks have norm 1 each). `word` instead encodes each distinct word of train.csv alone as a text
   (not servable for unseen words: those fall back to the piece form).
2. Distillation with augmentation. Every train.csv text gets K = 5 augmented copies (seeded per text: word dropout
   p = 0.15, dropping / duplicating a word, swapping two adjacent words, or a contiguous span of >= 60% of the words;
   one operation a copy). The teacher is the `--encoder` model (n-gram blocks + embedding + layer 0 mean) fitted on the
   fitting rows only; the student (default n-gram features) is fitted on fitting rows + their copies, labelled with
   the teacher's top label (`distil`), only where its probability >= T (`distilT`), or the teacher's top-K labels as
   rows weighted by its probabilities (`softK`). `aug` keeps the original labels (no teacher). Prefix `sub`: the copies
   instead replace each non-stop word with probability 0.25 (at least one) by one of its 5 nearest whole-word pieces
   of the encoder's vocabulary (cosine of static vectors >= 0.6), so that they carry n-grams the originals lack (a
   text without such a word gets a word operation instead).
   Options: `-wX` weighs every copy X (soft rows: X times the teacher's probability), `-vo` keeps the buckets and idf
   of the original rows only (else min_df 2 over originals + copies keeps every n-gram of a single text).

Variant names: `ngram`; `static-<wmean|wsum|word>[-centre][-pcaN]-xS`; `[sub]<aug|distil[T]|softK>[-wX][-vo]`, and
`DISTILLED+static-...` for both ideas in one model. Encoder outputs, counts and teacher probabilities are cached in
.cache/static_study (.npy / .pkl). Takes 10 to 90 s a fit on one core.
Results: docs/architecture.md, "The sentence encoder block".
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.triage_bench import banking77_rows
from supportpilot.triage.linear_model import DEFAULT_BLOCKS, tokenise
from supportpilot.triage.sentence_encoder import installed_encoder
from supportpilot.triage.training import (
    DEFAULT_C,
    DEFAULT_MIN_DF,
    DEFAULT_SEED,
    FittedPipeline,
    embed,
    featurise,
    split_holdout,
)

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "static_study"
COPIES = 5
FOLDS = 5
TEACHER_LAYER_MEANS = (0,)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cached(name: str, compute):
    path = CACHE / name
    if path.exists():
        return np.load(path) if path.suffix == ".npy" else pickle.loads(path.read_bytes())
    say(f"computing {name}")
    value = compute()
    CACHE.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, value)
    else:
        path.write_bytes(pickle.dumps(value))
    return value


# ---------------------------------------------------------------- data

train_rows = banking77_rows("train")
LABELS = np.array([example.label for example in train_rows])


def holdout_split() -> tuple[np.ndarray, np.ndarray]:
    """`train_model`'s split (split_holdout, 20%, seed 20260) as row indices of train.csv."""
    index = {id(example): number for number, example in enumerate(train_rows)}
    fit, held = split_holdout(train_rows, 0.2, DEFAULT_SEED)
    return np.array([index[id(e)] for e in fit]), np.array([index[id(e)] for e in held])


def cv_splits() -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=DEFAULT_SEED)
    return list(folds.split(np.zeros(len(LABELS)), LABELS))


def train_counts() -> list:
    return cached("train_counts.pkl", lambda: featurise([e.text for e in train_rows], DEFAULT_BLOCKS))


# ---------------------------------------------------------------- idea 1: static embeddings


def piece_table() -> np.ndarray:
    """Each vocabulary piece's encoder embedding when it is the whole input (one token), (8000, 512) float32."""

    def compute():
        encoder = installed_encoder()
        size = len(encoder._tokenizer._step_back)
        rows = [
            encoder._encode_batch([[piece] for piece in range(start, min(start + 256, size))])
            for start in range(0, size, 256)
        ]
        return np.vstack(rows)

    return cached("pieces.npy", compute)


def word_pieces(words: Sequence[str]) -> dict[str, list[int]]:
    encoder = installed_encoder()
    return {word: encoder.token_ids(word) for word in words}


def tokenised(texts: Sequence[str]) -> list[list[str]]:
    return [tokenise(text) for text in texts]


def word_table_encoded(words: Sequence[str]) -> dict[str, np.ndarray]:
    """Each distinct word encoded alone as a text (the cheaper, word-level form)."""

    def compute():
        vectors = installed_encoder().encode(list(words))
        return dict(zip(words, vectors, strict=True))

    return cached("words_encoded.pkl", compute)


def static_vectors(texts: Sequence[str], kind: str, table: np.ndarray, word_table: dict | None = None) -> np.ndarray:
    """Mean over a text's words of each word's vector (mean or sum of its pieces' rows of `table`)."""
    tokens = tokenised(texts)
    pieces = word_pieces(sorted({word for words in tokens for word in words}))
    dims = table.shape[1]
    word_vector: dict[str, np.ndarray] = {}
    for word, ids in pieces.items():
        if word_table is not None and word in word_table:
            word_vector[word] = word_table[word]
        elif not ids:
            word_vector[word] = np.zeros(dims)
        else:
            rows = table[ids]
            word_vector[word] = rows.sum(axis=0) if kind == "wsum" else rows.mean(axis=0)
    out = np.zeros((len(texts), dims))
    for row, words in enumerate(tokens):
        if words:
            out[row] = np.mean([word_vector[word] for word in words], axis=0)
    return out


def static_block(variant: str, texts: Sequence[str]) -> np.ndarray:
    """The unscaled static block of `texts` for a `static-...` variant."""
    parts = variant.split("-")[1:-1]  # drop "static" and the scale
    kind = parts[0]
    table = piece_table().astype(np.float64)
    word_table = None
    if kind == "word":
        words = sorted({w for words in tokenised([e.text for e in train_rows]) for w in words})
        word_table = {w: v.astype(np.float64) for w, v in word_table_encoded(words).items()}
    if "centre" in parts:
        centre = table[6:].mean(axis=0)  # the reserved pieces are never produced
        table = table - centre
        if word_table is not None:
            word_table = {w: v - centre for w, v in word_table.items()}
    for part in parts:
        if part.startswith("pca"):
            from sklearn.decomposition import PCA

            pca = PCA(int(part[3:]), random_state=DEFAULT_SEED).fit(table[6:])
            # (rows - mean) @ components.T: linear, so it folds into a per-piece table
            if word_table is not None:
                word_table = {w: pca.transform(v[None])[0] for w, v in word_table.items()}
            table = pca.transform(table)
    return static_vectors(texts, kind, table, word_table)


def scale_of(variant: str) -> float:
    return float(variant.rsplit("-x", 1)[1])


# ---------------------------------------------------------------- idea 2: augmentation and distillation


def augment(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 2:
        return text
    op = rng.choice(("dropout", "drop", "duplicate", "swap", "span"))
    if op == "dropout":
        kept = [word for word in words if rng.random() >= 0.15]
        words = kept or [rng.choice(words)]
    elif op == "drop":
        del words[rng.randrange(len(words))]
    elif op == "duplicate":
        at = rng.randrange(len(words))
        words.insert(at, words[at])
    elif op == "swap":
        at = rng.randrange(len(words) - 1)
        words[at], words[at + 1] = words[at + 1], words[at]
    else:
        length = rng.randint(max(1, -(-len(words) * 6 // 10)), len(words))
        start = rng.randrange(len(words) - length + 1)
        words = words[start : start + length]
    return " ".join(words)


def neighbours() -> dict[str, list[str]]:
    """Up to 5 substitutes for each word of train.csv that is not a stop word: the whole-word pieces of the encoder's
    vocabulary (candidates that do not depend on the data) nearest to the word's encoding alone (cosine >= 0.6 between
    static vectors, the word itself excluded)."""

    def compute():
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        pieces = json.loads((Path(encoder_dir()) / "vocab.json").read_text(encoding="utf-8"))["pieces"]
        candidates = [
            (index, piece[1:])
            for index, piece in enumerate(pieces)
            if index >= 6
            and piece.startswith("\u2581")
            and piece[1:].isalpha()
            and piece[1:].islower()
            and len(piece) > 2
        ]
        table = piece_table()[[index for index, _ in candidates]].astype(np.float64)
        table /= np.linalg.norm(table, axis=1, keepdims=True)
        words = sorted({w for words in tokenised([e.text for e in train_rows]) for w in words})
        encoded = word_table_encoded(words)
        result = {}
        for word in words:
            if not word.isalpha() or word in ENGLISH_STOP_WORDS:
                continue
            vector = encoded[word] / np.linalg.norm(encoded[word])
            similarity = table @ vector
            near = [
                candidates[j][1]
                for j in np.argsort(-similarity)[:6]
                if similarity[j] >= 0.6 and candidates[j][1] != word
            ][:5]
            if near:
                result[word] = near
        return result

    return cached("neighbours.pkl", compute)


def substitute(text: str, rng: random.Random, near: dict[str, list[str]]) -> str:
    """The text's tokens with each word that has neighbours replaced by one with probability 0.25 (at least one)."""
    words = tokenise(text)
    eligible = [at for at, word in enumerate(words) if word in near]
    if not eligible:
        return augment(text, rng)
    chosen = [at for at in eligible if rng.random() < 0.25] or [rng.choice(eligible)]
    for at in chosen:
        words[at] = rng.choice(near[words[at]])
    return " ".join(words)


def encoder_dir() -> Path:
    from supportpilot.triage.sentence_encoder import default_encoder_dir

    return default_encoder_dir()


def augmented(kind: str = "") -> tuple[list[str], np.ndarray]:
    """COPIES augmented texts per train.csv row (seeded per row) and the row each comes from: word operations, or
    (`kind` "sub") substitutions of words by their static-embedding neighbours."""
    near = neighbours() if kind == "sub" else None
    texts, source = [], []
    for number, example in enumerate(train_rows):
        rng = random.Random(DEFAULT_SEED * 100_003 + number)
        for _ in range(COPIES):
            texts.append(substitute(example.text, rng, near) if near else augment(example.text, rng))
            source.append(number)
    return texts, np.array(source)


def aug_counts(kind: str = "") -> list:
    return cached(f"aug_counts{kind}.pkl", lambda: featurise(augmented(kind)[0], DEFAULT_BLOCKS))


def train_embeddings() -> np.ndarray:
    return cached(
        "train_emb.npy",
        lambda: embed([e.text for e in train_rows], installed_encoder(), say, TEACHER_LAYER_MEANS).astype(np.float32),
    ).astype(np.float64)


def aug_embeddings(kind: str = "") -> np.ndarray:
    return cached(
        f"aug_emb{kind}.npy",
        lambda: embed(augmented(kind)[0], installed_encoder(), say, TEACHER_LAYER_MEANS).astype(np.float32),
    ).astype(np.float64)


def teacher_proba(split_name: str, fit: np.ndarray, kind: str = "") -> tuple[np.ndarray, np.ndarray]:
    """The teacher's class probabilities (and classes) on the augmented copies of the fitting rows."""

    def compute():
        counts, emb = train_counts(), train_embeddings()
        say(f"fitting the teacher ({split_name}, {len(fit)} rows)")
        teacher = FittedPipeline(DEFAULT_BLOCKS, DEFAULT_MIN_DF, DEFAULT_C, DEFAULT_SEED).fit(
            [counts[i] for i in fit], LABELS[fit], emb[fit]
        )
        rows = np.flatnonzero(np.isin(augmented(kind)[1], fit))
        all_aug = aug_counts(kind)
        proba = teacher.predict_proba([all_aug[i] for i in rows], aug_embeddings(kind)[rows])
        return {"rows": rows, "proba": proba.astype(np.float32), "classes": teacher.classifier.classes_}

    result = cached(f"teacher_{split_name}{kind}.pkl", compute)
    return result["rows"], result["proba"], result["classes"]


# ---------------------------------------------------------------- running a variant


def run(variant: str, split_name: str, fit: np.ndarray, held: np.ndarray, held_texts=None, held_labels=None) -> float:
    """Fit `variant` on train.csv rows `fit`, return accuracy on train.csv rows `held` (or on the given texts)."""
    counts = train_counts()
    if held_texts is None:
        held_counts, held_labels = [counts[i] for i in held], LABELS[held]
        held_texts = [train_rows[i].text for i in held]
    else:
        held_counts = featurise(held_texts, DEFAULT_BLOCKS)
    variant, _, static = variant.partition("+")  # "DISTIL+static-...": both ideas together
    static = static or (variant if variant.startswith("static-") else "")
    fit_counts, fit_labels = [counts[i] for i in fit], list(LABELS[fit])
    fit_texts = [train_rows[i].text for i in fit]
    pipeline = FittedPipeline(DEFAULT_BLOCKS, DEFAULT_MIN_DF, DEFAULT_C, DEFAULT_SEED)
    extra_fit = extra_held = None
    weights = None
    if not variant.startswith("static-") and variant != "ngram":
        base, *options = variant.split("-")
        kind = "sub" if base.startswith("sub") else ""
        base = base.removeprefix("sub")
        copy_weight = next((float(o[1:]) for o in options if o.startswith("w")), 1.0)
        texts, source = augmented(kind)
        all_aug = aug_counts(kind)
        weights = [1.0] * len(fit_labels)
        if base == "aug":
            rows = np.flatnonzero(np.isin(source, fit))
            aug_labels = list(LABELS[source[rows]])
            weights += [copy_weight] * len(rows)
        else:
            rows, proba, classes = teacher_proba(split_name, fit, kind)
            if base.startswith("soft"):
                top = np.argsort(-proba, axis=1)[:, : int(base[4:])]
                picked, aug_labels = [], []
                for position, (row, labels) in enumerate(zip(rows, top, strict=True)):
                    for label in labels:
                        picked.append(row)
                        aug_labels.append(classes[label])
                        weights.append(copy_weight * float(proba[position, label]))
                rows = np.array(picked)
            else:
                confident = proba.max(axis=1) >= float(base[6:] or 0)
                agree = classes[proba.argmax(axis=1)]
                say(
                    f"teacher keeps {confident.mean():.3f} of copies; agrees with the source label on "
                    f"{(agree == LABELS[source[rows]]).mean():.3f}"
                )
                rows, aug_labels = rows[confident], list(agree[confident])
                weights += [copy_weight] * len(rows)
        vocabulary = fit_counts if "vo" in options else None  # kept buckets and idf of the originals only
        fit_counts = fit_counts + [all_aug[i] for i in rows]
        fit_labels = fit_labels + aug_labels
        fit_texts = fit_texts + [texts[i] for i in rows]
    if static:
        block_fit, block_held = static_block(static, fit_texts), static_block(static, held_texts)
        norm = np.linalg.norm(block_fit[: len(fit)], axis=1).mean()
        extra_fit, extra_held = block_fit * (scale_of(static) / norm), block_held * (scale_of(static) / norm)
    started = time.time()
    if weights is None:
        pipeline.fit(fit_counts, fit_labels, extra_fit)
    else:
        # Kept buckets and idf (labels play no part there), then the classifier with row weights.
        from sklearn.linear_model import LogisticRegression

        _fit_vocabulary(pipeline, vocabulary or fit_counts)
        pipeline.classifier = LogisticRegression(C=DEFAULT_C, max_iter=2000, random_state=DEFAULT_SEED)
        pipeline.classifier.fit(pipeline.transform(fit_counts, extra_fit), fit_labels, sample_weight=np.array(weights))
    name = f"{variant}+{static}" if static and static != variant else variant
    say(f"{name} [{split_name}]: fitted {len(fit_labels)} rows in {time.time() - started:.0f} s")
    predicted = pipeline.classifier.predict(pipeline.transform(held_counts, extra_held))
    return float((predicted == np.asarray(held_labels)).mean())


def _fit_vocabulary(pipeline: FittedPipeline, counts: list) -> None:
    """FittedPipeline.fit's kept buckets and TF-IDF, without its classifier (fitted by the caller with weights)."""

    class _Stop(Exception):
        pass

    import sklearn.linear_model

    real = sklearn.linear_model.LogisticRegression

    class _NoFit(real):
        def fit(self, *args, **kwargs):
            raise _Stop

    sklearn.linear_model.LogisticRegression = _NoFit
    try:
        pipeline.fit(counts, ["x"] * len(counts))
    except _Stop:
        pass
    finally:
        sklearn.linear_model.LogisticRegression = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("holdout", "cv", "test"))
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    results = {}
    for variant in args.variants:
        if args.mode == "holdout":
            fit, held = holdout_split()
            results[variant] = run(variant, "holdout", fit, held)
        elif args.mode == "cv":
            folds = [run(variant, f"fold{n}", fit, held) for n, (fit, held) in enumerate(cv_splits())]
            results[variant] = {"mean": float(np.mean(folds)), "folds": folds}
        else:
            test = banking77_rows("test")
            everything = np.arange(len(train_rows))
            accuracy = run(variant, "all", everything, everything[:0], [e.text for e in test], [e.label for e in test])
            results[variant] = {"accuracy": accuracy, "right": round(accuracy * len(test)), "of": len(test)}
        say(f"{variant}: {json.dumps(results[variant])}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
