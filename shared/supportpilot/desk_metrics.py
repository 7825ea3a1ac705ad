"""Business metrics of the desk as CloudWatch EMF (namespace SupportPilot), emitted where things happen.

Each metric carries the dimension set {service} (what the alarms read) and, when given, one more set
with low-cardinality dimensions (channel, category, language, automation level, decision): never a
ticket, customer or operator id. The dashboard in template.yaml reads these names.
"""

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = "SupportPilot"
SERVICE = "supportpilot"

TICKETS_CREATED = "TicketsCreated"  # Channel
TICKETS_TRIAGED = "TicketsTriaged"  # Category, Language
ESCALATIONS_STARTED = "EscalationsStarted"  # Queue
FIRST_RESPONSE_SECONDS = "FirstResponseSeconds"  # AutomationLevel
RESOLUTION_SECONDS = "ResolutionSeconds"
TICKETS_CLOSED = "TicketsClosed"
SUGGESTIONS_DECIDED = "SuggestionsDecided"  # Decision
LABELS_RECORDED = "LabelsRecorded"
LABEL_CORRECTIONS = "LabelCorrections"  # a category the operator changed: the AI's error as people see it
CSAT_RATING = "CsatRating"  # one value 1-5 per vote
SLA_BREACHES = "SlaBreaches"  # emitted by the escalation state machine
TREND_ALERTS = "ProductTrendAlerts"
ROUTING_POLICY_REJECTED = "RoutingPolicyRejected"  # an override in SSM that failed validation (alarm)
MODEL_LOAD_FAILED = "ModelLoadFailed"  # a promoted model version that could not be loaded (alarm)


def routed(automation_level: str) -> str:
    """The metric of tickets routed at an automation level (auto_reply, suggest, human_now), as the dashboard reads."""
    return f"Routed_{automation_level}"


def record(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str | None) -> None:
    """Emit one metric now (one EMF line on stdout). Dimensions without a value are left out."""
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    metrics.add_metric(name=name, unit=unit, value=value)
    given = {key: value for key, value in dimensions.items() if value}
    if given:
        metrics.add_dimensions(service=SERVICE, **given)
    metrics.flush_metrics()
