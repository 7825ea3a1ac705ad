"""Step Functions adapter for the escalation workflow: start, complete a task token, stop, describe."""

import json
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from supportpilot.escalation import EscalationAlreadyStarted, EscalationInput, EscalationOutcome, WorkflowUnavailable

_TOKEN_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
_TRANSIENT = {"ThrottlingException", "ServiceUnavailable", "InternalServerError", "InternalFailure"}


class ExecutionStatus(BaseModel):
    execution_arn: str
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    output: dict[str, Any] | None = None
    error: str | None = None


class StepFunctionsEscalationWorkflow:
    def __init__(self, client: Any, state_machine_arn: str):
        self._client = client
        self._state_machine_arn = state_machine_arn

    def execution_arn(self, name: str) -> str:
        return f"{self._state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"

    def start(self, name: str, escalation: EscalationInput) -> str:
        try:
            response = self._client.start_execution(
                stateMachineArn=self._state_machine_arn, name=name, input=escalation.model_dump_json()
            )
        except ClientError as exc:
            if _code(exc) == "ExecutionAlreadyExists":
                raise EscalationAlreadyStarted(self.execution_arn(name)) from exc
            raise _translate(exc) from exc
        return response["executionArn"]

    def resume(self, task_token: str, outcome: EscalationOutcome) -> bool:
        try:
            self._client.send_task_success(taskToken=task_token, output=outcome.model_dump_json())
        except ClientError as exc:
            if _code(exc) in _TOKEN_GONE:
                return False
            raise _translate(exc) from exc
        return True

    def stop(self, name: str) -> bool:
        """Without `error` and `cause`, so stopping needs no KMS permission on the execution's data."""
        execution_arn = self.execution_arn(name)
        try:
            if self._client.describe_execution(executionArn=execution_arn)["status"] != "RUNNING":
                return False
            self._client.stop_execution(executionArn=execution_arn)
        except ClientError as exc:
            if _code(exc) == "ExecutionDoesNotExist":
                return False
            raise _translate(exc) from exc
        return True

    def describe(self, execution_arn: str) -> ExecutionStatus:
        try:
            response = self._client.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            raise _translate(exc) from exc
        return ExecutionStatus(
            execution_arn=execution_arn,
            status=response["status"],
            output=json.loads(response["output"]) if response.get("output") else None,
            error=response.get("error"),
        )


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _translate(exc: ClientError) -> Exception:
    code = _code(exc)
    if code in _TRANSIENT:
        return WorkflowUnavailable(f"Step Functions is unavailable ({code})")
    return RuntimeError(f"Step Functions rejected the request ({code})")
