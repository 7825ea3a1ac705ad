"""Reads template.yaml: the functions, their event sources, and the CloudFormation that moto creates.

The template is the single source of truth for the local runtime: no resource, queue, route or
environment variable is listed a second time here.
"""

import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode_str

# Types the local runtime serves itself (API Gateway, event source mappings, SES, async invoke
# destinations), creates itself (secrets; state machines, which moto's CloudFormation reports as
# created without creating them; Cognito user pools, clients and groups, which it does not know),
# or that moto neither creates nor evaluates (alarms, bucket and queue policies, permissions). Everything
# else goes to moto's CloudFormation.
NOT_FOR_MOTO = frozenset(
    {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::SES::ReceiptRuleSet",
        "AWS::SES::ReceiptRule",
        "AWS::SecretsManager::Secret",
        "AWS::StepFunctions::StateMachine",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Events::Rule",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::Subscription",
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolClient",
        "AWS::Cognito::UserPoolGroup",
    }
)
PLACEHOLDER_CODE_BUCKET = "supportpilot-local-code"


@dataclass(frozen=True)
class SqsSource:
    queue: str  # logical id
    batch_size: int
    reports_batch_item_failures: bool


@dataclass(frozen=True)
class ApiRoute:
    method: str  # or "any"
    path: str  # e.g. /webhooks/{source}, /api/{proxy+}
    user_pool: str | None = None  # logical id of the user pool whose Cognito authorizer guards the route

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method.upper() not in ("ANY", method.upper()):
            return None
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # module.function
    timeout: int
    memory_mb: int
    sqs_sources: tuple[SqsSource, ...] = ()
    api_routes: tuple[ApiRoute, ...] = ()
    on_failure_destination: str | None = None  # logical id of a queue
    max_async_retries: int = 2


@dataclass(frozen=True)
class SesRule:
    bucket: str  # logical id
    prefix: str
    function: str  # logical id


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    definition: str  # ASL with ${...} placeholders
    substitutions: dict[str, Any]  # placeholder -> !Ref / !GetAtt


@dataclass
class Template:
    path: Path
    document: dict[str, Any]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    ses_rules: list[SesRule] = field(default_factory=list)
    state_machines: dict[str, StateMachineSpec] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, Any]:
        return self.document["Resources"]

    def logical_ids_of_type(self, resource_type: str) -> list[str]:
        return [name for name, res in self.resources.items() if res["Type"] == resource_type]


def logical_id_of(value: Any) -> str:
    """The logical id inside `!Ref X` or `!GetAtt X.Attr`."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else target.split(".")[0]
    raise ValueError(f"expected !Ref or !GetAtt, got {value!r}")


def load_template(path: Path) -> Template:
    document, problems = decode_str(path.read_text())
    if problems or document is None:
        raise ValueError(f"{path} cannot be read: {[str(p) for p in problems]}")
    document = json.loads(json.dumps(document))  # plain dicts and strings, no cfn-lint node types
    template = Template(path=path, document=document)
    function_globals = document.get("Globals", {}).get("Function", {})
    for name, resource in document["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            template.functions[name] = _function_spec(
                path.parent, name, resource["Properties"], function_globals, document["Resources"]
            )
        if resource["Type"] == "AWS::SES::ReceiptRule":
            template.ses_rules.extend(_ses_rules(resource["Properties"]["Rule"]))
        if resource["Type"] == "AWS::Serverless::StateMachine":
            props = resource["Properties"]
            template.state_machines[name] = StateMachineSpec(
                logical_id=name,
                definition=(path.parent / props["DefinitionUri"]).read_text(),
                substitutions=props.get("DefinitionSubstitutions", {}),
            )
    return template


def _route_user_pool(event_props: dict[str, Any], resources: dict[str, Any]) -> str | None:
    """The user pool of the Cognito authorizer guarding an Api event: the event's own `Auth.Authorizer`
    (NONE: no authorizer) or its API's `DefaultAuthorizer`."""
    if "RestApiId" not in event_props:
        return None
    auth = resources[logical_id_of(event_props["RestApiId"])].get("Properties", {}).get("Auth", {})
    authorizer = event_props.get("Auth", {}).get("Authorizer", auth.get("DefaultAuthorizer"))
    if authorizer in (None, "NONE", "AWS_IAM"):
        return None
    return logical_id_of(auth["Authorizers"][authorizer]["UserPoolArn"])


def _function_spec(
    root: Path, name: str, props: dict[str, Any], defaults: dict[str, Any], resources: dict[str, Any]
) -> FunctionSpec:
    sqs_sources, routes = [], []
    for event in props.get("Events", {}).values():
        event_props = event.get("Properties", {})
        if event["Type"] == "SQS":
            sqs_sources.append(
                SqsSource(
                    queue=logical_id_of(event_props["Queue"]),
                    batch_size=int(event_props.get("BatchSize", 10)),
                    reports_batch_item_failures="ReportBatchItemFailures"
                    in event_props.get("FunctionResponseTypes", []),
                )
            )
        elif event["Type"] == "Api":
            routes.append(
                ApiRoute(
                    method=event_props["Method"],
                    path=event_props["Path"],
                    user_pool=_route_user_pool(event_props, resources),
                )
            )
    invoke_config = props.get("EventInvokeConfig", {})
    on_failure = invoke_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return FunctionSpec(
        logical_id=name,
        code_dir=root / props["CodeUri"],
        handler=props["Handler"],
        timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
        memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
        sqs_sources=tuple(sqs_sources),
        api_routes=tuple(routes),
        on_failure_destination=logical_id_of(on_failure) if on_failure else None,
        max_async_retries=int(invoke_config.get("MaximumRetryAttempts", 2)),
    )


def _ses_rules(rule: dict[str, Any]) -> list[SesRule]:
    s3_action = next((a["S3Action"] for a in rule.get("Actions", []) if "S3Action" in a), None)
    lambda_actions = [a["LambdaAction"] for a in rule.get("Actions", []) if "LambdaAction" in a]
    if s3_action is None:
        return []
    return [
        SesRule(
            bucket=logical_id_of(s3_action["BucketName"]),
            prefix=s3_action.get("ObjectKeyPrefix", ""),
            function=logical_id_of(action["FunctionArn"]),
        )
        for action in lambda_actions
    ]


class _OfflinePolicies:
    """SAM's translator looks up managed policy ARNs; offline there are none to look up."""

    def load(self) -> dict[str, str]:
        return {}


def cloudformation_for_moto(
    template: Template, parameters: dict[str, str], substitutions: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """Plain CloudFormation for moto: SAM transformed, code as placeholder S3 objects, types in
    NOT_FOR_MOTO removed and references to `substitutions` replaced by the values given."""
    from samtranslator.translator.transform import transform

    document = copy.deepcopy(template.document)
    for name, resource in document["Resources"].items():
        props = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{PLACEHOLDER_CODE_BUCKET}/{name}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{PLACEHOLDER_CODE_BUCKET}/{name}.zip"
        elif resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            props["Definition"] = json.loads((template.path.parent / props.pop("DefinitionUri")).read_text())
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    translated = transform(document, parameters, _OfflinePolicies())
    translated.pop("Outputs", None)
    true_conditions = _true_conditions(translated, parameters)
    translated["Resources"] = {
        name: resource
        for name, resource in translated["Resources"].items()
        if resource["Type"] not in NOT_FOR_MOTO
        and ("Condition" not in resource or resource["Condition"] in true_conditions)
    }
    return substitute_refs(translated, substitutions)


def _true_conditions(document: dict[str, Any], parameters: dict[str, str]) -> set[str]:
    """The names of the template's conditions that hold for these parameters (defaults for the others): a
    resource whose condition is false is not part of the stack, here as in CloudFormation."""
    values = {name: str(spec.get("Default", "")) for name, spec in document.get("Parameters", {}).items()}
    values |= parameters
    conditions = document.get("Conditions", {})

    def evaluate(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        ((function, argument),) = node.items()
        if function == "Ref":
            return values[argument]
        if function == "Condition":
            return evaluate(conditions[argument])
        if function == "Fn::Equals":
            return evaluate(argument[0]) == evaluate(argument[1])
        if function == "Fn::Not":
            return not evaluate(argument[0])
        if function == "Fn::And":
            return all(map(evaluate, argument))
        if function == "Fn::Or":
            return any(map(evaluate, argument))
        raise ValueError(f"the local runtime cannot evaluate {function} in a condition")

    return {name for name, node in conditions.items() if evaluate(node)}


def substitute_refs(node: Any, substitutions: dict[str, dict[str, str]]) -> Any:
    """Replace `Ref`, `Fn::GetAtt` and `${X}` in `Fn::Sub` of resources created outside CloudFormation
    by their values (`substitutions[logical id]` maps "Ref" and attribute names to values)."""
    if isinstance(node, dict) and set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
        text = re.sub(
            r"\$\{(\w+)\}",
            lambda found: substitutions[found[1]]["Ref"] if found[1] in substitutions else found[0],
            node["Fn::Sub"],
        )
        return {"Fn::Sub": text}
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in substitutions:
            return substitutions[node["Ref"]]["Ref"]
        if set(node) == {"Fn::GetAtt"}:
            target, attribute = (
                node["Fn::GetAtt"] if isinstance(node["Fn::GetAtt"], list) else node["Fn::GetAtt"].split(".")
            )
            if target in substitutions:
                return substitutions[target][attribute]
        return {key: substitute_refs(value, substitutions) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute_refs(value, substitutions) for value in node]
    return node


def placeholder_code_keys(cloudformation: dict[str, Any]) -> list[str]:
    keys = set()
    for resource in cloudformation["Resources"].values():
        props = resource.get("Properties", {})
        for code in (props.get("Code"), props.get("Content")):
            if isinstance(code, dict) and code.get("S3Bucket") == PLACEHOLDER_CODE_BUCKET:
                keys.add(code["S3Key"])
    return sorted(keys)
