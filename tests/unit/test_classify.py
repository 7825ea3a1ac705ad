import os
import subprocess
import sys
from pathlib import Path

from supportpilot.classify import KEPT_TOPIC_REASON, keep_known_topic
from supportpilot.models import TriageResult
from supportpilot.triage.interface import REASON_NO_REQUEST


def result(category: str, needs_human: bool = False, reasons: tuple[str, ...] = (), load: float = 0.1) -> TriageResult:
    return TriageResult(
        category=category,
        confidence=0.9 if category != "out_of_scope" else 0.3,
        language="en",
        emotional_load=load,
        high_emotional_load=load >= 0.6,
        needs_human=needs_human,
        reasons=list(reasons),
        model_name="test",
        model_version="1",
    )


def test_a_reply_the_model_cannot_place_keeps_the_tickets_topic_and_its_own_load():
    earlier = result("product_defect")
    reply = result("out_of_scope", True, ("low confidence: 0.30", "high emotional load"), load=0.8)
    kept = keep_known_topic(earlier, reply)
    assert kept.category == "product_defect" and kept.confidence == 0.9
    assert kept.high_emotional_load and kept.needs_human
    assert kept.reasons == ["high emotional load", KEPT_TOPIC_REASON]


def test_a_calm_reply_on_a_known_topic_needs_no_person_for_being_short():
    kept = keep_known_topic(result("product_defect"), result("out_of_scope", True, ("low confidence: 0.30",)))
    assert kept.category == "product_defect" and not kept.needs_human


def test_a_thank_you_reply_keeps_the_tickets_topic_and_needs_no_person():
    kept = keep_known_topic(result("refund"), result("out_of_scope", True, (REASON_NO_REQUEST,)))
    assert kept.category == "refund" and not kept.needs_human and kept.reasons == []


def test_a_reply_with_its_own_topic_and_an_unknown_ticket_are_left_alone():
    refund = result("refund")
    assert keep_known_topic(result("product_defect"), refund) is refund
    unknown = result("out_of_scope", True, ("low confidence: 0.20",))
    assert keep_known_topic(result("out_of_scope", True), unknown) is unknown


def test_a_reply_placed_only_with_low_confidence_keeps_the_tickets_topic():
    weak = result("refund", True, ("low confidence",)).model_copy(update={"confidence": 0.41})
    kept = keep_known_topic(result("product_defect"), weak)
    assert kept.category == "product_defect" and kept.confidence == 0.9
    assert kept.reasons == [] and not kept.needs_human
    assert kept.explanation.startswith(KEPT_TOPIC_REASON)


def test_the_stages_after_ingest_do_not_load_the_webhook_parsers():
    """Their queue messages (`supportpilot.envelopes`) and domain modules stand alone: a cold start of classify,
    enrich, route or notify does not pay for importing (and, without .pyc files, compiling) the webhook sources."""
    code = (
        "import sys, supportpilot.envelopes, supportpilot.classify, supportpilot.enrich, supportpilot.route; "
        "print(sorted(name for name in sys.modules if name.startswith('supportpilot.webhooks')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_a_cold_start_of_the_classify_handler_loads_no_label_models_and_no_powertools_parser_models():
    """Neither is used in the classify stage: the operator's label models (reached through the learning loop's
    ports) and Powertools' parser models (loaded by its batch module when pydantic was imported before it)."""
    code_dir = Path(__file__).resolve().parents[2] / "functions" / "classify"
    environment = {
        **os.environ,
        "TABLE_NAME": "desk",
        "ENRICH_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/enrich",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    environment.pop("MODEL_BUCKET", None)
    code = (
        f"import sys; sys.path.append({str(code_dir)!r}); import app; "
        "print(sorted(name for name in sys.modules if name in "
        "('supportpilot.operator.models', 'aws_lambda_powertools.utilities.parser')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment
    ).stdout
    assert loaded.strip().splitlines()[-1] == "[]"
