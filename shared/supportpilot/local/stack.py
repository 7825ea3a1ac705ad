"""The local stack: template.yaml's resources created in moto, and its functions loaded in-process.

moto runs either as a server on loopback (the demo, the benchmark) or in-process (tests, inside
`moto.mock_aws`). Handlers are the real `functions/*/app.py` modules, imported with the
environment that CloudFormation resolved for each function, so `!Ref`s behave as in AWS.
"""

import importlib.util
import io
import itertools
import json
import logging
import math
import os
import secrets as secrets_module
import sys
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from supportpilot.local.cognito import LocalUserPool, create_operator, create_user_pools
from supportpilot.local.template import (
    PLACEHOLDER_CODE_BUCKET,
    FunctionSpec,
    Template,
    cloudformation_for_moto,
    load_template,
    logical_id_of,
    placeholder_code_keys,
    substitute_refs,
)

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "supportpilot-local"
LAMBDA_LAYER_ROOT = "/opt/"
# The local stack turns the optional Amazon Connect function on, so the demo and tests run it too.
DEMO_PARAMETERS = {
    "SupportDomain": "shop.example.nl",
    "SupportAddress": "support@shop.example.nl",
    "EnableConnect": "true",
}
# Development-only secrets: the samples in events/ are signed with these when replayed.
DEMO_WEBHOOK_SECRETS = {
    "form": "demo-form-secret",
    "shopify": "demo-shopify-secret",
    "woocommerce": "demo-woocommerce-secret",
    "stripe": "whsec_demo_stripe_secret",
    "x": "demo-x-consumer-secret",
    "meta": "demo-meta-app-secret",
    "meta_verify_token": "demo-meta-verify-token",
}
# Development-only operators, one per role, created by `supportpilot demo` and the tests.
DEMO_OPERATORS = {"agent@example.com": "agent", "supervisor@example.com": "supervisor", "admin@example.com": "admin"}
DEMO_OPERATOR_PASSWORD = "Local-Desk-Demo-2026!"  # noqa: S105 (development only, printed by the demo)
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# State machines really execute (service integrations only; moto runs no Lambda code).
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
_module_counter = itertools.count()


def use_local_aws(endpoint_url: str | None) -> None:
    """Point every boto3 client of this process at moto (server URL, or in-process when None)."""
    os.environ.update(FAKE_CREDENTIALS)
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)


# moto's TransactWriteItems deep-copies the table for rollback and fails with "dictionary changed size
# during iteration" when another thread writes meanwhile (a state machine's SDK integration, a poller);
# AWS serialises conflicting writes itself. Locally, DynamoDB answers one request at a time.
_DYNAMODB_REQUESTS = threading.Lock()


def _is_dynamodb(target: str | bytes | None) -> bool:
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    return bool(target) and target.startswith("DynamoDB_")


class _SerialisedDynamoDB:
    """WSGI middleware for moto's server: one DynamoDB request at a time."""

    def __init__(self, app: Any):
        self._app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if _is_dynamodb(environ.get("HTTP_X_AMZ_TARGET")):
            with _DYNAMODB_REQUESTS:
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


def serialise_in_process_dynamodb() -> None:
    """The same for `mock_aws`, where requests from every thread reach moto through its botocore stubber."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    if getattr(original, "serialised", False):
        return

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        if _is_dynamodb(request.headers.get("X-Amz-Target")):
            with _DYNAMODB_REQUESTS:
                return original(self, request)
        return original(self, request)

    process_request.serialised = True  # type: ignore[attr-defined]
    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]


class MotoServer:
    """moto in server mode on loopback, on a free port."""

    def __init__(self, port: int = 0):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = _SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
        host, bound_port = self._server.server_address[:2]
        self.url = f"http://{host}:{bound_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    def start(self) -> str:
        self._thread.start()
        # Step Functions executions call their service integrations back on this port.
        os.environ["MOTO_PORT"] = self.url.rsplit(":", 1)[1]
        request = urllib.request.Request(  # noqa: S310 (moto on loopback)
            f"{self.url}/moto-api/config",
            data=json.dumps(MOTO_CONFIG).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


class FakeLambdaContext:
    def __init__(self, function_name: str, memory_mb: int, timeout_s: int):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._timeout_ms = timeout_s * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


@dataclass
class LocalFunction:
    """A handler of template.yaml, imported in this process. One invocation at a time, as in a
    Lambda execution environment."""

    spec: FunctionSpec
    physical_name: str
    handler: Callable[[dict, Any], Any]
    lock: threading.Lock = field(default_factory=threading.Lock)
    invocations: int = 0
    billed_seconds: float = 0.0  # wall time of the handler, as Lambda bills it (rounded up to 1 ms)

    def invoke(self, event: dict) -> Any:
        with self.lock:
            context = FakeLambdaContext(self.physical_name, self.spec.memory_mb, self.spec.timeout)
            started = time.perf_counter()
            try:
                return self.handler(event, context)
            finally:
                self.invocations += 1
                self.billed_seconds += math.ceil((time.perf_counter() - started) * 1000) / 1000

    @property
    def gb_seconds(self) -> float:
        return self.billed_seconds * self.spec.memory_mb / 1024


def import_handler(spec: FunctionSpec) -> Callable[[dict, Any], Any]:
    module_name, function_name = spec.handler.rsplit(".", 1)
    path = spec.code_dir / f"{module_name}.py"
    if str(spec.code_dir) not in sys.path:  # Lambda puts the code directory on the path: modules beside app.py
        sys.path.append(str(spec.code_dir))
    # A module beside app.py imported for an earlier stack holds that stack's clients and names: import it afresh.
    for name, loaded in list(sys.modules.items()):
        file = getattr(loaded, "__file__", None)
        if file and not name.startswith("_supportpilot_") and Path(file).parent == spec.code_dir:
            del sys.modules[name]
    unique = f"_supportpilot_{spec.logical_id}_{next(_module_counter)}"
    module_spec = importlib.util.spec_from_file_location(unique, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(module_spec)
    sys.modules[unique] = module
    module_spec.loader.exec_module(module)
    return getattr(module, function_name)


class LocalStack:
    def __init__(self, template_path: Path, parameters: dict[str, str] | None = None):
        self.template: Template = load_template(template_path)
        self.parameters = {**DEMO_PARAMETERS, **(parameters or {})}
        self.physical_ids: dict[str, str] = {}
        self.functions: dict[str, LocalFunction] = {}
        self.environment: dict[str, str] = {}
        self.user_pools: dict[str, LocalUserPool] = {}
        serialise_in_process_dynamodb()

    # ---------- creation ----------
    def create(self, environment_overrides: dict[str, str] | None = None) -> None:
        """Create the resources, then import every function with its resolved environment."""
        self.user_pools = create_user_pools(self.template, STACK_NAME)
        substitutions = self._create_secrets() | self._create_state_machines()
        for pool in self.user_pools.values():
            substitutions |= pool.references()
        # The local runtime serves the APIs itself; URLs built from their ids point nowhere here.
        for api in self.template.logical_ids_of_type("AWS::Serverless::Api"):
            substitutions[api] = {"Ref": f"local-{api.lower()}"}
        cloudformation = cloudformation_for_moto(self.template, self.parameters, substitutions)
        self._upload_placeholder_code(cloudformation)
        cfn = boto3.client("cloudformation")
        cfn.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(cloudformation),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        paginator = cfn.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=STACK_NAME):
            for summary in page["StackResourceSummaries"]:
                self.physical_ids[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        self.physical_ids.update({name: values["Ref"] for name, values in substitutions.items()})
        missing = set(cloudformation["Resources"]) - set(self.physical_ids)
        if missing:
            raise RuntimeError(f"moto did not create {sorted(missing)}")
        self._substitute_state_machine_definitions()
        self._connect_event_rules()
        # What a shop does once after deploying (README): let SES send as the support domain.
        boto3.client("ses").verify_domain_identity(Domain=self.parameters["SupportDomain"])
        self.environment = self._merged_function_environment() | (environment_overrides or {})
        os.environ.update(self.environment)
        for name, spec in self.template.functions.items():
            self.functions[name] = LocalFunction(spec, self.physical_ids[name], import_handler(spec))

    def _connect_event_rules(self) -> None:
        """moto's CloudFormation cannot take the template's EventBridge rules (NOT_FOR_MOTO): the rules that match
        events and send them to queues are created here, and buckets that tell EventBridge about their objects are
        told to, so an upload reaches its queue as in AWS. Scheduled rules stay out: nothing runs them locally."""
        events, s3 = boto3.client("events"), boto3.client("s3")
        references = {logical_id: {"Ref": physical_id} for logical_id, physical_id in self.physical_ids.items()}
        for logical_id in self.template.logical_ids_of_type("AWS::Events::Rule"):
            properties = self.template.resources[logical_id]["Properties"]
            targets = [
                {"Id": target["Id"], "Arn": self.queue_arn(logical_id_of(target["Arn"]))}
                for target in properties.get("Targets", [])
                if self.template.resources[logical_id_of(target["Arn"])]["Type"] == "AWS::SQS::Queue"
            ]
            if "EventPattern" not in properties or not targets:
                continue
            name = f"{STACK_NAME}-{logical_id}"
            pattern = substitute_refs(properties["EventPattern"], references)
            events.put_rule(Name=name, EventPattern=json.dumps(pattern))
            events.put_targets(Rule=name, Targets=targets)
        for logical_id in self.template.logical_ids_of_type("AWS::S3::Bucket"):
            notifications = self.template.resources[logical_id]["Properties"].get("NotificationConfiguration", {})
            if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
                s3.put_bucket_notification_configuration(
                    Bucket=self.physical_id(logical_id), NotificationConfiguration={"EventBridgeConfiguration": {}}
                )

    def create_demo_operators(self) -> None:
        """One development user per role in every user pool (the template has one)."""
        for pool in self.user_pools.values():
            for email, group in DEMO_OPERATORS.items():
                create_operator(pool, email, group, DEMO_OPERATOR_PASSWORD)

    def _create_secrets(self) -> dict[str, dict[str, str]]:
        """moto's CloudFormation cannot create secrets: create them here, the webhook secrets with
        the development values, the others as their template would (empty: features off)."""
        secrets = boto3.client("secretsmanager")
        created = {}
        for logical_id in self.template.logical_ids_of_type("AWS::SecretsManager::Secret"):
            generated = self.template.resources[logical_id]["Properties"].get("GenerateSecretString", {})
            document = json.loads(generated.get("SecretStringTemplate", "{}"))
            if "GenerateStringKey" in generated:  # as Secrets Manager does: a random value under that key
                length = generated.get("PasswordLength", 32)
                document[generated["GenerateStringKey"]] = secrets_module.token_urlsafe(length)
            value = json.dumps(DEMO_WEBHOOK_SECRETS) if logical_id == "WebhookSecrets" else json.dumps(document)
            response = secrets.create_secret(Name=f"{STACK_NAME}-{logical_id}", SecretString=value)
            created[logical_id] = {"Ref": response["ARN"]}
        return created

    def _create_state_machines(self) -> dict[str, dict[str, str]]:
        """Created before the stack (functions refer to them) with the raw definition; the
        substitutions are resolved once the stack's resources exist."""
        stepfunctions = boto3.client("stepfunctions")
        created = {}
        for name, spec in self.template.state_machines.items():
            response = stepfunctions.create_state_machine(
                name=f"{STACK_NAME}-{name}",
                definition=spec.definition,
                roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-{name}",
                type="STANDARD",
            )
            arn = response["stateMachineArn"]
            created[name] = {"Ref": arn, "Arn": arn, "Name": arn.rsplit(":", 1)[1]}
        return created

    def _substitute_state_machine_definitions(self) -> None:
        """Resolve each DefinitionSubstitutions `!Ref` to its physical id and update the definition."""
        stepfunctions = boto3.client("stepfunctions")
        for name, spec in self.template.state_machines.items():
            definition = spec.definition
            for placeholder, reference in spec.substitutions.items():
                if not (isinstance(reference, dict) and set(reference) == {"Ref"}):
                    raise ValueError(f"{name}: the local runtime resolves only !Ref substitutions ({placeholder})")
                definition = definition.replace("${" + placeholder + "}", self.physical_ids[reference["Ref"]])
            stepfunctions.update_state_machine(stateMachineArn=self.physical_ids[name], definition=definition)

    @staticmethod
    def _upload_placeholder_code(cloudformation: dict[str, Any]) -> None:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=PLACEHOLDER_CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("README.txt", "placeholder: the local runtime runs the handlers in-process\n")
        for key in placeholder_code_keys(cloudformation):
            s3.put_object(Bucket=PLACEHOLDER_CODE_BUCKET, Key=key, Body=archive.getvalue())

    def _merged_function_environment(self) -> dict[str, str]:
        """All functions share one process here, so one variable name must mean one thing. Paths in /opt (where
        Lambda extracts layers) are left to this machine: e.g. the sentence encoder is where `make` put it."""
        lambda_client = boto3.client("lambda")
        merged: dict[str, str] = {}
        for name in self.template.functions:
            config = lambda_client.get_function_configuration(FunctionName=self.physical_ids[name])
            for key, value in config.get("Environment", {}).get("Variables", {}).items():
                value = str(value)
                if value.startswith(LAMBDA_LAYER_ROOT):
                    continue
                if merged.get(key, value) != value:
                    raise RuntimeError(f"{key} differs between functions; the local runtime needs one value")
                merged[key] = value
        return merged

    # ---------- lookups ----------
    def physical_id(self, logical_id: str) -> str:
        return self.physical_ids[logical_id]

    def queue_arn(self, logical_id: str) -> str:
        name = self.physical_id(logical_id).rsplit("/", 1)[-1]
        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"

    def queue_depth(self, logical_id: str) -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.physical_id(logical_id),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def dead_letter_queues(self) -> list[str]:
        """Logical ids of queues that receive failures: redrive targets and on-failure destinations."""
        targets = set()
        for resource in self.template.resources.values():
            redrive = resource.get("Properties", {}).get("RedrivePolicy", {})
            if "deadLetterTargetArn" in redrive:
                targets.add(logical_id_of(redrive["deadLetterTargetArn"]))
        targets.update(f.on_failure_destination for f in self.template.functions.values() if f.on_failure_destination)
        return sorted(targets)

    def source_queues(self) -> list[str]:
        return sorted({s.queue for f in self.template.functions.values() for s in f.sqs_sources})
