"""A trained linear triage model served in pure Python: no numpy, scipy or scikit-learn at run time.

The model is trained with scikit-learn (see `training.py`) and exported to a directory:

- `model.json`: name, version, labels, novelty threshold, feature configuration, training counts, metrics;
- `weights.bin`: little-endian arrays, in this order: feature index (uint32, ascending), idf (float32)
  per feature, then one float32 weight per (feature, label), row-major.

Features: names, titles, pronouns and gendered relatives become placeholders (`neutral.py`), the text is
normalised (`normalise`), split into word tokens, and each block of n-grams
(word 1-2 grams, char_wb 2-5 grams) is hashed with CRC-32 (salted with the block number) into a
fixed number of buckets. Per block: sublinear TF times idf, L2-normalised; only buckets kept at
training time count. Scores are the dot product with the weights plus the intercept, and the
probabilities their softmax, exactly as scikit-learn's LogisticRegression computes them.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import mul
from pathlib import Path
from typing import Any

from supportpilot.mail.text import split_reply
from supportpilot.models import TriageResult
from supportpilot.triage.emotion import emotional_load
from supportpilot.triage.interface import (
    HIGH_EMOTIONAL_LOAD,
    MIN_CONFIDENCE,
    OUT_OF_SCOPE,
    REASON_HIGH_EMOTIONAL_LOAD,
    REASON_LOW_CONFIDENCE,
    REASON_NO_TEXT,
    REASON_OUT_OF_SCOPE,
    REASON_PRIVACY,
    REASON_TRIAGE_FAILED,
    REASON_TRUNCATED,
    SUPPORTED_LANGUAGES,
    UNDETERMINED_LANGUAGE,
    TriageInput,
    fold_text,
    has_letters,
    message_text,
    triage_result,
    unsupported_language_reason,
)
from supportpilot.triage.language import message_language
from supportpilot.triage.neutral import NEUTRAL_TOKENS, neutralise_names

logger = logging.getLogger(__name__)

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.bin"
FORMAT = "supportpilot-linear/1"
PRIVACY_LABEL = "privacy_request"
# Raised whenever `tokenise` changes what a text turns into; the first part of a trained model's version.
# 2: names, titles, pronouns and gendered relatives as placeholders (triage/neutral.py).
TOKENISER_REVISION = 2

_MAX_TOKEN_CHARS = 40  # longer "words" are codes, base64 or garbage: one token, no char n-grams
_MAX_EXPLAINED = 3
_TOKEN_CACHE_SIZE = 100_000
_crc32 = zlib.crc32

# (rows, tf-idf values, n-grams) of the word features of one text.
Vector = tuple[list[int], list[float], list[str]]

MAX_PROBABILITY = "max_probability"
ENERGY = "energy"
REJECTED_BY_CLASS = "out-of-scope class"
REJECTED_AS_NOVEL = "below the novelty threshold"


@dataclass(frozen=True)
class Decision:
    """`label`: the best in-scope label; `confidence`: its softmax probability among the in-scope labels (the
    out-of-scope class's probability when that class wins); `rejected`: None, or why the message is out of scope."""

    label: str
    confidence: float
    rejected: str | None
    label_index: int
    vector: Vector


_URL = re.compile(r"(?:https?://|www\.)\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CURRENCY = r"(?:[\u20ac$\u00a3]|eur\b|euro\b|euros\b|usd\b|gbp\b)"
_NUMBER = r"\d+(?:[.,]\d+)*(?:,-)?"
_AMOUNT = re.compile(rf"{_CURRENCY}\s?{_NUMBER}|{_NUMBER}\s?{_CURRENCY}")
_ORDER_REF = re.compile(r"#\s?\d+|\b[a-z]{1,5}[-/]?\d{3,}[\w/-]*|\b\d{5,}\b")
_DIGITS = re.compile(r"\d+(?:[.,:/-]\d+)*")
_TOKEN = re.compile(r"<[a-z]+>|[^\W_]+(?:'[^\W_]+)*")


def normalise(text: str) -> str:
    """Folded text with urls, e-mail addresses, amounts, order references and numbers as placeholder tokens."""
    text = fold_text(text)
    text = _URL.sub(" <url> ", text)
    text = _EMAIL.sub(" <email> ", text)
    text = _AMOUNT.sub(" <amount> ", text)
    text = _ORDER_REF.sub(" <order> ", text)
    return _DIGITS.sub(" <num> ", text)


def own_text(text: str) -> str:
    """The writer's own words of a mail: without quoted earlier messages and signature, when anything is left."""
    if "\n" not in text:
        return text
    new, _, _ = split_reply(text)
    return new if has_letters(new) else text


def tokenise(text: str) -> list[str]:
    """Word tokens of a raw text, after `neutralise_names`, `own_text` and `normalise`; names, titles, pronouns
    and gendered relatives become placeholders (`NEUTRAL_TOKENS`), over-long tokens `<long>`."""
    tokens = _TOKEN.findall(normalise(own_text(neutralise_names(text))))
    neutral = NEUTRAL_TOKENS.get
    return [neutral(token, token) if len(token) <= _MAX_TOKEN_CHARS else "<long>" for token in tokens]


@dataclass(frozen=True)
class FeatureBlock:
    """One block of hashed n-grams: `word` n-grams of tokens or `char_wb` n-grams inside space-padded tokens."""

    kind: str
    min_n: int
    max_n: int
    buckets: int

    def grams(self, tokens: Sequence[str]) -> list[str]:
        if self.kind == "word":
            return [
                " ".join(tokens[i : i + n])
                for n in range(self.min_n, self.max_n + 1)
                for i in range(len(tokens) - n + 1)
            ]
        grams: list[str] = []
        for token in tokens:
            padded = f" {token} "
            for n in range(self.min_n, min(self.max_n, len(padded)) + 1):
                grams += [padded[i : i + n] for i in range(len(padded) - n + 1)]
        return grams

    def __post_init__(self) -> None:
        if self.kind not in ("word", "char_wb") or not 0 < self.min_n <= self.max_n or self.buckets < 1:
            raise ValueError(f"unsupported feature block: {self.to_json()}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "min_n": self.min_n, "max_n": self.max_n, "buckets": self.buckets}


DEFAULT_BLOCKS: tuple[FeatureBlock, ...] = (
    FeatureBlock("word", 1, 2, 2**18),
    FeatureBlock("char_wb", 2, 5, 2**19),
)


def block_offsets(blocks: Sequence[FeatureBlock]) -> list[int]:
    """First global feature index of each block: blocks share one index space, one after the other."""
    offsets, start = [], 0
    for block in blocks:
        offsets.append(start)
        start += block.buckets
    return offsets


def hashed_indices(grams: Sequence[str], number: int, block: FeatureBlock, offset: int) -> list[int]:
    """Global feature index of each n-gram of block `number`: CRC-32 (stable across processes) salted with it."""
    buckets = block.buckets
    return [offset + _crc32(gram.encode("utf-8", "surrogatepass"), number) % buckets for gram in grams]


def hashed_counts(text: str, blocks: Sequence[FeatureBlock]) -> list[dict[int, int]]:
    """Per block, occurrences of each global feature index in a raw text."""
    tokens = tokenise(text)
    return [
        dict(Counter(hashed_indices(block.grams(tokens), number, block, offset)))
        for number, (block, offset) in enumerate(zip(blocks, block_offsets(blocks), strict=True))
    ]


def _little_endian(values: array) -> bytes:
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_little_endian(typecode: str, data: bytes) -> array:
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values


@dataclass
class LinearModel:
    """Exported parameters; float32 values are held exactly as python floats."""

    meta: dict[str, Any]
    labels: list[str]
    blocks: tuple[FeatureBlock, ...]
    features: array  # uint32 global feature indices, ascending
    idf: array  # float32 per feature
    coef: array  # float32, row-major (feature, label)
    intercept: list[float]
    threshold: float

    def __post_init__(self) -> None:
        self.novelty = self.meta.get("novelty", {}).get("score", MAX_PROBABILITY)
        if self.novelty not in (MAX_PROBABILITY, ENERGY):
            raise ValueError(f"unsupported novelty score: {self.novelty!r}")
        self._out_of_scope = self.labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.labels else None
        self._in_scope = [index for index, label in enumerate(self.labels) if label != OUT_OF_SCOPE]
        self._row_of = {index: row for row, index in enumerate(self.features)}
        self._offsets = block_offsets(self.blocks)
        self._label_weights = [self.coef[label :: len(self.labels)] for label in range(len(self.labels))]
        self._token_cache: list[dict[str, tuple[tuple[int, ...], float, tuple[float, ...]]]] = [{} for _ in self.blocks]

    @classmethod
    def load(cls, model_dir: str | Path) -> LinearModel:
        """Read an exported model; ValueError when the files are not a model of this format."""
        directory = Path(model_dir)
        meta = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
        try:
            return cls._from_files(meta, (directory / WEIGHTS_FILE).read_bytes())
        except (AttributeError, KeyError, TypeError) as error:
            raise ValueError(f"malformed {MODEL_FILE} in {directory}: {type(error).__name__} {error}") from None

    @classmethod
    def _from_files(cls, meta: dict[str, Any], data: bytes) -> LinearModel:
        if meta.get("format") != FORMAT:
            raise ValueError(f"unsupported triage model format: {meta.get('format')!r} (expected {FORMAT!r})")
        labels = list(meta["labels"])
        n_features = int(meta["weights"]["features"])
        expected = 4 * n_features * (2 + len(labels))
        if len(data) != expected:
            raise ValueError(f"{WEIGHTS_FILE} holds {len(data)} bytes, expected {expected}")
        idf_start, coef_start = 4 * n_features, 8 * n_features
        return cls(
            meta=meta,
            labels=labels,
            blocks=tuple(FeatureBlock(**block) for block in meta["features"]["blocks"]),
            features=_from_little_endian("I", data[:idf_start]),
            idf=_from_little_endian("f", data[idf_start:coef_start]),
            coef=_from_little_endian("f", data[coef_start:]),
            intercept=[float(value) for value in meta["intercept"]],
            threshold=float(meta["threshold"]),
        )

    def save(self, model_dir: str | Path) -> None:
        directory = Path(model_dir)
        meta = {
            **self.meta,
            "format": FORMAT,
            "labels": self.labels,
            "threshold": self.threshold,
            "intercept": self.intercept,
            "features": {**self.meta.get("features", {}), "blocks": [block.to_json() for block in self.blocks]},
            "weights": {"file": WEIGHTS_FILE, "features": len(self.features), "dtype": "float32", "order": "<"},
        }
        (directory / MODEL_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (directory / WEIGHTS_FILE).write_bytes(
            _little_endian(self.features) + _little_endian(self.idf) + _little_endian(self.coef)
        )

    def scores(self, text: str) -> tuple[list[float], Vector]:
        """scikit-learn's decision_function for a raw text, and the word features behind it (for explanations)."""
        tokens = tokenise(text)
        scores = list(self.intercept)
        words: Vector = ([], [], [])
        for number, block in enumerate(self.blocks):
            if block.kind == "word":
                vector = self._word_vector(number, block.grams(tokens))
                block_scores = self._dot(vector)
                for collected, part in zip(words, vector, strict=True):
                    collected += part
            else:
                block_scores = self._char_scores(number, tokens)
            scores = [score + part for score, part in zip(scores, block_scores, strict=True)]
        return scores, words

    def predict_proba(self, text: str) -> list[float]:
        return softmax(self.scores(text)[0])

    def decide(self, text: str) -> Decision:
        """The served decision for a raw text: best in-scope label, its confidence, and whether it is rejected."""
        scores, vector = self.scores(text)
        in_scope = self._in_scope
        in_scope_scores = [scores[index] for index in in_scope]
        probabilities = softmax(in_scope_scores)
        best_position = max(range(len(probabilities)), key=probabilities.__getitem__)
        best = in_scope[best_position]
        if self._out_of_scope is not None and scores[self._out_of_scope] > scores[best]:
            return Decision(self.labels[best], softmax(scores)[self._out_of_scope], REJECTED_BY_CLASS, best, vector)
        novel = novelty_score(self.novelty, scores, in_scope_scores) < self.threshold
        return Decision(
            self.labels[best], probabilities[best_position], REJECTED_AS_NOVEL if novel else None, best, vector
        )

    def _word_vector(self, number: int, grams: list[str]) -> Vector:
        found = self._kept_rows(number, grams)
        counts, gram_of = Counter(row for row, _ in found), dict(found)
        rows = list(counts)
        values = [(1.0 + math.log(counts[row])) * self.idf[row] for row in rows]
        norm = math.sqrt(math.fsum(value * value for value in values))
        return rows, [value / norm for value in values], [gram_of[row] for row in rows]

    def _dot(self, vector: Vector) -> list[float]:
        rows, values, _ = vector
        return [sum(map(mul, values, map(weights.__getitem__, rows))) for weights in self._label_weights]

    def _char_scores(self, number: int, tokens: list[str]) -> list[float]:
        """The block's dot product from cached per-token sums (of idf^2 and of idf * weight per label), corrected
        for n-grams that occur more than once (sublinear TF) and divided by the block's L2 norm. Same result as
        `_dot` over the block's tf-idf vector, a few times faster."""
        entries = [self._token_entry(number, token) for token in tokens]
        counts = Counter(chain.from_iterable(entry[0] for entry in entries))
        if not counts:
            return [0.0] * len(self.labels)
        idf = self.idf
        repeated = [(row, count) for row, count in counts.items() if count > 1]
        rows = [row for row, _ in repeated]
        tf_change = [1.0 + math.log(count) - count for _, count in repeated]  # sublinear TF minus the linear count
        squared_change = [(1.0 + math.log(count)) ** 2 - count for _, count in repeated]
        norm = math.sqrt(
            math.fsum(entry[1] for entry in entries) + sum(map(mul, squared_change, (idf[row] ** 2 for row in rows)))
        )
        extras = [change * idf[row] for change, row in zip(tf_change, rows, strict=True)]
        sums = [sum(column) for column in zip(*(entry[2] for entry in entries), strict=True)]
        return [
            (total + sum(map(mul, extras, map(weights.__getitem__, rows)))) / norm
            for total, weights in zip(sums, self._label_weights, strict=True)
        ]

    def _kept_rows(self, number: int, grams: list[str]) -> list[tuple[int, str]]:
        indices = hashed_indices(grams, number, self.blocks[number], self._offsets[number])
        found = ((self._row_of.get(index), gram) for index, gram in zip(indices, grams, strict=True))
        return [(row, gram) for row, gram in found if row is not None]

    def _token_entry(self, number: int, token: str) -> tuple[tuple[int, ...], float, tuple[float, ...]]:
        """Kept rows of one token's char n-grams, the sum of their idf^2 and per label the sum of idf * weight.
        Cached: the same words come back message after message."""
        cache = self._token_cache[number]
        entry = cache.get(token)
        if entry is None:
            if len(cache) >= _TOKEN_CACHE_SIZE:
                cache.clear()
            rows = tuple(row for row, _ in self._kept_rows(number, self.blocks[number].grams([token])))
            idf = self.idf
            squares = math.fsum(idf[row] ** 2 for row in rows)
            sums = tuple(sum(idf[row] * weights[row] for row in rows) for weights in self._label_weights)
            entry = cache[token] = (rows, squares, sums)
        return entry

    def top_grams(self, vector: Vector, label: int, limit: int = _MAX_EXPLAINED) -> list[str]:
        """Word n-grams with the largest positive contribution to `label` (char n-grams read badly)."""
        weights = self._label_weights[label]
        contributions = [
            (value * weights[row], gram) for row, value, gram in zip(*vector, strict=True) if weights[row] > 0
        ]
        return [gram for _, gram in sorted(contributions, reverse=True)[:limit]]


def novelty_score(kind: str, scores: Sequence[float], in_scope_scores: Sequence[float]) -> float:
    """How familiar a message looks; below the model's threshold it goes to a person as out of scope.

    `energy`: log-sum-exp of the in-scope scores (high when some topic fits well, whatever the others do);
    `max_probability`: the largest softmax probability over all labels (models trained before energy)."""
    top = max(in_scope_scores)
    if kind == ENERGY:
        return top + math.log(math.fsum(math.exp(score - top) for score in in_scope_scores))
    return max(softmax(scores))


def softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = math.fsum(exps)
    return [value / total for value in exps]


class TrainedTriager:
    """Triage with an exported linear model; same result fields as the keyword baseline. Never raises on text."""

    def __init__(self, model_dir: str | Path):
        self.model = LinearModel.load(model_dir)
        self.name = str(self.model.meta.get("name", "supportpilot-linear"))
        self.version = str(self.model.meta.get("version", "0"))

    def triage(self, message: TriageInput) -> TriageResult:
        try:
            return self._triage(message)
        except Exception:  # a bug here must not lose the message: hand it to a person instead
            logger.exception("trained triage failed")
            return triage_result(self, OUT_OF_SCOPE, 0.0, UNDETERMINED_LANGUAGE, 0.0, [], [REASON_TRIAGE_FAILED], "")

    def _triage(self, message: TriageInput) -> TriageResult:
        text, truncated = message_text(message)
        reasons = [REASON_TRUNCATED] if truncated else []
        load, cues = emotional_load(text, message.contacts_last_7_days)
        if load >= HIGH_EMOTIONAL_LOAD:
            reasons.append(REASON_HIGH_EMOTIONAL_LOAD)
        if not has_letters(text):
            language = message_language(message.language, "")
            return triage_result(
                self, OUT_OF_SCOPE, 0.0, language, load, cues, [REASON_NO_TEXT, *reasons], "no text to classify"
            )

        language = message_language(message.language, text)
        if language not in SUPPORTED_LANGUAGES and language != UNDETERMINED_LANGUAGE:
            reasons.insert(0, unsupported_language_reason(language))

        model = self.model
        decision = model.decide(text)
        label, confidence = decision.label, round(decision.confidence, 3)
        if decision.rejected == REJECTED_BY_CLASS:
            drivers = ", ".join(
                f"'{gram}'" for gram in model.top_grams(decision.vector, model.labels.index(OUT_OF_SCOPE))
            )
            explanation = "out of scope" + (f": {drivers}" if drivers else "")
            return triage_result(
                self, OUT_OF_SCOPE, confidence, language, load, cues, [REASON_OUT_OF_SCOPE, *reasons], explanation
            )
        drivers = ", ".join(f"'{gram}'" for gram in model.top_grams(decision.vector, decision.label_index))
        if decision.rejected == REJECTED_AS_NOVEL:
            reasons += [REASON_LOW_CONFIDENCE, REASON_OUT_OF_SCOPE]
            explanation = f"low confidence: best guess '{label}' ({confidence})" + (
                f" from {drivers}" if drivers else ""
            )
            return triage_result(self, OUT_OF_SCOPE, confidence, language, load, cues, reasons, explanation)
        if decision.confidence < MIN_CONFIDENCE:
            reasons.append(REASON_LOW_CONFIDENCE)
        if label == PRIVACY_LABEL:
            reasons.append(REASON_PRIVACY)
        explanation = f"drove '{label}': {drivers}" if drivers else f"'{label}' from the text as a whole"
        return triage_result(self, label, confidence, language, load, cues, reasons, explanation)
