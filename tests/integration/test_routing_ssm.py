"""The routing policy override in an SSM parameter, read through PolicySource, against moto in-process."""

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from supportpilot.adapters.ssm_policy import SsmPolicyOverrides
from supportpilot.routing import PolicyOverrideUnavailable, PolicyProblem, PolicySource, default_policy

PARAMETER = "/supportpilot/test/routing-policy"


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm", region_name="eu-west-1")


class Clock:
    def __init__(self):
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def override_text(version: str, **thresholds: Any) -> str:
    document = default_policy().model_dump(mode="json")
    document["version"] = version
    document["thresholds"] |= thresholds
    return json.dumps(document)


def put_override(ssm: Any, text: str) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=text, Type="String", Overwrite=True)


def test_a_missing_parameter_means_no_override(ssm):
    assert SsmPolicyOverrides(ssm, PARAMETER).fetch_override() is None


def test_the_parameter_value_is_the_override(ssm):
    put_override(ssm, override_text("2026-11-28.1"))

    assert json.loads(SsmPolicyOverrides(ssm, PARAMETER).fetch_override() or "")["version"] == "2026-11-28.1"


def test_a_failing_read_is_reported_as_unavailable():
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "GetParameter")

    class DeniedClient:
        def get_parameter(self, **_: Any) -> dict:
            raise denied

    with pytest.raises(PolicyOverrideUnavailable, match="AccessDeniedException"):
        SsmPolicyOverrides(DeniedClient(), PARAMETER).fetch_override()


def test_the_policy_in_force_follows_the_parameter_and_survives_a_broken_one(ssm):
    problems: list[PolicyProblem] = []
    clock = Clock()
    source = PolicySource(SsmPolicyOverrides(ssm, PARAMETER), on_problem=problems.append, clock=clock)
    assert source.current() == default_policy()

    put_override(ssm, override_text("2026-11-28.1", return_window_days=14))
    clock.seconds += 60
    assert source.current().thresholds.return_window_days == 14

    put_override(ssm, override_text("2026-11-29.1", return_window_days="a month"))
    clock.seconds += 60
    assert source.current().version == "2026-11-28.1"
    assert [(p.kind, p.version_in_force) for p in problems] == [("override_invalid", "2026-11-28.1")]
    assert "thresholds.return_window_days" in problems[0].message

    ssm.delete_parameter(Name=PARAMETER)
    clock.seconds += 60
    assert source.current() == default_policy()
