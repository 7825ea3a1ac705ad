import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportpilot.local.stack import FAKE_CREDENTIALS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EVENTS = PROJECT_ROOT / "events"

# No test may reach a real AWS account, whatever the developer's shell holds.
os.environ.update(FAKE_CREDENTIALS)
for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(variable, None)


def load_event(relative: str) -> dict:
    return json.loads((EVENTS / relative).read_text())


@pytest.fixture(scope="module")
def pipeline() -> Iterator["Pipeline"]:  # noqa: F821
    from tests.pipeline import Pipeline

    with Pipeline.in_process() as running:
        yield running
