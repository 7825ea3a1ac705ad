"""The promotion rule: macro F1 may fall by at most 0.01, no category's F1 by more than 0.05."""

from supportpilot.learning.retrain import RetrainSettings, promotion_decision, reserved_for_holdout


def metrics(macro: float, **f1: float) -> dict:
    return {"macro_f1": macro, "per_label": {label: {"f1": value, "support": 10} for label, value in f1.items()}}


def test_a_model_no_worse_within_the_allowances_is_promoted():
    promoted, reasons = promotion_decision(metrics(0.905, refund=0.86), metrics(0.91, refund=0.90), RetrainSettings())
    assert promoted and "no category fell too far" in reasons[0]


def test_a_macro_f1_drop_over_001_rejects():
    promoted, reasons = promotion_decision(metrics(0.89, refund=0.9), metrics(0.91, refund=0.9), RetrainSettings())
    assert not promoted and "macro F1 fell by 0.020" in reasons[0]


def test_one_category_falling_more_than_005_rejects_even_if_macro_f1_rises():
    candidate = metrics(0.95, refund=0.80, account=0.99)
    promoted, reasons = promotion_decision(candidate, metrics(0.90, refund=0.90, account=0.80), RetrainSettings())
    assert not promoted and reasons == ["F1 of refund fell by 0.100 (0.900 -> 0.800), more than 0.05"]


def test_the_holdout_share_is_fixed_per_label_id():
    ids = [f"01J{n:023d}" for n in range(2000)]
    reserved = [label_id for label_id in ids if reserved_for_holdout(label_id, 15)]
    assert reserved == [label_id for label_id in ids if reserved_for_holdout(label_id, 15)]
    assert 0.1 < len(reserved) / len(ids) < 0.2
