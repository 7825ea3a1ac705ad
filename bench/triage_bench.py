"""Triage benchmark: accuracy on public data sets, novelty, speed and size of the served model.

    .venv/bin/python -m bench.triage_bench [--model DIR] [--out FILE] [--speed-only]

- banking77: `train_model` on train.csv (its own stratified 20% holdout for the threshold, then refitted
  on all of train.csv, as `supportpilot train --refit`), closed-set accuracy of the pure-Python scorer on test.csv;
- clinc150: trained on train and oos_train (the out-of-scope class), threshold on the in-scope validation split
  only (>= 95% kept), then
  in-scope accuracy and out-of-scope recall on test + oos_test;
- warm p50 of `TrainedTriager.triage` per message over the seed corpus, with the default model: after 50
  messages (a message still brings new words to the scorer's caches), and after every message was seen once; and
  of the model's decision alone (`LinearModel.decide`), without language, emotional load, explanation and result
  (bench/warm_triage.py, in a fresh process);
- cold start: a fresh process that imports the triage package, loads the model and triages one message
  (wall time, and the child's CPU time, which stays put when other work shares the machine);
- artifact size of the model directory.

Speed and cold start run under `bench.layer.LAMBDA_PYTHON` (Lambda's Python where `make bench` found one). Data sets
come from ../shared/data; a missing one is reported as skipped, not failed.
"""

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.layer import LAMBDA_PYTHON, build_layer, lambda_python_description, layer_environment
from supportpilot.triage.interface import OUT_OF_SCOPE
from supportpilot.triage.linear_model import Encoder
from supportpilot.triage.sentence_encoder import SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import Example, evaluate_model, read_corpus, train_model, write_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEFAULT_MODEL = ROOT / "shared" / "supportpilot" / "triage" / "models" / "default"
COLD_RUNS = 5
WARM_TRIAGE = Path(__file__).with_name("warm_triage.py")
COLD_CODE = (
    "from supportpilot.triage import load_triager, TriageInput; "
    "load_triager({model!r}).triage(TriageInput(subject='Bestelling', body='Waar blijft mijn pakket?'))"
)


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


BANKING77 = DATA / "banking77"
CLINC150 = DATA / "clinc150" / "data_full.json"


def banking77_rows(split: str) -> list[Example]:
    with (BANKING77 / f"{split}.csv").open(encoding="utf-8", newline="") as handle:
        return [Example(row["text"], row["category"]) for row in csv.DictReader(handle)]


def clinc150_rows(*splits: str) -> list[Example]:
    """Rows of the given splits of clinc150's full variant, its "oos" intent as OUT_OF_SCOPE."""
    data = json.loads(CLINC150.read_text(encoding="utf-8"))
    return [Example(text, OUT_OF_SCOPE if label == "oos" else label) for split in splits for text, label in data[split]]


def banking77(encoder: Encoder | None = None) -> dict[str, float] | str:
    if not BANKING77.is_dir():
        return f"skipped: {BANKING77} not found"
    trained = train_model(banking77_rows("train"), refit=True, encoder=encoder, progress=_progress)
    report = evaluate_model(trained, banking77_rows("test"))
    return {"accuracy": report["closed_set_accuracy"], "features": len(trained.features)}


def clinc150(encoder: Encoder | None = None) -> dict[str, float] | str:
    if not CLINC150.is_file():
        return f"skipped: {CLINC150} not found"
    trained = train_model(
        clinc150_rows("train", "oos_train"), validation=clinc150_rows("val"), encoder=encoder, progress=_progress
    )
    report = evaluate_model(trained, clinc150_rows("test", "oos_test"))
    return {
        "in_scope_accuracy": report["closed_set_accuracy"],
        "in_scope_kept": report["in_scope_kept"],
        "out_of_scope_recall": report["out_of_scope_recall"],
    }


def warm_p50_ms(model_dir: Path, layer: Path, seen_first: int = 50, decision_only: bool = False) -> float:
    """bench/warm_triage.py's median time per message over the seed corpus, in a fresh process under
    LAMBDA_PYTHON with the package from `layer`."""
    arguments = [str(WARM_TRIAGE), str(model_dir), str(ROOT / "corpus"), str(seen_first)]
    completed = subprocess.run(
        [LAMBDA_PYTHON, *arguments, *(["--decision-only"] if decision_only else [])],
        check=True,
        capture_output=True,
        text=True,
        env=layer_environment(layer),
    )
    return json.loads(completed.stdout)["p50_ms"]


def cold_start_ms(code: str, layer: Path) -> tuple[float, float]:
    """Medians of wall time and CPU time (user + system) of fresh processes running `code` under LAMBDA_PYTHON with
    the supportpilot package from `layer` (`bench.layer.build_layer`: its own .pyc, none written)."""
    walls, cpus = [], []
    for _ in range(COLD_RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([LAMBDA_PYTHON, "-c", code], check=True, cwd=ROOT, env=layer_environment(layer))
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def artifact_mb(model_dir: Path) -> float:
    return sum(path.stat().st_size for path in model_dir.iterdir()) / 1e6


def seed_holdout(model_dir: Path) -> list[tuple[str, str, str]]:
    """The default model's own holdout figures, as `make model` measured them (model.json)."""
    metrics = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))["metrics"]
    rows = [("seed corpus holdout: in-scope accuracy (`make model`)", "-", f"{metrics['accuracy']:.3f}")]
    if "out_of_scope_recall" in metrics:
        recall = metrics["out_of_scope_recall"]
        kept = metrics["in_scope_kept"]
        rows.append(("seed corpus holdout: out-of-scope recall at in-scope kept", "-", f"{recall:.3f} at {kept:.2f}"))
    return rows


def _figure(result: dict[str, float] | str, key: str) -> str:
    return result if isinstance(result, str) else f"{result[key]:.3f}"


COLD_START_NOTE = (
    "The cold start covers the triage package as `supportpilot triage` and the classify stage use it: Python, "
    "pydantic (`TriageInput`, `TriageResult`), `supportpilot.models`, `supportpilot.mail.text` (its "
    "`split_reply` cuts quoted replies), the triage modules' regular expressions, the model files (and, for an "
    "encoder model, numpy and the encoder) and one message; the package as SupportPilotLayer ships it (compiled "
    "by shared/Makefile), installed packages with their .pyc. It does not include boto3, "
    "Powertools or the rest of the classify handler (its adapters, settings and queue messages): see "
    "ClassifyFunction in the cold start table, and its column without boto3. Words the scorer has not seen in "
    "this process cost more than known ones "
    "(per-token sums and per-row terms are cached): the speed rows are measured after only 50 seed messages, "
    "when a message still brings words new to the process (two at the median)."
)


def _speed_rows(model_dir: Path, layer: Path) -> dict[str, str]:
    cold, cold_cpu = cold_start_ms(COLD_CODE.format(model=str(model_dir)), layer)
    floor, _ = cold_start_ms("pass", layer)
    every = len(read_corpus(ROOT / "corpus"))
    return {
        "warm": f"{warm_p50_ms(model_dir, layer):.3f} ms",
        "warm_seen": f"{warm_p50_ms(model_dir, layer, seen_first=every):.3f} ms",
        "warm_decision": f"{warm_p50_ms(model_dir, layer, decision_only=True):.3f} ms",
        "cold": f"{cold:.0f} ms, CPU {cold_cpu:.0f} ms ({floor:.0f} ms of it `python -c pass`)",
    }


def _encoder_model(encoder: SentenceEncoder, out: Path) -> Path:
    """The seed corpus trained as `make model` does, with the sentence encoder block."""
    examples = read_corpus(ROOT / "corpus")
    return write_model(train_model(examples, name="supportpilot-default", encoder=encoder, progress=_progress), out)


def table(model_dir: Path, speed_only: bool = False) -> str:
    skipped = "skipped: --speed-only"
    encoder = SentenceEncoder(default_encoder_dir())
    with tempfile.TemporaryDirectory() as scratch:
        encoder_model = _encoder_model(encoder, Path(scratch) / "model")
        layer = build_layer(Path(scratch) / "layer")
        columns = []
        for directory, with_encoder in ((model_dir, None), (encoder_model, encoder)):
            bank, clinc = (skipped, skipped) if speed_only else (banking77(with_encoder), clinc150(with_encoder))
            size = artifact_mb(directory) + (artifact_mb(default_encoder_dir()) if with_encoder else 0.0)
            columns.append({"bank": bank, "clinc": clinc, "size": size, **_speed_rows(directory, layer)})
            columns[-1]["holdout"] = seed_holdout(directory)
    rows = [
        ("banking77 accuracy (train.csv -> test.csv)", ">= 0.93", [_figure(c["bank"], "accuracy") for c in columns]),
        ("clinc150 in-scope accuracy", ">= 0.94", [_figure(c["clinc"], "in_scope_accuracy") for c in columns]),
        (
            "clinc150 out-of-scope recall at >= 95% in-scope kept (validation)",
            ">= 0.85",
            [_figure(c["clinc"], "out_of_scope_recall") for c in columns],
        ),
        ("clinc150 in-scope kept on test", "~0.95", [_figure(c["clinc"], "in_scope_kept") for c in columns]),
        (
            "one message, warm, p50: the model's decision (tokens, scores, novelty), what the target's reference "
            "(scikit-learn's pipeline) does",
            "<= 0.2 ms",
            [c["warm_decision"] for c in columns],
        ),
        (
            "one message, warm, p50: the whole triage (the decision, language, emotional load, explanation, result)",
            "-",
            [c["warm"] for c in columns],
        ),
        ("the whole triage, every seed message seen once before", "-", [c["warm_seen"] for c in columns]),
        ("cold start: import + load model + first triage, fresh process", "<= 150 ms", [c["cold"] for c in columns]),
        ("model artifact (with the encoder's files)", "<= 10 MB", [f"{c['size']:.2f} MB" for c in columns]),
        *(
            (what, target, [column["holdout"][row][2] for column in columns])
            for row, (what, target, _) in enumerate(columns[0]["holdout"])
        ),
    ]
    lines = [
        "| what | target | linear (shipped default) | linear + sentence encoder |",
        "|---|---|---|---|",
    ]
    lines += [f"| {what} | {target} | {' | '.join(figures)} |" for what, target, figures in rows]
    return "\n".join(lines) + "\n\n" + COLD_START_NOTE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model directory (default: shipped model)")
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    parser.add_argument("--speed-only", action="store_true", help="skip banking77 and clinc150 (no training)")
    args = parser.parse_args(argv)
    if not (args.model / "model.json").is_file():
        print(f"bench: no model at {args.model}; run `make model` first", file=sys.stderr)
        return 2
    result = (
        f"`.venv/bin/python -m bench.triage_bench` (speed: {lambda_python_description()})\n\n"
        f"{table(args.model, args.speed_only)}\n"
    )
    print(result)
    if args.out:
        args.out.write_text(result, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
