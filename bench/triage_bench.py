"""Triage benchmark: accuracy on public data sets, novelty, speed and size of the served model.

    .venv/bin/python -m bench.triage_bench [--model DIR] [--out FILE] [--speed-only]

Three columns, each trained with `supportpilot train`'s code: the linear model (`train`; its speed figures are the
shipped default model's), the linear model with the sentence encoder block (`train --encoder`), and the cascade of
the linear model and a linear model with a fine-tuned encoder (`train --fine-tune`); the last two's speed figures
are the seed corpus's model trained that way.

- banking77: trained on train.csv (its own stratified 20% holdout for the threshold and the cascade's t, then
  refitted on all of train.csv, as `supportpilot train --refit`), closed-set accuracy of the pure-Python scorer on
  test.csv, the share of test messages a cascade's second stage decided, and that model's decision p50 over
  test.csv (bench/warm_triage.py);
- clinc150: trained on train and oos_train (the out-of-scope class), threshold (and t) on the in-scope validation
  split only (>= 95% kept), then in-scope accuracy and out-of-scope recall on test + oos_test;
- warm p50 of `TrainedTriager.triage` per message over the seed corpus: after 50 messages (a message still brings
  new words to the scorer's caches), and after every message was seen once; and of the model's decision alone
  (`decide`), without language, emotional load, explanation and result (bench/warm_triage.py: the median of
  WARM_RUNS fresh processes' p50s); beside the target, the target's reference measured in the same run: scikit-learn's
  own pipeline, one message at a time (`scikit_learn_p50_ms`);
- cold start: a fresh process that imports the triage package, loads the model and triages one message
  (wall time, and the child's CPU time, which stays put when other work shares the machine); for a cascade also
  with a first message that its second stage decides (the seed message the first stage is least sure of);
- artifact size of the model directory, with the encoder's files for a model that needs them.

Speed and cold start run under `bench.layer.LAMBDA_PYTHON` (Lambda's Python where `make bench` found one). Data sets
come from ../shared/data; a missing one is reported as skipped, not failed. The cascade needs jax and optax (the
`fine-tune` extra, in dev.lock).
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
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.layer import LAMBDA_PYTHON, build_layer, lambda_python_description, layer_environment
from supportpilot.triage.fine_tuning import fine_tune_encoder
from supportpilot.triage.interface import OUT_OF_SCOPE
from supportpilot.triage.linear_model import ENCODER_WEIGHTS_FILE, CascadeModel, LinearModel, load_model
from supportpilot.triage.sentence_encoder import SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import (
    Example,
    evaluate_model,
    read_corpus,
    train_cascade,
    train_model,
    write_model,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEFAULT_MODEL = ROOT / "shared" / "supportpilot" / "triage" / "models" / "default"
COLD_RUNS = 5
WARM_RUNS = 3
WARM_TRIAGE = Path(__file__).with_name("warm_triage.py")
COLD_CODE = (
    "from supportpilot.triage import load_triager, TriageInput; "
    "triager = load_triager({model!r}); triager.triage(TriageInput(subject={subject!r}, body={body!r}))"
)
SECOND_STAGE_USED = "; assert triager.model.second_loaded, 'the first stage decided'"


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


Train = Callable[..., LinearModel | CascadeModel]  # `train_model` or `train_cascade` with their settings


def banking77(train: Train, scratch: Path, layer: Path) -> dict[str, float] | str:
    """Closed-set accuracy on test.csv of a model trained on train.csv (refitted, as `train --refit`), the share of
    test messages a cascade's second stage decided, and that model's decision p50 over the test messages."""
    if not BANKING77.is_dir():
        return f"skipped: {BANKING77} not found"
    trained = train(banking77_rows("train"), refit=True, progress=_progress)
    test = banking77_rows("test")
    report = evaluate_model(trained, test)
    model_dir = write_model(trained, scratch / "banking77")
    texts = scratch / "banking77-test.json"
    texts.write_text(json.dumps([example.text for example in test]))
    return {
        "accuracy": report["closed_set_accuracy"],
        "right": f"{round(report['closed_set_accuracy'] * len(test)):,} of {len(test):,}",
        "to_second_stage": report.get("to_second_stage"),
        "decision_p50": warm_p50_ms(model_dir, layer, texts=texts, decision_only=True),
        "size": model_mb(model_dir),
    }


def clinc150(train: Train) -> dict[str, float] | str:
    if not CLINC150.is_file():
        return f"skipped: {CLINC150} not found"
    trained = train(clinc150_rows("train", "oos_train"), validation=clinc150_rows("val"), progress=_progress)
    report = evaluate_model(trained, clinc150_rows("test", "oos_test"))
    return {
        "in_scope_accuracy": report["closed_set_accuracy"],
        "in_scope_kept": report["in_scope_kept"],
        "out_of_scope_recall": report["out_of_scope_recall"],
        "to_second_stage": report.get("to_second_stage"),
    }


def warm_p50_ms(
    model_dir: Path, layer: Path, seen_first: int = 50, decision_only: bool = False, texts: Path = ROOT / "corpus"
) -> float:
    """bench/warm_triage.py's median time per message over `texts` (the seed corpus, or a JSON list of texts), in a
    fresh process under LAMBDA_PYTHON with the package from `layer`: the median of WARM_RUNS such processes, since
    one process reads up to a tenth more or less than the next on a shared machine."""
    arguments = [str(WARM_TRIAGE), str(model_dir), str(texts), str(seen_first)]
    p50s = []
    for _ in range(WARM_RUNS):
        completed = subprocess.run(
            [LAMBDA_PYTHON, *arguments, *(["--decision-only"] if decision_only else [])],
            check=True,
            capture_output=True,
            text=True,
            env=layer_environment(layer),
        )
        p50s.append(json.loads(completed.stdout)["p50_ms"])
    return statistics.median(p50s)


def scikit_learn_p50_ms(seen_first: int = 50) -> float:
    """The speed target's reference, on this machine: scikit-learn's own pipeline (TfidfVectorizer word 1-2 and
    char_wb 2-5 grams, sublinear TF; LogisticRegression) trained on the seed corpus, `predict_proba` of one message,
    timed as bench/warm_triage.py times the model (the median time per seed message, after the first `seen_first`),
    in this process: the bench's own Python, which has scikit-learn."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union
    from threadpoolctl import threadpool_limits

    examples = read_corpus(ROOT / "corpus")
    texts = [example.text for example in examples]
    pipeline = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        ),
        LogisticRegression(max_iter=2000),
    )
    with threadpool_limits(limits=1):
        pipeline.fit(texts, [example.label for example in examples])
        for text in texts[:seen_first]:
            pipeline.predict_proba([text])
        timings = []
        for text in texts:
            start = time.perf_counter_ns()
            pipeline.predict_proba([text])
            timings.append(time.perf_counter_ns() - start)
    return statistics.median(timings) / 1e6


def cold_start_ms(code: str, layer: Path) -> tuple[float, float]:
    """Medians of wall time and CPU time (user + system) of fresh processes running `code` under LAMBDA_PYTHON with
    the supportpilot package from `layer` (`bench.layer.build_layer`: its own .pyc, none written).

    Each process ends with `os._exit`: a Lambda environment lives on after its first event, so the interpreter's
    teardown (freeing every module and object, ~7% of such a process's instructions) is no part of a cold start."""
    walls, cpus = [], []
    for _ in range(COLD_RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        ended = f"{code}\nimport os; os._exit(0)"
        subprocess.run([LAMBDA_PYTHON, "-c", ended], check=True, cwd=ROOT, env=layer_environment(layer))
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def artifact_mb(model_dir: Path) -> float:
    return sum(path.stat().st_size for path in model_dir.iterdir()) / 1e6


def model_mb(model_dir: Path) -> float:
    """The model directory, and the encoder's files when the model needs them."""
    needs_encoder = any(model_dir.glob(f"*{ENCODER_WEIGHTS_FILE}"))
    return artifact_mb(model_dir) + (artifact_mb(default_encoder_dir()) if needs_encoder else 0.0)


def seed_holdout(model_dir: Path) -> list[tuple[str, str, str]]:
    """The default model's own holdout figures, as `make model` measured them (model.json)."""
    metrics = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))["metrics"]
    rows = [("seed corpus holdout: in-scope accuracy (`make model`)", "-", f"{metrics['accuracy']:.3f}")]
    if "out_of_scope_recall" in metrics:
        recall = metrics["out_of_scope_recall"]
        kept = metrics["in_scope_kept"]
        rows.append(("seed corpus holdout: out-of-scope recall at in-scope kept", "-", f"{recall:.3f} at {kept:.2f}"))
    return rows


def _figure(result: dict[str, float] | str, key: str, form: str = "{:.3f}") -> str:
    return result if isinstance(result, str) else form.format(result[key])


COLD_START_NOTE = (
    "The cold start covers the triage package as `supportpilot triage` and the classify stage use it: Python, "
    "pydantic (`TriageInput`, `TriageResult`), `supportpilot.models`, `supportpilot.mail.text` (its "
    "`split_reply` cuts quoted replies), the triage modules' regular expressions, the model files (and, for an "
    "encoder model, numpy and the encoder) and one message; the package as SupportPilotLayer ships it (compiled "
    "by shared/Makefile, with its regular expressions' compiled programs), installed packages with their .pyc; "
    "the process ends without the interpreter's teardown (`os._exit`), as a Lambda environment lives on after its "
    "first event. It does not include boto3, "
    "Powertools or the rest of the classify handler (its adapters, settings and queue messages): see "
    "ClassifyFunction in the cold start table, and its column without boto3. Words the scorer has not seen in "
    "this process cost more than known ones "
    "(per-token sums and per-row terms are cached): the speed rows are measured after only 50 seed messages, "
    "when a message still brings words new to the process (two at the median)."
)


def _speed_rows(model_dir: Path, layer: Path) -> dict[str, str]:
    cold, cold_cpu = cold_start_ms(
        COLD_CODE.format(model=str(model_dir), subject="Bestelling", body="Waar blijft mijn pakket?"), layer
    )
    floor, _ = cold_start_ms("pass", layer)
    every = len(read_corpus(ROOT / "corpus"))
    rows = {
        "warm": f"{warm_p50_ms(model_dir, layer):.3f} ms",
        "warm_seen": f"{warm_p50_ms(model_dir, layer, seen_first=every):.3f} ms",
        "warm_decision": f"{warm_p50_ms(model_dir, layer, decision_only=True):.3f} ms",
        "cold": f"{cold:.0f} ms, CPU {cold_cpu:.0f} ms ({floor:.0f} ms of it `python -c pass`)",
        "cold_second_stage": "-",
    }
    model = load_model(model_dir)
    if isinstance(model, CascadeModel):
        hardest = min(
            (example.text for example in read_corpus(ROOT / "corpus")),
            key=lambda text: model.first.decide(text).confidence,
        )
        code = COLD_CODE.format(model=str(model_dir), subject="", body=hardest) + SECOND_STAGE_USED
        cold, cold_cpu = cold_start_ms(code, layer)
        rows["cold_second_stage"] = f"{cold:.0f} ms, CPU {cold_cpu:.0f} ms"
    return rows


def _seed_model(train: Train, out: Path) -> Path:
    """The seed corpus trained as `make model` does, with `train`."""
    return write_model(train(read_corpus(ROOT / "corpus"), name="supportpilot-default", progress=_progress), out)


def _variants() -> list[tuple[str, Train | None]]:
    """(column title, how it trains; None: the shipped default model, as `make model` trains it)."""
    encoder = SentenceEncoder(default_encoder_dir())
    return [
        ("linear (shipped default)", None),
        ("linear + sentence encoder (`train --encoder`)", partial(train_model, encoder=encoder)),
        (
            "cascade: linear, then linear + fine-tuned encoder (`train --fine-tune`)",
            partial(train_cascade, encoder=encoder, tune=fine_tune_encoder),
        ),
    ]


def _share(result: dict[str, float] | str) -> str:
    if isinstance(result, str) or result["to_second_stage"] is None:
        return "-" if not isinstance(result, str) else result
    return f"{result['to_second_stage']:.1%}"


def table(model_dir: Path, speed_only: bool = False) -> str:
    skipped = "skipped: --speed-only"
    columns = []
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        layer = build_layer(scratch / "layer")
        for number, (title, train) in enumerate(_variants()):
            column_dir = scratch / f"column-{number}"
            column_dir.mkdir()
            directory = model_dir if train is None else _seed_model(train, column_dir / "seed-model")
            train = train or train_model
            bank, clinc = (skipped, skipped) if speed_only else (banking77(train, column_dir, layer), clinc150(train))
            columns.append(
                {
                    "title": title,
                    "bank": bank,
                    "clinc": clinc,
                    "size": model_mb(directory),
                    **_speed_rows(directory, layer),
                }
            )
            columns[-1]["holdout"] = seed_holdout(directory)
    rows = [
        ("banking77 accuracy (train.csv -> test.csv)", ">= 0.93", [_figure(c["bank"], "accuracy") for c in columns]),
        ("banking77: test messages right", ">= 2,865 of 3,080", [_figure(c["bank"], "right", "{}") for c in columns]),
        ("banking77: test messages decided by the cascade's second stage", "-", [_share(c["bank"]) for c in columns]),
        (
            "banking77: the model's decision, warm, p50 over test.csv",
            "-",
            [_figure(c["bank"], "decision_p50", "{:.3f} ms") for c in columns],
        ),
        (
            "banking77: model artifact (with the encoder's files)",
            "-",
            [_figure(c["bank"], "size", "{:.2f} MB") for c in columns],
        ),
        ("clinc150 in-scope accuracy", ">= 0.94", [_figure(c["clinc"], "in_scope_accuracy") for c in columns]),
        (
            "clinc150 out-of-scope recall at >= 95% in-scope kept (validation)",
            ">= 0.85",
            [_figure(c["clinc"], "out_of_scope_recall") for c in columns],
        ),
        ("clinc150 in-scope kept on test", "~0.95", [_figure(c["clinc"], "in_scope_kept") for c in columns]),
        ("clinc150: test messages decided by the cascade's second stage", "-", [_share(c["clinc"]) for c in columns]),
        (
            "one message, warm, p50: the model's decision (tokens, scores, novelty), what the target's reference "
            "(scikit-learn's pipeline) does",
            f"<= 0.2 ms (the reference, scikit-learn's pipeline: 0.5 ms in the issue, {scikit_learn_p50_ms():.3f} ms "
            "in this run)",
            [c["warm_decision"] for c in columns],
        ),
        (
            "one message, warm, p50: the whole triage (the decision, language, emotional load, explanation, result)",
            "-",
            [c["warm"] for c in columns],
        ),
        ("the whole triage, every seed message seen once before", "-", [c["warm_seen"] for c in columns]),
        ("cold start: import + load model + first triage, fresh process", "<= 150 ms", [c["cold"] for c in columns]),
        (
            "cold start when the first message goes to the cascade's second stage",
            "-",
            [c["cold_second_stage"] for c in columns],
        ),
        ("model artifact (with the encoder's files)", "<= 10 MB", [f"{c['size']:.2f} MB" for c in columns]),
        *(
            (what, target, [column["holdout"][row][2] for column in columns])
            for row, (what, target, _) in enumerate(columns[0]["holdout"])
        ),
    ]
    lines = [
        f"| what | target | {' | '.join(column['title'] for column in columns)} |",
        "|---|---|" + "---|" * len(columns),
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
