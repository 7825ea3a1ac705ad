"""The template's promises to a shop: least privilege, a failure destination for every async path,
retention, encryption. Checked on template.yaml itself, like custom cfn-lint rules."""

import json
import re

import pytest

from supportpilot.local.template import load_template, logical_id_of
from tests.conftest import PROJECT_ROOT

TEMPLATE = load_template(PROJECT_ROOT / "template.yaml")
RESOURCES = TEMPLATE.resources
FUNCTIONS = {name: RESOURCES[name]["Properties"] for name in TEMPLATE.functions}
GLOBALS = TEMPLATE.document["Globals"]["Function"]


def of_type(resource_type: str) -> dict[str, dict]:
    return {name: res.get("Properties", {}) for name, res in RESOURCES.items() if res["Type"] == resource_type}


def test_functions_run_python313_on_arm64_with_tracing():
    assert GLOBALS["Runtime"] == "python3.13"
    assert GLOBALS["Architectures"] == ["arm64"]
    assert GLOBALS["Tracing"] == "Active"
    assert "POWERTOOLS_SERVICE_NAME" in GLOBALS["Environment"]["Variables"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_its_own_role_and_log_group_with_retention(name):
    props = FUNCTIONS[name]
    assert "Role" not in props, "functions get their own role from their Policies"
    assert props.get("Policies"), f"{name} declares no policies"
    log_group = logical_id_of(props["LoggingConfig"]["LogGroup"])
    assert RESOURCES[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert RESOURCES[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_policies_are_scoped_to_resources_of_this_stack(name):
    for policy in FUNCTIONS[name]["Policies"]:
        text = json.dumps(policy)
        assert '"Resource": "*"' not in text
        if isinstance(policy, dict) and "Statement" not in policy:
            ((_template, parameters),) = policy.items()
            assert all(isinstance(v, dict) for v in parameters.values()), f"{name}: {policy} is not !Ref-scoped"


@pytest.mark.parametrize("name", sorted(n for n in FUNCTIONS if TEMPLATE.functions[n].sqs_sources))
def test_sqs_consumers_report_partial_failures_and_queues_outlast_retries(name):
    function_timeout = FUNCTIONS[name].get("Timeout", GLOBALS["Timeout"])
    for source in TEMPLATE.functions[name].sqs_sources:
        assert source.reports_batch_item_failures, f"{name} must return batchItemFailures"
        queue = RESOURCES[source.queue]["Properties"]
        assert queue["VisibilityTimeout"] >= 6 * function_timeout
        assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5


def test_every_queue_is_encrypted_and_every_failure_queue_has_an_alarm():
    queues = of_type("AWS::SQS::Queue")
    failure_queues = {
        logical_id_of(q["RedrivePolicy"]["deadLetterTargetArn"]) for q in queues.values() if "RedrivePolicy" in q
    }
    failure_queues |= {f.on_failure_destination for f in TEMPLATE.functions.values() if f.on_failure_destination}
    alarmed = {
        logical_id_of(alarm["Dimensions"][0]["Value"])
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        if alarm.get("Namespace") == "AWS/SQS"  # metric-math alarms have none
    }
    assert all(q.get("SqsManagedSseEnabled") for q in queues.values())
    assert failure_queues <= alarmed
    every_queue = set(queues)
    sources = {s.queue for f in TEMPLATE.functions.values() for s in f.sqs_sources}
    assert every_queue == sources | failure_queues, "every queue is either a stage or a failure destination"


def test_functions_invoked_asynchronously_have_a_failure_destination():
    async_targets = {
        logical_id_of(action["LambdaAction"]["FunctionArn"])
        for rule in of_type("AWS::SES::ReceiptRule").values()
        for action in rule["Rule"]["Actions"]
        if "LambdaAction" in action
    }
    assert async_targets
    for name in async_targets:
        assert TEMPLATE.functions[name].on_failure_destination, f"{name} loses failed SES events"


def test_ses_stores_raw_mail_before_calling_the_function_and_scans_for_spam():
    (rule,) = of_type("AWS::SES::ReceiptRule").values()
    actions = [next(iter(a)) for a in rule["Rule"]["Actions"]]
    assert actions == ["S3Action", "LambdaAction"]
    assert rule["Rule"]["ScanEnabled"] is True
    assert rule["Rule"]["Recipients"] == [{"Ref": "SupportDomain"}]


def test_ticket_table_has_recovery_encryption_ttl_and_its_indexes():
    (table,) = of_type("AWS::DynamoDB::Table").values()
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    indexes = {i["IndexName"] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {"customer-tickets", "open-by-queue", "open-by-due", "verified-labels", "tickets-by-time"}
    assert RESOURCES["DeskTable"]["DeletionPolicy"] == "Retain"


def test_mail_bucket_is_private_encrypted_and_expires_raw_mail():
    bucket = of_type("AWS::S3::Bucket")["MailBucket"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    rules = {r["Prefix"]: r for r in bucket["LifecycleConfiguration"]["Rules"] if "Prefix" in r}
    assert rules["raw/"]["ExpirationInDays"] == {"Ref": "RawMailRetentionDays"}


def test_webhook_route_and_secrets_come_from_secrets_manager_not_the_template():
    routes = [(r.method, r.path) for f in TEMPLATE.functions.values() for r in f.api_routes]
    assert ("post", "/webhooks/{source}") in routes
    secret = of_type("AWS::SecretsManager::Secret")["WebhookSecrets"]
    template_text = (PROJECT_ROOT / "template.yaml").read_text()
    assert "GenerateSecretString" in secret and "SecretString" not in secret
    assert not re.search(r"whsec_|shpss_|demo-\w+-secret", template_text)


def test_every_api_route_except_webhooks_rating_links_and_console_files_needs_a_cognito_token():
    routes = [(name, route) for name, spec in TEMPLATE.functions.items() for route in spec.api_routes]
    assert routes
    for name, route in routes:
        if route.path.startswith("/webhooks/"):
            assert route.user_pool is None, "webhooks authenticate by signature"
        elif route.path == "/csat/{token}":
            assert route.user_pool is None, "customers rate through a signed link, without an account"
        elif route.path in ("/console", "/console/{file}"):
            assert (name, route.method, route.user_pool) == ("OperatorApiFunction", "get", None), "static files only"
        else:
            assert route.user_pool == "OperatorUserPool", f"{name} {route.method} {route.path} has no authorizer"


def test_operators_are_created_by_an_admin_with_a_strong_password_and_a_secretless_client():
    pool = RESOURCES["OperatorUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    password = pool["Policies"]["PasswordPolicy"]
    assert password["MinimumLength"] >= 12 and all(
        password[f"Require{k}"] for k in ("Lowercase", "Uppercase", "Numbers")
    )
    client = RESOURCES["OperatorUserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False and "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    assert {g["GroupName"] for g in of_type("AWS::Cognito::UserPoolGroup").values()} == {"agent", "supervisor", "admin"}


def test_the_desk_has_a_dashboard_alarms_on_its_figures_and_an_hourly_trend_check():
    (dashboard,) = of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["DashboardBody"])
    for metric in ("TicketsCreated", "TicketsTriaged", "FirstResponseSeconds", "SlaBreaches", "CsatRating"):
        assert metric in body, f"the dashboard does not show {metric}"
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert alarms["SlaBreachesAlarm"]["MetricName"] == "SlaBreaches"
    correction = {m["Id"]: m for m in alarms["CorrectionRateAlarm"]["Metrics"]}
    assert correction["corrections"]["MetricStat"]["Metric"]["MetricName"] == "LabelCorrections"
    assert all(alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] for alarm in alarms.values())
    trend = RESOURCES["TrendAlertFunction"]["Properties"]
    (schedule,) = trend["Events"].values()
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["Schedule"] == {"Ref": "TrendSchedule"}
    assert TEMPLATE.document["Parameters"]["TrendSchedule"]["Default"] == "rate(1 hour)"
    assert TEMPLATE.functions["TrendAlertFunction"].on_failure_destination == "TrendAlertDeadLetterQueue"


def test_only_the_operator_api_stops_escalations_and_only_executions_of_the_escalation_workflow():
    """An erasure stops the customer's running escalations (DescribeExecution, then StopExecution)."""
    stoppers = {
        name: [s for p in props["Policies"] if isinstance(p, dict) for s in p.get("Statement", [])]
        for name, props in FUNCTIONS.items()
        if "states:StopExecution" in json.dumps(props["Policies"])
    }
    assert list(stoppers) == ["OperatorApiFunction"]
    (statement,) = [s for s in stoppers["OperatorApiFunction"] if "states:StopExecution" in s["Action"]]
    assert sorted(statement["Action"]) == ["states:DescribeExecution", "states:StopExecution"]
    pattern, names = statement["Resource"]["Fn::Sub"]
    assert pattern.endswith(":execution:${StateMachineName}:*")
    assert names == {"StateMachineName": {"Fn::GetAtt": ["EscalationStateMachine", "Name"]}}


def test_models_are_versioned_encrypted_and_retraining_is_weekly_with_a_failure_path():
    bucket = of_type("AWS::S3::Bucket")["ModelBucket"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert TEMPLATE.document["Parameters"]["RetrainSchedule"]["Default"] == "rate(7 days)"
    retrain = FUNCTIONS["RetrainFunction"]
    assert retrain["Events"]["Weekly"]["Properties"]["Schedule"] == {"Ref": "RetrainSchedule"}
    on_failure = retrain["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["RetrainDeadLetterQueue", "Arn"]}
    assert [f for f in FUNCTIONS if {"Ref": "TrainingLayer"} in FUNCTIONS[f].get("Layers", [])] == ["RetrainFunction"]
    alarm = of_type("AWS::CloudWatch::Alarm")["ModelLoadFailedAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("SupportPilot", "ModelLoadFailed")


def test_the_sentence_encoder_reaches_classify_and_retrain_only_when_the_shop_enables_it():
    enabled = {"Fn::Equals": [{"Ref": "EnableSentenceEncoder"}, "true"]}
    assert TEMPLATE.document["Conditions"]["SentenceEncoderEnabled"] == enabled
    assert TEMPLATE.document["Parameters"]["EnableSentenceEncoder"]["Default"] == "false"

    def only_if_enabled(layer: str) -> dict:
        return {"Fn::If": ["SentenceEncoderEnabled", {"Ref": layer}, {"Ref": "AWS::NoValue"}]}

    for layer in ("NumpyLayer", "SentenceEncoderLayer"):
        assert RESOURCES[layer]["Condition"] == "SentenceEncoderEnabled"
    assert FUNCTIONS["ClassifyFunction"]["Layers"] == [
        only_if_enabled("NumpyLayer"),
        only_if_enabled("SentenceEncoderLayer"),
    ]
    assert only_if_enabled("SentenceEncoderLayer") in FUNCTIONS["RetrainFunction"]["Layers"]  # numpy: TrainingLayer
    users = {
        name
        for name, props in FUNCTIONS.items()
        if any(only_if_enabled(layer) in props.get("Layers", []) for layer in ("NumpyLayer", "SentenceEncoderLayer"))
    }
    assert users == {"ClassifyFunction", "RetrainFunction"}
    encoder_dir = RESOURCES["SentenceEncoderLayer"]["Properties"]["ContentUri"].rstrip("/") + "/sentence-encoder"
    assert (PROJECT_ROOT / "Makefile").read_text().count(encoder_dir) >= 1  # `make encoder-layer` fills it
    for name in users:
        assert FUNCTIONS[name]["Environment"]["Variables"]["SUPPORTPILOT_ENCODER_DIR"] == "/opt/sentence-encoder"
    retrain_variables = FUNCTIONS["RetrainFunction"]["Environment"]["Variables"]
    assert retrain_variables["TRAIN_WITH_SENTENCE_ENCODER"] == {"Ref": "EnableSentenceEncoder"}
