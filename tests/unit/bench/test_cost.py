"""The arithmetic of bench/cost.py: outcome mix, Lambda billing, prices by service, the price file."""
from __future__ import annotations

import pytest

from bench import cost
from bench.cost import Usage

PRICES = {"prices": {name: {"usd": usd, "per": per} for name, usd, per in (
    ("lambda_request", 0.20, 1_000_000), ("lambda_arm64_gb_second", 0.0000133334, 1),
    ("api_gateway_rest_request", 3.50, 1_000_000), ("dynamodb_write_request_unit", 0.625, 1_000_000),
    ("dynamodb_read_request_unit", 0.125, 1_000_000), ("ses_email", 0.10, 1000),
    ("sqs_request", 0.40, 1_000_000), ("sns_publish", 0.50, 1_000_000), ("data_transfer_out_gb", 0.09, 1))}}


def outcomes() -> dict[str, Usage]:
    return {"no response": Usage(emails=2, job_invocations=290), "response": Usage(emails=1, api_requests=3),
            "response with comment": Usage(emails=1, api_requests=4),
            "detractor": Usage(emails=2, api_requests=9, sns_publishes=1)}


def test_at_no_response_every_survey_is_a_non_responder():
    mixed = cost.mix(outcomes(), 0.0)
    assert mixed.emails == 2 and mixed.job_invocations == 290 and mixed.api_requests == 0


def test_the_mix_weights_each_outcome_by_how_often_it_happens():
    mixed = cost.mix(outcomes(), 0.4, detractor_share=0.25, comment_share=0.25)
    # 60% non-responders (2 emails), 10% detractors (2), 10% comments (1), 20% scores alone (1).
    assert mixed.emails == pytest.approx(0.6 * 2 + 0.1 * 2 + 0.1 + 0.2)
    assert mixed.api_requests == pytest.approx(0.1 * 9 + 0.1 * 4 + 0.2 * 3)
    assert mixed.sns_publishes == pytest.approx(0.1)


def test_shares_beyond_all_answers_are_refused():
    with pytest.raises(ValueError):
        cost.mix(outcomes(), 0.4, detractor_share=0.7, comment_share=0.5)


@pytest.mark.parametrize("seconds, billed", [(0.0001, 1), (0.001, 1), (0.0011, 2), (0.0425, 43)])
def test_lambda_bills_each_invocation_rounded_up_to_the_millisecond(seconds, billed):
    assert cost.billed_ms(seconds) == billed


def test_each_service_is_priced_from_its_own_counts():
    usage = Usage(api_requests=2, job_invocations=3, billed_ms=1000, read_units=4, write_units=8, sqs_sends=3,
                  sns_publishes=1, emails=1, sms_parts=2)
    usd = cost.cost(usage, PRICES, memory_mb=512, sms_usd=0.01)
    assert usd["SES"] == pytest.approx(0.0001)
    assert usd["SMS"] == pytest.approx(0.02)
    assert usd["DynamoDB"] == pytest.approx(4 * 0.125e-6 + 8 * 0.625e-6)
    # 5 invocations; 1 s at half a GB is 0.5 GB-s.
    assert usd["Lambda"] == pytest.approx(5 * 0.2e-6 + 0.5 * 0.0000133334)
    assert usd["API Gateway"] == pytest.approx(2 * 3.5e-6)
    # Our 3 sends, and Lambda's poller receives and deletes each of the 3 jobs.
    assert usd["SQS"] == pytest.approx(9 * 0.4e-6)
    assert usd["SNS"] == pytest.approx(0.5e-6)


def test_the_price_file_names_a_source_and_how_sure_it_is_for_every_price():
    prices = cost.load_prices()
    assert prices["region"] == "us-east-1" and prices["taken"]
    for name, entry in {**prices["prices"], **prices["sms"]["countries"]}.items():
        assert entry["usd"] > 0, name
        assert entry["checked"] in ("aws", "secondary", "unverified"), name
    for entry in prices["prices"].values():
        assert entry["source"].startswith("https://") and entry["per"] >= 1
    assert {"US", "GB", "DE", "BR", "IN"} <= set(prices["sms"]["countries"])
    # Every price cost() needs is in the file.
    cost.cost(Usage(emails=1), prices, memory_mb=512, sms_usd=0.0)


def test_stage_settings_keep_behaviour_but_not_the_stages_resources():
    settings = cost.stage_settings("prod")
    assert "CLOSELOOP_SEND_DELAY_SECONDS" in settings
    assert not [k for k in settings if k.endswith(("_ARN", "_URL", "TABLE_NAME")) or "SECRET" in k]
