"""The template's side of the customer timeline: Connect is optional and off by default, imports
arrive through EventBridge on a queue with a dead-letter queue, and exports do not linger."""

from supportpilot.local.template import load_template
from tests.conftest import PROJECT_ROOT

TEMPLATE = load_template(PROJECT_ROOT / "template.yaml")
RESOURCES = TEMPLATE.resources
CONNECT = [
    "ConnectEventsFunction",
    "ConnectEventsLogGroup",
    "ConnectEventsDeadLetterQueue",
    "ConnectEventsDeadLetterAlarm",
]


def test_amazon_connect_is_off_unless_the_shop_enables_it():
    assert TEMPLATE.document["Parameters"]["EnableConnect"]["Default"] == "false"
    assert TEMPLATE.document["Conditions"]["ConnectEnabled"] == {"Fn::Equals": [{"Ref": "EnableConnect"}, "true"]}
    assert all(RESOURCES[name].get("Condition") == "ConnectEnabled" for name in CONNECT)


def test_the_connect_rule_takes_contact_events_and_failures_go_to_an_alarmed_queue():
    function = RESOURCES["ConnectEventsFunction"]["Properties"]
    pattern = function["Events"]["ContactEvent"]["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.connect"] and pattern["detail-type"] == ["Amazon Connect Contact Event"]
    destination = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["ConnectEventsDeadLetterQueue", "Arn"]}


def test_uploaded_exports_reach_the_import_queue_through_eventbridge_and_expire():
    bucket = RESOURCES["ImportBucket"]["Properties"]
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    rules = {
        rule["Prefix"]: rule["ExpirationInDays"]
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if "Prefix" in rule
    }
    assert rules["imports/"] <= 7
    rule = RESOURCES["ImportUploadedRule"]["Properties"]
    assert rule["EventPattern"]["detail"]["object"]["key"] == [{"prefix": "imports/"}]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["ImportQueue", "Arn"]}
    assert [source.queue for source in TEMPLATE.functions["ImportFunction"].sqs_sources] == ["ImportQueue"]
