"""The demo replays its webhook samples with their dates moved to the day it runs: an order delivered three
days before the samples were written is three days old whenever the demo runs, inside its return window."""

import json
from datetime import UTC, datetime, timedelta

from supportpilot.local.demo import SAMPLES_DATED, days_since_samples_dated, shift_sample_dates
from tests.conftest import load_event


def test_a_sample_replayed_months_later_has_its_dates_moved_by_the_whole_days_since():
    event = load_event("receive_webhook/shopify_orders_updated_delivered.json")
    age = days_since_samples_dated(SAMPLES_DATED + timedelta(days=123, hours=23))
    order, moved = json.loads(event["body"]), json.loads(shift_sample_dates(event["body"], age))
    assert (order["created_at"], moved["created_at"]) == ("2026-11-18T13:10:00+01:00", "2027-03-21T13:10:00+01:00")
    assert moved["fulfillments"][0]["updated_at"] == "2027-03-24T15:00:00+01:00"
    assert moved["id"] == order["id"] and moved["line_items"] == order["line_items"]  # only dates move
    header = event["headers"]["X-Shopify-Triggered-At"]
    assert shift_sample_dates(header, age) == "2027-03-24T15:00:00+01:00"


def test_dates_keep_their_form_and_the_day_the_samples_were_written_moves_nothing():
    text = '{"at": "2026-11-20T09:15:00.000Z", "paid": "2026-11-20T09:15:00Z", "note": "order 2026-11-20"}'
    assert shift_sample_dates(text, days_since_samples_dated(SAMPLES_DATED + timedelta(hours=20))) == text
    assert shift_sample_dates(text, timedelta(days=1)) == (
        '{"at": "2026-11-21T09:15:00.000Z", "paid": "2026-11-21T09:15:00Z", "note": "order 2026-11-20"}'
    )
    assert days_since_samples_dated(datetime(2026, 12, 22, 0, 30, tzinfo=UTC)) == timedelta(days=25)
