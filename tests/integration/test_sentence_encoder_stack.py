"""`EnableSentenceEncoder=true` on the in-process stack: RetrainFunction trains with the sentence encoder block,
the classify stage serves the promoted version with it (and a cascade retrained on a machine with `--fine-tune`), and
without the encoder's files a retrain fails cleanly.

The seed corpus here is a slice of corpus/ (the encoder costs ~10 ms a text); the encoder is the one `make encoder`
fetched, as the SentenceEncoderLayer brings it to /opt/sentence-encoder in AWS."""

import json
import os
from collections import defaultdict

import boto3
import pytest

from supportpilot.adapters.learning_stack import retrain_service
from supportpilot.adapters.model_store import S3ModelArtifacts
from supportpilot.learning.desk import RetrainRequest
from supportpilot.learning.retrain import RetrainSettings
from supportpilot.triage import fine_tuning
from supportpilot.triage.linear_model import CascadeModel
from supportpilot.triage.sentence_encoder import ENCODER_DIR_VARIABLE, SentenceEncoder, default_encoder_dir
from supportpilot.triage.training import read_corpus
from tests.conftest import PROJECT_ROOT
from tests.integration.test_learning import Clock, new_ticket
from tests.integration.test_operator_api import ADMIN, SUPERVISOR
from tests.pipeline import Pipeline
from tests.unit.triage.test_cascade import stand_in_tuning

ROWS_PER_LABEL = 30


@pytest.fixture(scope="module")
def seed_slice(tmp_path_factory):
    by_label = defaultdict(list)
    for example in read_corpus(PROJECT_ROOT / "corpus"):
        by_label[example.label].append(example)
    directory = tmp_path_factory.mktemp("seed")
    rows = [example for examples in by_label.values() for example in examples[:ROWS_PER_LABEL]]
    lines = [json.dumps({"text": e.text, "label": e.label, "language": e.language}) for e in rows]
    (directory / "seed_slice.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def stack(seed_slice):
    environment = {"MIN_LABELS_PER_CATEGORY": "3", "POWERTOOLS_METRICS_DISABLED": "true"}
    with Pipeline.in_process(environment, parameters={"EnableSentenceEncoder": "true"}) as pipeline:
        S3ModelArtifacts(boto3.client("s3"), pipeline.stack.physical_id("ModelBucket")).upload_seed(seed_slice)
        yield pipeline


def test_the_functions_environment_points_at_the_layer_in_aws_and_at_this_machine_locally(stack):
    functions = boto3.client("lambda")
    classify = functions.get_function_configuration(FunctionName=stack.stack.physical_id("ClassifyFunction"))
    retrain = functions.get_function_configuration(FunctionName=stack.stack.physical_id("RetrainFunction"))
    assert retrain["Environment"]["Variables"]["TRAIN_WITH_SENTENCE_ENCODER"] == "true"
    assert classify["Environment"]["Variables"][ENCODER_DIR_VARIABLE] == "/opt/sentence-encoder"
    assert os.environ.get(ENCODER_DIR_VARIABLE) != "/opt/sentence-encoder"  # locally: where `make encoder` put it
    assert SentenceEncoder(default_encoder_dir()).spec["dimensions"] == 512


def test_a_version_retrained_with_the_encoder_serves_in_the_classify_stage(stack):
    supervisor, admin = stack.operator_token(SUPERVISOR), stack.operator_token(ADMIN)
    assert stack.call_operator_api("POST", "/api/models/retrain", supervisor)["status"] == 200
    stack.drain()
    (version,) = stack.call_operator_api("GET", "/api/models", supervisor)["body"]["versions"]
    if version["status"] == "rejected":  # the promotion rule judges accuracy; this test is about serving
        assert stack.call_operator_api("POST", f"/api/models/{version['version']}/promote", admin)["status"] == 200

    classify = stack.handler_module("ClassifyFunction")
    classify.triager.clock = clock = Clock()
    clock.now += 61  # the pointer cache expires
    ticket_id = new_ticket(stack, "Waar blijft mijn pakket? Ik heb vorige week besteld en nog niets ontvangen.", 1)
    assert stack.store.get_ticket(ticket_id).triage.model_version == version["version"]
    served = classify.triager.current().model
    assert served.meta["encoder"] == SentenceEncoder(default_encoder_dir()).spec


def test_a_cascade_retrained_on_a_machine_serves_in_the_classify_stage(stack, monkeypatch):
    """`supportpilot retrain --fine-tune` (RetrainFunction cannot fine-tune), with a stand-in for the fine-tuning."""
    monkeypatch.setattr(fine_tuning, "fine_tune_encoder", stand_in_tuning)
    supervisor, admin = stack.operator_token(SUPERVISOR), stack.operator_token(ADMIN)
    table, bucket = stack.stack.physical_id("DeskTable"), stack.stack.physical_id("ModelBucket")
    settings = RetrainSettings(min_labels_per_category=3, fine_tune=True)
    service = retrain_service(boto3.client("dynamodb"), boto3.client("s3"), table, bucket, 730, settings)

    outcome = service.retrain("cli:operator")

    assert outcome.status in ("promoted", "rejected"), outcome.message
    if outcome.status == "rejected":  # the promotion rule judges accuracy; this test is about serving
        path = f"/api/models/{outcome.version}/promote"
        assert stack.call_operator_api("POST", path, admin)["status"] == 200
    listed = stack.call_operator_api("GET", "/api/models", supervisor)["body"]["versions"]
    assert any(version["version"] == outcome.version for version in listed)
    classify = stack.handler_module("ClassifyFunction")
    classify.triager.clock = clock = Clock()
    clock.now += 3600  # the pointer cache expires, also after an earlier test's clock
    ticket_id = new_ticket(stack, "Ik wil mijn bestelling annuleren, hij is nog niet verzonden.", 2)
    assert stack.store.get_ticket(ticket_id).triage.model_version == outcome.version
    assert isinstance(classify.triager.current().model, CascadeModel)


def test_without_the_encoder_files_a_retrain_fails_and_the_serving_model_stays(stack, tmp_path, monkeypatch):
    supervisor = stack.operator_token(SUPERVISOR)
    before = stack.call_operator_api("GET", "/api/models", supervisor)["body"]
    monkeypatch.setenv(ENCODER_DIR_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="no complete sentence encoder"):  # -> the retrain dead-letter queue
        stack.handler_module("RetrainFunction").run(RetrainRequest(requested_by="schedule"))
    assert stack.call_operator_api("GET", "/api/models", supervisor)["body"] == before  # no version, same serving
