"""The store's side of "who must not be surveyed", on DynamoDB Local: the ledger, the throttle
stamps made inside create_survey's transaction, the open-follow-up markers, the suppression of a
scheduled survey and the counters."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest

from chalicelib.contacts import ledger as suppressions
from chalicelib.contacts.model import SuppressionReason
from chalicelib.followups.model import FollowUp, FollowUpStatus
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import tokens
from chalicelib.surveys.model import Agent, Channel, ContactKind, Customer, Survey, SurveyStatus
from chalicelib.surveys.repository import DuplicateInteraction, Throttled, survey_key
from chalicelib.surveys.scoring import SurveyKind

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=timezone.utc)
WINDOW = timedelta(days=30)
_numbers = count()


def a_survey(customer: Customer, at: datetime = T0, **overrides) -> Survey:
    values = dict(
        survey_id=tokens.new_survey_id(), interaction_id=f"zd-{next(_numbers)}", kind=SurveyKind.CSAT,
        channel=Channel.EMAIL if customer.email else Channel.SMS, status=SurveyStatus.SCHEDULED,
        customer=customer, agent=Agent(id="agt_7"), base_url="http://127.0.0.1:8000",
        created_at=at, send_at=at, expires_at=at + timedelta(days=28),
    )
    values.update(overrides)
    return Survey(**values)


ADA = Customer(id="cus_19", email="ada@example.com", phone="+14155550123")


def create_throttled(repos, survey: Survey) -> None:
    repos.surveys.create(survey, throttle_since=survey.created_at - WINDOW,
                        contacts=survey.customer.contacts())


def items_with_prefix(repos, prefix: str) -> list[dict]:
    items = repos.table.db.scan(TableName=repos.table.name, ConsistentRead=True)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]


# --- throttle stamps in create_survey --------------------------------------------------------

def test_a_throttled_survey_stamps_every_contact_of_its_customer(repos):
    survey = a_survey(ADA)
    create_throttled(repos, survey)
    stamps = {item["pk"]["S"]: item for item in items_with_prefix(repos, "THROTTLE#")}
    assert set(stamps) == {"THROTTLE#customer#cus_19", "THROTTLE#email#ada@example.com",
                           "THROTTLE#phone#+14155550123"}
    assert all(item["survey_id"]["S"] == survey.survey_id for item in stamps.values())
    assert repos.surveys.last_surveyed(ContactKind.EMAIL, "ada@example.com") == T0


@pytest.mark.parametrize("second, contact", [
    (Customer(id="cus_19", email="other@example.com"), (ContactKind.CUSTOMER, "cus_19")),
    (Customer(id="cus_20", email="ada@example.com"), (ContactKind.EMAIL, "ada@example.com")),
    (Customer(id="cus_21", phone="+14155550123"), (ContactKind.PHONE, "+14155550123")),
], ids=["same-customer", "same-email", "same-phone"])
def test_a_second_survey_within_the_window_is_throttled_naming_the_contact(repos, second, contact):
    create_throttled(repos, a_survey(ADA))
    survey = a_survey(second, at=T0 + WINDOW - timedelta(seconds=1))
    with pytest.raises(Throttled) as raised:
        create_throttled(repos, survey)
    assert (raised.value.kind, raised.value.value) == contact
    # Nothing of the refused survey was written: no survey, no interaction, no stamp.
    assert repos.surveys.get(survey.survey_id) is None
    assert repos.surveys.survey_id_for_interaction(survey.interaction_id) is None
    assert repos.surveys.last_surveyed(ContactKind.CUSTOMER, "cus_19") == T0


def test_after_the_window_the_customer_is_surveyed_again(repos):
    create_throttled(repos, a_survey(ADA))
    later = a_survey(ADA, at=T0 + WINDOW + timedelta(milliseconds=1))
    create_throttled(repos, later)
    assert repos.surveys.get(later.survey_id) is not None
    assert repos.surveys.last_surveyed(ContactKind.CUSTOMER, "cus_19") == later.created_at


def test_a_repeated_interaction_is_a_duplicate_not_a_throttle(repos):
    first = a_survey(ADA)
    create_throttled(repos, first)
    with pytest.raises(DuplicateInteraction) as raised:
        create_throttled(repos, a_survey(ADA, interaction_id=first.interaction_id))
    assert raised.value.survey_id == first.survey_id


def test_without_a_window_nothing_is_stamped_or_checked(repos):
    create_throttled(repos, a_survey(ADA))
    resurvey = a_survey(ADA, followup_id="fu_x")
    repos.surveys.create(resurvey)  # re-surveys and suppressed surveys: no throttle
    assert repos.surveys.get(resurvey.survey_id) is not None
    assert {item["survey_id"]["S"] for item in items_with_prefix(repos, "THROTTLE#")} != {resurvey.survey_id}


def test_concurrent_surveys_of_one_customer_make_exactly_one(repos):
    surveys = [a_survey(Customer(id="cus_19", email=f"a{n}@example.com")) for n in range(8)]

    def attempt(survey):
        try:
            create_throttled(repos, survey)
            return "created"
        except Throttled:
            return "throttled"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, surveys))
    assert sorted(outcomes) == ["created"] + ["throttled"] * 7
    assert len(items_with_prefix(repos, "SURVEY#")) == 1


# --- open follow-up markers ------------------------------------------------------------------

def a_followup(customer_id: str = "cus_19", status: FollowUpStatus = FollowUpStatus.OPEN) -> FollowUp:
    survey_id = tokens.new_survey_id()
    return FollowUp(followup_id=f"fu_{survey_id}", survey_id=survey_id, interaction_id="zd-1", kind=SurveyKind.CSAT,
                    score=1, customer_id=customer_id, status=status, opened_at=T0, due_at=T0 + timedelta(hours=8))


def test_an_open_followup_marks_its_customer_until_it_closes_and_again_when_reopened(repos):
    followup = a_followup()
    assert not repos.followups.has_open("cus_19")
    assert repos.followups.open(followup)
    assert repos.followups.has_open("cus_19") and not repos.followups.has_open("cus_20")

    claimed = followup.model_copy(update={"status": FollowUpStatus.CLAIMED, "owner": "sam", "version": 1})
    repos.followups.save(claimed, 0)
    assert repos.followups.has_open("cus_19")

    resolved = claimed.model_copy(update={"status": FollowUpStatus.RESOLVED, "closed_at": T0, "version": 2})
    repos.followups.save(resolved, 1)
    assert not repos.followups.has_open("cus_19")
    assert items_with_prefix(repos, "CUSTOMER#") == []

    reopened = resolved.model_copy(update={"status": FollowUpStatus.OPEN, "owner": None, "closed_at": None,
                                           "version": 3})
    repos.followups.save(reopened, 2)
    assert repos.followups.has_open("cus_19")


def test_a_lost_followup_write_leaves_the_marker_as_it_was(repos):
    followup = a_followup()
    repos.followups.open(followup)
    resolved = followup.model_copy(update={"status": FollowUpStatus.RESOLVED, "closed_at": T0, "version": 1})
    with pytest.raises(ConditionFailed):
        repos.followups.save(resolved, 7)  # a stale version
    assert repos.followups.has_open("cus_19")
    assert not repos.followups.open(followup)  # the same follow-up again: refused, marker unchanged
    assert repos.followups.has_open("cus_19")


def test_one_closed_followup_does_not_hide_another_open_one(repos):
    first, second = a_followup(), a_followup()
    repos.followups.open(first)
    repos.followups.open(second)
    repos.followups.save(first.model_copy(update={"status": FollowUpStatus.UNREACHABLE, "closed_at": T0,
                                                 "version": 1}), 0)
    assert repos.followups.has_open("cus_19")


# --- a scheduled survey suppressed before its send -------------------------------------------

def test_mark_suppressed_ends_only_a_scheduled_survey(repos):
    survey = a_survey(ADA)
    repos.surveys.create(survey)
    repos.surveys.mark_suppressed(survey.survey_id, "bounced: email ada@example.com", T0)
    stored = repos.surveys.get(survey.survey_id)
    assert stored.status is SurveyStatus.SUPPRESSED and stored.suppressed_reason == "bounced: email ada@example.com"
    with pytest.raises(ConditionFailed):
        repos.surveys.mark_suppressed(survey.survey_id, "again", T0)

    sent = a_survey(ADA, status=SurveyStatus.SENT, sent_at=T0)
    repos.surveys.create(sent)
    with pytest.raises(ConditionFailed):
        repos.surveys.mark_suppressed(sent.survey_id, "too late", T0)
    assert repos.surveys.get(sent.survey_id).status is SurveyStatus.SENT


def test_mark_suppressed_waits_for_a_live_send_lease(repos):
    survey = a_survey(ADA)
    repos.surveys.create(survey)
    assert repos.claim_step(survey_key(survey.survey_id).pk, "SURVEY", "send", T0, 300) is None
    with pytest.raises(ConditionFailed):
        repos.surveys.mark_suppressed(survey.survey_id, "bounced", T0 + timedelta(seconds=10))
    repos.surveys.mark_suppressed(survey.survey_id, "bounced", T0 + timedelta(seconds=301))  # the lease ran out
    assert repos.surveys.get(survey.survey_id).status is SurveyStatus.SUPPRESSED


# --- counters and the ledger -----------------------------------------------------------------

def test_counters_count_atomically_and_read_back_in_one_call(repos):
    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(lambda _: repos.named.add("suppressed:throttled"), range(10)))
    repos.named.add("suppressed:bounced")
    assert repos.named.values(["suppressed:throttled", "suppressed:bounced", "suppressed:manual"]) == {
        "suppressed:throttled": 10, "suppressed:bounced": 1, "suppressed:manual": 0}
    assert repos.named.values([]) == {}


def test_the_ledger_records_once_finds_lists_and_lifts(repos):
    assert suppressions.suppress(ContactKind.EMAIL, "Ada@Example.com", SuppressionReason.BOUNCED, "ses", at=T0)
    assert not suppressions.suppress(ContactKind.EMAIL, "ada@example.com", SuppressionReason.COMPLAINED, "ses",
                                     at=T0 + timedelta(hours=1))
    suppressions.suppress(ContactKind.PHONE, "+14155550123", SuppressionReason.SMS_STOP, "sms", at=T0)
    entry = suppressions.get_suppression(ContactKind.EMAIL, "ADA@example.com")
    assert (entry.value, entry.reason, entry.at) == ("ada@example.com", SuppressionReason.BOUNCED, T0)
    assert [e.kind for e in repos.suppressions.list()] == [ContactKind.EMAIL, ContactKind.PHONE]
    assert [e.value for e in repos.suppressions.list(ContactKind.PHONE)] == ["+14155550123"]

    assert suppressions.suppression_for_survey(ADA, Channel.EMAIL).kind is ContactKind.EMAIL
    assert suppressions.suppression_for_survey(ADA, Channel.SMS).kind is ContactKind.PHONE
    assert suppressions.lift_suppression(ContactKind.EMAIL, "ada@example.com").reason is SuppressionReason.BOUNCED
    assert suppressions.lift_suppression(ContactKind.EMAIL, "ada@example.com") is None
    assert suppressions.suppression_for_survey(ADA, Channel.EMAIL) is None


def test_a_customer_id_entry_stops_every_channel(repos):
    suppressions.suppress(ContactKind.CUSTOMER, "cus_19", SuppressionReason.MANUAL, "ops", at=T0)
    for channel in Channel:
        assert suppressions.suppression_for_survey(ADA, channel).kind is ContactKind.CUSTOMER
