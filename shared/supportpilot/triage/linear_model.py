"""A trained linear triage model served in pure Python: no numpy, scipy or scikit-learn at run time.

The model is trained with scikit-learn (see `training.py`) and exported to a directory:

- `model.json`: name, version, labels, novelty threshold, feature configuration, training counts, metrics;
- `weights.bin`: little-endian arrays, in this order: feature index (uint32, ascending), idf (float32)
  per feature, then one float32 weight per (feature, label), row-major;
- `terms.bin`: the same weights as the scorer adds them up, per feature its packed terms (`packing_of`), a
  little-endian signed integer of the same size for each; derived from `weights.bin` and optional;
- `encoder_weights.bin` (models trained with a sentence encoder only): one float32 weight per (encoder
  dimension, label), row-major, little-endian.

Features: names, titles, pronouns and gendered relatives become placeholders (`neutral.py`), the text is
normalised (`normalise`), split into word tokens, and each block of n-grams
(word 1-2 grams, char_wb 2-5 grams) is hashed with CRC-32 (salted with the block number) into a
fixed number of buckets. Per block: sublinear TF times idf, L2-normalised; only buckets kept at
training time count. Scores are the dot product with the weights plus the intercept, and the
probabilities their softmax, exactly as scikit-learn's LogisticRegression computes them.

A model trained with a sentence encoder (`sentence_encoder.py`, model.json `encoder`) has one more block:
the encoder's L2-normalised embedding of the tokens joined by spaces (so it sees the same neutral
placeholders), then the normalised mean states of the layers in model.json `encoder_layer_means`, dotted
with its weights in numpy. Only such a model imports numpy.
"""

from __future__ import annotations

import json
import math
import struct
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import chain, repeat
from operator import add, is_not, itemgetter, lshift, mul
from pathlib import Path
from typing import Any, Protocol

from supportpilot.models import TriageResult
from supportpilot.regex_store import compiled
from supportpilot.triage.frame import Classification, own_text, triage_message
from supportpilot.triage.interface import (
    OUT_OF_SCOPE,
    REASON_LOW_CONFIDENCE,
    REASON_OUT_OF_SCOPE,
    TriageInput,
    fold_text,
)
from supportpilot.triage.neutral import NEUTRAL_TOKENS, neutralise_names

MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.bin"
ENCODER_WEIGHTS_FILE = "encoder_weights.bin"
TERMS_FILE = "terms.bin"
TUNED_ENCODER_FILE = "tuned_encoder.bin"
FORMAT = "supportpilot-linear/1"
# Raised whenever `tokenise` changes what a text turns into; the first part of a trained model's version.
# 2: names, titles, pronouns and gendered relatives as placeholders (triage/neutral.py).
TOKENISER_REVISION = 2

_MAX_TOKEN_CHARS = 40  # longer "words" are codes, base64 or garbage: one token, no char n-grams
_MAX_EXPLAINED = 3
# Dutch and English words that say nothing on their own in an explanation: articles, pronouns, prepositions,
# auxiliaries. Question words and negations ("wanneer", "geen") do say something, and are not here.
_FUNCTION_WORDS_TEXT = """
de het een en van ik je jij u uw mijn mn m'n is dat die dit deze met voor op aan er om ook als bij nog wel naar
te zo dan of tot uit over door al ons onze mij we wij ge gij t 't ben bent was zijn heb hebt heeft
the a an and of to in is it i my me you your we our that this for on with at by from or so am are be was were
been do does did have has had i'm it's
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())
_CACHE_SIZE = 100_000
_crc32 = zlib.crc32

# Of a token in a char n-gram block: its kept rows, and the sum of their packed terms (`LinearModel._packed`).
TokenEntry = tuple[tuple[int, ...], int]

# A row's terms (idf * weight per label, then idf^2) as signed fixed-point fields of one Python int, so that a
# block's sums over hundreds of rows are one C-level `sum` of ints. Exact integer sums of values rounded to
# 2^-scale: the scale leaves room for MAX_PACKED_SUM rows of the largest term in a field. Only a decoded sum must
# fit; the integers on the way to it (a sum of repeated rows, a difference) may overflow a field.
FIELD_BITS = 64
MAX_PACKED_SUM = 2**17
_FIELD_HALF = 1 << (FIELD_BITS - 1)
_is_kept = partial(is_not, None)  # of a feature index's row: None when training did not keep the feature

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
    words: list[WordFeatures]
    model: LinearModel  # the model that decided: its `top_grams` explain the decision


@dataclass(frozen=True)
class WordFeatures:
    """What one word block saw of a text, kept for explanations: its n-grams with the kept row of each (None when
    not kept), the count of each kept row and the block's norm."""

    grams: list[str]
    rows: list[int | None]
    counts: Counter[int]
    norm: float

    def contributions(self, idf: array, weights: array) -> list[tuple[float, str]]:
        """(tf-idf value * weight, one n-gram behind it) of each kept row that counts for a label's `weights`."""
        positive = [(row, count) for row, count in self.counts.items() if weights[row] > 0]
        if not positive:
            return []
        gram_of = {row: gram for row, gram in zip(self.rows, self.grams, strict=True) if row is not None}
        norm = self.norm
        return [((1.0 + math.log(count)) * idf[row] / norm * weights[row], gram_of[row]) for row, count in positive]


_URL = compiled(r"(?:https?://|www\.)\S+")
_EMAIL = compiled(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CURRENCY = r"(?:[\u20ac$\u00a3]|eur\b|euro\b|euros\b|usd\b|gbp\b)"
_CURRENCY_MARKS = ("\u20ac", "$", "\u00a3", "eur", "usd", "gbp")  # every _CURRENCY match holds one
_NUMBER = r"\d+(?:[.,]\d+)*(?:,-)?"
_AMOUNT = compiled(rf"{_CURRENCY}\s?{_NUMBER}|{_NUMBER}\s?{_CURRENCY}")
_ORDER_REF = compiled(r"#\s?\d+|\b[a-z]{1,5}[-/]?\d{3,}[\w/-]*|\b\d{5,}\b")
_ANY_DIGIT = compiled(r"\d")
_DIGITS = compiled(r"\d+(?:[.,:/-]\d+)*")
_TOKEN = compiled(r"<[a-z]+>|[^\W_]+(?:'[^\W_]+)*")


def normalise(text: str) -> str:
    """Folded text with urls, e-mail addresses, amounts, order references and numbers as placeholder tokens."""
    text = fold_text(text)
    if "http" in text or "www." in text:
        text = _URL.sub(" <url> ", text)
    if "@" in text:
        text = _EMAIL.sub(" <email> ", text)
    if _ANY_DIGIT.search(text) is None:  # amounts, order references and numbers all hold a digit
        return text
    if any(mark in text for mark in _CURRENCY_MARKS):  # most texts have none: a few substring scans skip the regex
        text = _AMOUNT.sub(" <amount> ", text)
    text = _ORDER_REF.sub(" <order> ", text)
    return _DIGITS.sub(" <num> ", text)


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
            return [gram for n in range(self.min_n, self.max_n + 1) for gram in map(" ".join, _windows(tokens, n))]
        grams: list[str] = []
        for token in tokens:
            padded = f" {token} "
            grams += [padded[start:end] for start, end in _spans(len(padded), self.min_n, self.max_n)]
        return grams

    def indices(self, tokens: Sequence[str], number: int, offset: int) -> list[int]:
        """Global feature index of each of `grams(tokens)`: CRC-32 (stable across processes) of its UTF-8, salted
        with the block's number, into the block's buckets after `offset`."""
        if self.kind == "word":
            return hashed_indices(self.grams(tokens), number, self, offset)
        buckets = self.buckets
        indices: list[int] = []
        for token in tokens:
            padded = f" {token} "
            spans = _spans(len(padded), self.min_n, self.max_n)
            if padded.isascii():  # slices of its bytes are the n-grams' UTF-8: encode once
                data = padded.encode()
                indices += [offset + _crc32(data[start:end], number) % buckets for start, end in spans]
            else:
                indices += [
                    offset + _crc32(padded[start:end].encode("utf-8", "surrogatepass"), number) % buckets
                    for start, end in spans
                ]
        return indices

    def __post_init__(self) -> None:
        if self.kind not in ("word", "char_wb") or not 0 < self.min_n <= self.max_n or self.buckets < 1:
            raise ValueError(f"unsupported feature block: {self.to_json()}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "min_n": self.min_n, "max_n": self.max_n, "buckets": self.buckets}


def _windows(tokens: Sequence[str], n: int) -> zip:
    """Every run of `n` consecutive tokens, in order."""
    return zip(*(tokens[start:] for start in range(n)), strict=False)


@lru_cache(maxsize=256)
def _spans(length: int, min_n: int, max_n: int) -> tuple[tuple[int, int], ...]:
    """(start, end) of every char n-gram of a padded token of `length`, shortest n-grams first."""
    return tuple((start, start + n) for n in range(min_n, min(max_n, length) + 1) for start in range(length - n + 1))


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
        dict(Counter(block.indices(tokens, number, offset)))
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
    encoder_coef: array | None = None  # float32, row-major (encoder dimension, label)
    encoder: Encoder | None = None  # given, or loaded from `sentence_encoder.encoder_for(meta["encoder"])`
    packed_terms: bytes | None = None  # terms.bin: every row's packed terms, when written with this code's packing

    def __post_init__(self) -> None:
        self.novelty = self.meta.get("novelty", {}).get("score", MAX_PROBABILITY)
        if self.novelty not in (MAX_PROBABILITY, ENERGY):
            raise ValueError(f"unsupported novelty score: {self.novelty!r}")
        self._out_of_scope = self.labels.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.labels else None
        self._in_scope = [index for index, label in enumerate(self.labels) if label != OUT_OF_SCOPE]
        self._offsets = block_offsets(self.blocks)
        self._row_of = dict(zip(self.features, range(len(self.features)), strict=True))
        self._label_weights: dict[int, array] = {}  # a label's column of `coef`, taken when it is first explained
        self.max_abs_term = self.meta.get("weights", {}).get(MAX_ABS_TERM) or max_abs_term(self.idf, self.coef)
        self.packing = packing_of(self.max_abs_term)
        self._scale = float(2 ** self.packing["scale_bits"])
        self._shifts = [FIELD_BITS * field for field in range(len(self.labels) + 1)]
        self._row_bytes = len(self._shifts) * FIELD_BITS // 8 + 1
        # Adding _FIELD_HALF to every field makes them all non-negative (no borrows between fields); flipping each
        # field's top bit again leaves its two's complement, which struct reads in one C call.
        self._field_bias = sum(_FIELD_HALF << shift for shift in self._shifts)
        self._sum_bytes = len(self._shifts) * FIELD_BITS // 8
        self._read_fields = struct.Struct(f"<{len(self._shifts)}q").unpack
        if self.packed_terms is not None and len(self.packed_terms) != len(self.features) * self._row_bytes:
            raise ValueError(f"{TERMS_FILE} holds {len(self.packed_terms)} bytes, expected a row of each feature")
        # Caches filled while serving (the same words come back message after message): per row its packed
        # terms; per token (char n-gram blocks) its kept rows and the sum of their packed terms.
        self._packed_rows: dict[int, int] = {}
        self._token_cache: list[dict[str, TokenEntry]] = [{} for _ in self.blocks]
        self._encoder_block = None if self.encoder_coef is None else EncoderBlock(self)

    @classmethod
    def load(cls, model_dir: str | Path, encoder: Encoder | None = None, prefix: str = "") -> LinearModel:
        """Read an exported model (its files named with `prefix`: a cascade's second stage); ValueError when the
        files are not a model of this format, or when it needs a sentence encoder that is not there."""
        directory = Path(model_dir)
        meta = json.loads((directory / f"{prefix}{MODEL_FILE}").read_text(encoding="utf-8"))
        encoder_data = (directory / f"{prefix}{ENCODER_WEIGHTS_FILE}").read_bytes() if "encoder" in meta else None
        try:
            if "encoder" in meta and encoder is None:
                from supportpilot.triage.sentence_encoder import encoder_for

                encoder = encoder_for(meta["encoder"], directory / f"{prefix}{TUNED_ENCODER_FILE}")
            terms = meta["weights"].get("terms")
            terms_file = directory / f"{prefix}{TERMS_FILE}"
            packed_terms = None  # older models, no file, or packed otherwise than this code packs: from weights
            if terms is not None and terms == packing_of(meta["weights"][MAX_ABS_TERM]) and terms_file.is_file():
                packed_terms = terms_file.read_bytes()
            data = (directory / f"{prefix}{WEIGHTS_FILE}").read_bytes()
            return cls._from_files(meta, data, encoder_data, encoder, packed_terms)
        except (AttributeError, KeyError, TypeError) as error:
            raise ValueError(f"malformed {prefix}{MODEL_FILE} in {directory}: {type(error).__name__} {error}") from None

    @classmethod
    def _from_files(
        cls,
        meta: dict[str, Any],
        data: bytes,
        encoder_data: bytes | None = None,
        encoder: Encoder | None = None,
        packed_terms: bytes | None = None,
    ) -> LinearModel:
        if meta.get("format") != FORMAT:
            raise ValueError(f"unsupported triage model format: {meta.get('format')!r} (expected {FORMAT!r})")
        labels = list(meta["labels"])
        n_features = int(meta["weights"]["features"])
        expected = 4 * n_features * (2 + len(labels))
        if len(data) != expected:
            raise ValueError(f"{WEIGHTS_FILE} holds {len(data)} bytes, expected {expected}")
        idf_start, coef_start = 4 * n_features, 8 * n_features
        encoder_coef = None
        if encoder_data is not None:
            expected = 4 * encoder_block_width(meta) * len(labels)
            if len(encoder_data) != expected:
                raise ValueError(f"{ENCODER_WEIGHTS_FILE} holds {len(encoder_data)} bytes, expected {expected}")
            encoder_coef = _from_little_endian("f", encoder_data)
        return cls(
            meta=meta,
            labels=labels,
            blocks=tuple(FeatureBlock(**block) for block in meta["features"]["blocks"]),
            features=_from_little_endian("I", data[:idf_start]),
            idf=_from_little_endian("f", data[idf_start:coef_start]),
            coef=_from_little_endian("f", data[coef_start:]),
            intercept=[float(value) for value in meta["intercept"]],
            threshold=float(meta["threshold"]),
            encoder_coef=encoder_coef,
            encoder=encoder,
            packed_terms=packed_terms,
        )

    def save(self, model_dir: str | Path, prefix: str = "", terms: bool = True) -> None:
        """Write the model's files, named with `prefix`; without `terms`, no terms.bin (scoring then packs each
        row from the weights on its first use: a second stage, which the encoder's cost dominates anyway)."""
        directory = Path(model_dir)
        meta = {
            **self.meta,
            "format": FORMAT,
            "labels": self.labels,
            "threshold": self.threshold,
            "intercept": self.intercept,
            "features": {**self.meta.get("features", {}), "blocks": [block.to_json() for block in self.blocks]},
            "weights": {
                "file": f"{prefix}{WEIGHTS_FILE}",
                "features": len(self.features),
                "dtype": "float32",
                "order": "<",
                MAX_ABS_TERM: self.max_abs_term,
                **({"terms": self.packing} if terms else {}),
            },
        }
        (directory / f"{prefix}{MODEL_FILE}").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (directory / f"{prefix}{WEIGHTS_FILE}").write_bytes(
            _little_endian(self.features) + _little_endian(self.idf) + _little_endian(self.coef)
        )
        if terms:
            size = self._row_bytes
            (directory / f"{prefix}{TERMS_FILE}").write_bytes(
                b"".join(
                    self._packed_row(row).to_bytes(size, "little", signed=True) for row in range(len(self.features))
                )
            )
        if self.encoder_coef is not None:
            (directory / f"{prefix}{ENCODER_WEIGHTS_FILE}").write_bytes(_little_endian(self.encoder_coef))
            tuned_data = getattr(self.encoder, "tuned_data", None)
            if tuned_data is not None:
                (directory / f"{prefix}{TUNED_ENCODER_FILE}").write_bytes(tuned_data)

    def scores(self, text: str) -> tuple[list[float], list[WordFeatures]]:
        """scikit-learn's decision_function for a raw text, and the word features behind it (for explanations)."""
        tokens = tokenise(text)
        scores = self.intercept
        words: list[WordFeatures] = []
        for number, block in enumerate(self.blocks):
            block_scores, features = self._block_scores(number, block, tokens)
            if features is not None:
                words.append(features)
            scores = list(map(add, scores, block_scores))
        if self._encoder_block is not None:
            scores = list(map(add, scores, self._encoder_block.scores(tokens)))
        return scores, words

    def predict_proba(self, text: str) -> list[float]:
        return softmax(self.scores(text)[0])

    def decide(self, text: str) -> Decision:
        """The served decision for a raw text: best in-scope label, its confidence, and whether it is rejected."""
        return self.decision(*self.scores(text))

    def decision(self, scores: list[float], words: list[WordFeatures]) -> Decision:
        """`decide` for a text's `scores()`."""
        in_scope = self._in_scope
        in_scope_scores = [scores[index] for index in in_scope]
        probabilities = softmax(in_scope_scores)
        best_position = max(range(len(probabilities)), key=probabilities.__getitem__)
        best = in_scope[best_position]
        if self._out_of_scope is not None and scores[self._out_of_scope] > scores[best]:
            return Decision(
                self.labels[best], softmax(scores)[self._out_of_scope], REJECTED_BY_CLASS, best, words, self
            )
        novel = novelty_score(self.novelty, scores, in_scope_scores) < self.threshold
        return Decision(
            self.labels[best], probabilities[best_position], REJECTED_AS_NOVEL if novel else None, best, words, self
        )

    def _packed(self, rows: Sequence[int]) -> list[int]:
        """Per row: idf * weight for each label, then idf^2, as one int of signed fixed-point fields; read from
        terms.bin on a row's first use (or computed from the weights, ten times slower, when there is none)."""
        packed = self._packed_rows
        try:
            return list(map(packed.__getitem__, rows))
        except KeyError:
            data, size = self.packed_terms, self._row_bytes
            for row in rows:
                if row not in packed:
                    packed[row] = (
                        self._packed_row(row)
                        if data is None
                        else int.from_bytes(data[row * size : (row + 1) * size], "little", signed=True)
                    )
            return list(map(packed.__getitem__, rows))

    def _packed_row(self, row: int) -> int:
        width, row_idf = len(self.labels), self.idf[row]
        terms = [*map(mul, self.coef[row * width : (row + 1) * width], repeat(row_idf)), row_idf * row_idf]
        return sum(map(lshift, map(round, map(mul, terms, repeat(self._scale))), self._shifts))

    def _unpacked(self, total: int) -> list[float]:
        """The fields of a sum of at most MAX_PACKED_SUM packed rows: per label the sum of idf * weight, then the sum
        of idf^2."""
        bias = self._field_bias
        fields = self._read_fields(((total + bias) ^ bias).to_bytes(self._sum_bytes, "little"))
        return list(map(mul, fields, repeat(1.0 / self._scale)))  # a power of two: exact, as a division is

    def _column_sums(self, rows: Sequence[int]) -> list[float]:
        """Per label the sum of idf * weight over `rows` (repeats counted), then the sum of idf^2."""
        packed = self._packed(rows)
        columns = [0.0] * len(self._shifts)
        for start in range(0, len(packed), MAX_PACKED_SUM):  # one chunk, unless the text is huge
            chunk = self._unpacked(sum(packed[start : start + MAX_PACKED_SUM]))
            columns = list(map(add, columns, chunk))
        return columns

    def _sublinear_sums(self, counts: Counter[int], linear_total: int) -> list[float]:
        """Per label the sum of tf * idf * weight over the rows `counts` counts, then the sum of (tf * idf)^2, with
        sublinear TF (tf = 1 + ln count); `linear_total`: the sum of their packed terms, repeats counted.

        The rows seen once are the linear total less every repeated row times its count: exact integers, decoded
        once. Each group of rows seen equally often is decoded once more and added with its tf."""
        repeated = _repeated_by_count(counts)
        if len(counts) <= MAX_PACKED_SUM:
            packed = self._packed_rows.__getitem__  # each row was packed when its block first saw it
            totals = [(count, sum(map(packed, rows))) for count, rows in repeated.items()]
            sums = self._unpacked(linear_total - sum(count * total for count, total in totals))
            parts = [(count, self._unpacked(total)) for count, total in totals]
        else:  # a huge text: more distinct rows than a decoded sum may hold
            sums = self._column_sums([row for row, count in counts.items() if count == 1])
            parts = [(count, self._column_sums(rows)) for count, rows in repeated.items()]
        for count, part in parts:
            tf = 1.0 + math.log(count)
            squares = part[-1]
            sums = list(map(add, sums, map(mul, part, repeat(tf))))
            sums[-1] += squares * (tf * tf - tf)
        return sums

    def _entries(self, number: int, tokens: list[str]) -> list[TokenEntry]:
        """Cached `TokenEntry` of each token, for a char n-gram block."""
        cache = self._token_cache[number]
        try:
            return list(map(cache.__getitem__, tokens))
        except KeyError:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache.update({token: self._token_entry(number, token) for token in set(tokens).difference(cache)})
            return list(map(cache.__getitem__, tokens))

    def _token_entry(self, number: int, token: str) -> TokenEntry:
        """Kept rows of a token's char n-grams, and the sum of their packed terms."""
        indices = self.blocks[number].indices((token,), number, self._offsets[number])
        rows = tuple(filter(_is_kept, map(self._row_of.get, indices)))
        return rows, sum(self._packed(rows))

    def _block_scores(
        self, number: int, block: FeatureBlock, tokens: list[str]
    ) -> tuple[list[float], WordFeatures | None]:
        """The block's part of the scores, and for word blocks what it saw (for explanations).

        The sum of packed rows (word n-grams) or of cached per-token sums (char n-grams) gives count * idf *
        weight per label and count * idf^2, from which `_sublinear_sums` takes sublinear TF (1 + ln count) and the
        L2 norm. The same numbers as scikit-learn's, many times faster than a dot product over the block's vector.
        Word n-grams are hashed every time: most are new, a cache would miss."""
        if block.kind == "word":
            grams = block.grams(tokens)
            found = list(map(self._row_of.get, hashed_indices(grams, number, block, self._offsets[number])))
            rows = list(filter(_is_kept, found))
            counts, linear_total = Counter(rows), sum(self._packed(rows))
        else:
            entries = self._entries(number, tokens)
            counts, linear_total = Counter(chain.from_iterable(map(_ROWS, entries))), sum(map(_SUM, entries))
        if not counts:  # idf >= 1, so a block with kept rows has a positive norm
            return [0.0] * len(self.labels), None
        sums = self._sublinear_sums(counts, linear_total)
        norm = math.sqrt(sums.pop())
        scores = [total / norm for total in sums]
        return scores, WordFeatures(grams, found, counts, norm) if block.kind == "word" else None

    def top_grams(self, words: list[WordFeatures], label: int, limit: int = _MAX_EXPLAINED) -> list[str]:
        """Word n-grams with the largest positive contribution to `label` (char n-grams read badly), for an operator
        to read: each with a word the ones before it did not show ("refund", then not "my refund"), and not only
        function words or placeholders ("the", "ik", "<num>"), unless nothing else contributed."""
        weights = self._label_weights.get(label)
        if weights is None:
            weights = self._label_weights[label] = self.coef[label :: len(self.labels)]
        contributions = [part for features in words for part in features.contributions(self.idf, weights)]
        ranked = [gram for _, gram in sorted(contributions, reverse=True)]
        shown: set[str] = set()
        drivers = []
        for gram in ranked:
            content = {word for word in gram.split() if word not in _FUNCTION_WORDS and word[0] != "<"}
            if content and not content <= shown:
                drivers.append(gram)
                shown |= content
                if len(drivers) == limit:
                    break
        return drivers or ranked[:limit]


_ROWS, _SUM = itemgetter(0), itemgetter(1)


def _repeated_by_count(counts: Counter[int]) -> dict[int, list[int]]:
    """Rows seen more than once, grouped by how often."""
    groups: dict[int, list[int]] = {}
    for row, count in counts.items():
        if count > 1:
            if count in groups:
                groups[count].append(row)
            else:
                groups[count] = [row]
    return groups


# model.json "weights" key: the largest magnitude of a packed term (idf * weight, idf^2), for the packing scale.
MAX_ABS_TERM = "max_abs_term"


def max_abs_term(idf: array, coef: array) -> float:
    """Largest |idf * weight| or idf^2 of a model (idf >= 1): a bound for every packed field of one row."""
    if not idf:
        return 1.0
    largest_idf = max(idf)
    return max(largest_idf * largest_idf, largest_idf * max(max(coef, default=0.0), -min(coef, default=0.0)))


def packing_of(bound: float) -> dict[str, Any]:
    """How rows are packed (model.json "weights" "terms"): field width, and fraction bits such that MAX_PACKED_SUM
    terms of magnitude up to `bound` fit in a field."""
    scale_bits = FIELD_BITS - 1 - MAX_PACKED_SUM.bit_length() - math.frexp(max(bound, 1.0))[1]
    if scale_bits < 24:
        raise ValueError(f"triage model weights too large to serve: a term of {bound}")
    return {"file": TERMS_FILE, "field_bits": FIELD_BITS, "scale_bits": scale_bits}


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


class Encoder(Protocol):
    """A sentence encoder (`sentence_encoder.SentenceEncoder`): L2-normalised float32 rows, one per text, of
    `spec["dimensions"]` floats, then as many more for each of `layer_means` (pooled states of those layers);
    `spec` names it in a model's model.json (`sentence_encoder.encoder_for` finds it again by that)."""

    spec: dict[str, Any]

    def encode(self, texts: Sequence[str], layer_means: Sequence[int] = ()) -> Any: ...


# model.json key: the encoder layers whose mean states follow the embedding in the encoder block (absent: none).
ENCODER_LAYER_MEANS = "encoder_layer_means"


def encoder_block_width(meta: dict[str, Any]) -> int:
    """Columns of a model's encoder block: the embedding, then one pooled layer per `encoder_layer_means` entry."""
    return int(meta["encoder"]["dimensions"]) * (1 + len(meta.get(ENCODER_LAYER_MEANS, ())))


def encoder_text(tokens: Sequence[str]) -> str:
    """What a sentence encoder reads: the model's own tokens, placeholders included, joined by spaces."""
    return " ".join(tokens)


class EncoderBlock:
    """A model's sentence-encoder block: the encoder's row for `encoder_text` (the embedding, and the layer means
    the model was trained with), dotted with the block's weights."""

    def __init__(self, model: LinearModel):
        import numpy as np

        if model.encoder is None:
            from supportpilot.triage.sentence_encoder import encoder_for

            model.encoder = encoder_for(model.meta.get("encoder") or {})
        self.encoder = model.encoder
        self.layer_means = tuple(model.meta.get(ENCODER_LAYER_MEANS, ()))
        coef = np.frombuffer(_little_endian(model.encoder_coef), dtype="<f4")
        self.weights = coef.astype(np.float64).reshape(-1, len(model.labels))

    def scores(self, tokens: Sequence[str]) -> list[float]:
        vector = self.encoder.encode([encoder_text(tokens)], self.layer_means)[0]
        return (vector.astype(self.weights.dtype) @ self.weights).tolist()


# model.json key of a cascade's first stage: {"below": t, "second_stage": file prefix, ...how t was chosen}.
CASCADE = "cascade"
SECOND_STAGE_PREFIX = "second_stage."


class CascadeModel:
    """Two models over the same labels: the first (n-gram) model decides a message when its confidence is at least
    `below`; the others go to the second stage (a model with a sentence encoder, in the same directory under
    `SECOND_STAGE_PREFIX`), which is loaded on the first message that needs it. Most messages then cost what the
    n-gram model costs, and neither numpy nor the encoder is loaded until a hard message comes."""

    def __init__(self, first: LinearModel, directory: Path | None = None, second: LinearModel | None = None):
        cascade = first.meta[CASCADE]
        if cascade.get("second_stage") != SECOND_STAGE_PREFIX:
            raise ValueError(f"unsupported cascade second stage: {cascade.get('second_stage')!r}")
        self.first, self.below, self.prefix = first, float(cascade["below"]), SECOND_STAGE_PREFIX
        self.directory, self._second = directory, second
        if second is None:
            if directory is None:
                raise ValueError("a cascade needs its second stage or the directory holding it")
            self._check_second_stage(directory)

    def _check_second_stage(self, directory: Path) -> None:
        """ValueError now, at load, when the second stage could not be read later: a file or the encoder it needs
        is missing (json and a stat only: numpy and the encoder load with the first message that needs them)."""
        from supportpilot.triage.encoder_spec import base_spec, default_encoder_dir, encoder_spec

        required = [f"{self.prefix}{name}" for name in (MODEL_FILE, WEIGHTS_FILE, ENCODER_WEIGHTS_FILE)]
        missing = [name for name in required if not (directory / name).is_file()]
        if missing:
            raise ValueError(f"the cascade's second stage is incomplete in {directory}: missing {missing}")
        needed = base_spec(json.loads((directory / required[0]).read_text(encoding="utf-8"))["encoder"])
        try:
            installed = encoder_spec(default_encoder_dir())
        except FileNotFoundError:
            raise ValueError(
                f"the cascade's second stage needs the sentence encoder {needed}: none installed"
            ) from None
        if installed != needed:
            raise ValueError(f"the cascade's second stage needs the sentence encoder {needed}, not {installed}")

    @property
    def meta(self) -> dict[str, Any]:
        return self.first.meta

    @property
    def threshold(self) -> float:
        return self.first.threshold

    @property
    def second_loaded(self) -> bool:
        """Whether a message has needed the second stage yet (or it was given)."""
        return self._second is not None

    @property
    def second(self) -> LinearModel:
        if self._second is None:
            assert self.directory is not None  # checked in __init__
            second = LinearModel.load(self.directory, prefix=self.prefix)
            if second.labels != self.first.labels:
                raise ValueError(f"the cascade's stages have different labels in {self.directory}")
            self._second = second
        return self._second

    def decide(self, text: str) -> Decision:
        decision = self.first.decide(text)
        return decision if decision.confidence >= self.below else self.second.decide(text)

    def save(self, model_dir: str | Path) -> None:
        self.first.save(model_dir)
        self.second.save(model_dir, prefix=self.prefix, terms=False)


def load_model(model_dir: str | Path, lazy: bool = True) -> LinearModel | CascadeModel:
    """The served model of a directory: a `LinearModel`, or a `CascadeModel` when its model.json says so (its second
    stage read now unless `lazy`: a directory about to be deleted)."""
    directory = Path(model_dir)
    first = LinearModel.load(directory)
    if CASCADE not in first.meta:
        return first
    cascade = CascadeModel(first, directory)
    if not lazy:
        cascade.second  # noqa: B018 - reads the second stage now
    return cascade


class TrainedTriager:
    """Triage with an exported linear model (or a cascade of two); same result fields as the keyword baseline.
    Never raises on text."""

    def __init__(self, model_dir: str | Path):
        self.model = load_model(model_dir)
        self.name = str(self.model.meta.get("name", "supportpilot-linear"))
        self.version = str(self.model.meta.get("version", "0"))

    def triage(self, message: TriageInput) -> TriageResult:
        return triage_message(self, message, self._classify)

    def _classify(self, text: str) -> Classification:
        decision = self.model.decide(text)
        model = decision.model
        label, confidence = decision.label, round(decision.confidence, 3)
        if decision.rejected == REJECTED_BY_CLASS:
            drivers = ", ".join(
                f"'{gram}'" for gram in model.top_grams(decision.words, model.labels.index(OUT_OF_SCOPE))
            )
            explanation = "out of scope" + (f": {drivers}" if drivers else "")
            return Classification(OUT_OF_SCOPE, confidence, explanation, (REASON_OUT_OF_SCOPE,))
        drivers = ", ".join(f"'{gram}'" for gram in model.top_grams(decision.words, decision.label_index))
        if decision.rejected == REJECTED_AS_NOVEL:
            explanation = f"low confidence: best guess '{label}' ({confidence})" + (
                f" from {drivers}" if drivers else ""
            )
            return Classification(OUT_OF_SCOPE, confidence, explanation, (REASON_LOW_CONFIDENCE, REASON_OUT_OF_SCOPE))
        explanation = f"drove '{label}': {drivers}" if drivers else f"'{label}' from the text as a whole"
        return Classification(label, confidence, explanation)
