"""The SQS stages' entry point: partial batch responses, and failures logged without their messages."""

import io
import subprocess
import sys
from logging import StreamHandler

import pytest
from aws_lambda_powertools import Logger

from supportpilot.lambda_entry import BatchFailed, SqsRecord, process_sqs_batch

logger = Logger(service="test")


def sqs_event(*bodies: str) -> dict:
    return {"Records": [{"messageId": f"m-{index}", "body": body} for index, body in enumerate(bodies)]}


def fail_on_bad(record: SqsRecord) -> None:
    if record.body == "bad":
        raise ValueError("could not deliver to jan.jansen@example.nl")


def test_the_failed_records_are_reported_and_the_others_done():
    done = []

    def handle(record: SqsRecord) -> None:
        fail_on_bad(record)
        done.append(record.body)

    assert process_sqs_batch(sqs_event("a", "bad", "c", "bad"), handle, logger) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]
    }
    assert done == ["a", "c"]


def test_a_batch_without_failures_reports_none():
    assert process_sqs_batch(sqs_event("a", "b"), fail_on_bad, logger) == {"batchItemFailures": []}


def test_a_batch_that_fails_entirely_raises_so_that_lambda_counts_an_error():
    with pytest.raises(BatchFailed, match=r"all 2 records failed \(ValueError\)"):
        process_sqs_batch(sqs_event("bad", "bad"), fail_on_bad, logger)


def test_a_failure_is_logged_with_its_place_but_not_its_message():
    output = io.StringIO()
    process_sqs_batch(
        sqs_event("a", "bad"), fail_on_bad, Logger(service="logged", logger_handler=StreamHandler(output))
    )

    logged = output.getvalue()
    assert "m-1" in logged and "ValueError" in logged and "in fail_on_bad" in logged
    assert "example.nl" not in logged


@pytest.mark.parametrize("event", [{}, {"Records": []}, {"Records": "x"}, []])
def test_an_event_that_is_no_sqs_batch_is_refused_clearly(event):
    with pytest.raises(ValueError, match="not an SQS event"):
        process_sqs_batch(event, fail_on_bad, logger)


def test_the_stages_do_not_load_powertools_batch_utility():
    """Its import took ~23 ms of each SQS stage's cold start."""
    code = "import sys, supportpilot.lambda_entry; print(sorted(m for m in sys.modules if '.batch' in m))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
