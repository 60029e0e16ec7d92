"""Why counters on DynamoDB Local: the reasons, the comment's themes and the "resolved?" answer move
in the response's own transaction (a change of mind moves them, a withdrawal takes them back), and
compaction folds their closed days like any other counter."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from chalicelib.insight import compaction
from chalicelib.insight import counters as aggregates
from tests.storage.insight.test_report_counters import T0, scheduled, send, withdraw


def tag_counts(repos, kind: str = "csat") -> dict:
    """{dimension: {group: {attribute: n}}} over every counter item (shards and folded), zeros dropped."""
    found: dict = {dimension: defaultdict(lambda: defaultdict(int)) for dimension in aggregates.DIMENSIONS}
    for dimension in aggregates.DIMENSIONS:
        for _day, group, counts in aggregates.ReportCounters(repos.table).read(kind, dimension, T0.date(),
                                                                              T0.date() + timedelta(days=3)):
            for name, value in counts.items():
                found[dimension][group][name] += int(value)
    return {dimension: {group: {n: v for n, v in counts.items() if v} for group, counts in groups.items()
                        if any(counts.values())}
            for dimension, groups in found.items()}


def shard_items(repos) -> list[dict]:
    return [item for item in repos.table.scan() if item["pk"].startswith("AGG#") and not item["pk"].endswith("closed")]


def answer(repos, survey_id, score, comment=None, resolved=None, reasons=None, minutes=1):
    return repos.record_response(repos.surveys.get(survey_id), None, score, comment, T0 + timedelta(minutes=minutes),
                                 resolved, reasons)


def test_reasons_themes_and_resolved_are_stored_and_counted_with_the_response(repos):
    survey = send(repos, scheduled(), T0)
    answer(repos, survey.survey_id, 2, "I waited a week for my refund", False, ["waited", "not_solved"])
    stored = repos.surveys.get(survey.survey_id)
    assert (stored.reasons, stored.themes, stored.resolved) == (["waited", "not_solved"], ["billing", "waiting"], False)
    counts = tag_counts(repos)
    # Each reason and theme group carries the response's answer to "resolved?" too (FCR per reason).
    no = {"responses": 1, "s2": 1, "fcr_no": 1}
    assert counts["reason"] == {"waited": no, "not_solved": no}
    assert counts["theme"] == {"billing": no, "waiting": no}
    assert counts["all"]["all"]["fcr_no"] == 1 and "fcr_yes" not in counts["all"]["all"]
    assert counts["agent"]["agt_7"]["fcr_no"] == 1 and counts["channel"]["email"]["fcr_no"] == 1


def test_a_change_of_mind_moves_reasons_themes_and_resolved(repos):
    survey = send(repos, scheduled(), T0)
    answer(repos, survey.survey_id, 2, "waited forever", False, ["waited", "not_solved"])
    # A new score and answer, one reason less, a new comment: every count follows the last choice.
    answer(repos, survey.survey_id, 3, "the agent was rude", True, ["waited"], minutes=2)
    counts = tag_counts(repos)
    assert counts["reason"] == {"waited": {"responses": 1, "s3": 1, "fcr_yes": 1}}
    assert counts["theme"] == {"attitude": {"responses": 1, "s3": 1, "fcr_yes": 1}}
    assert (counts["all"]["all"].get("fcr_yes"), counts["all"]["all"].get("fcr_no")) == (1, None)
    # A score alone changes: the reasons, themes and answer given stay, counted with the new score.
    answer(repos, survey.survey_id, 1, minutes=3)
    counts = tag_counts(repos)
    assert counts["reason"] == {"waited": {"responses": 1, "s1": 1, "fcr_yes": 1}}
    assert counts["theme"] == {"attitude": {"responses": 1, "s1": 1, "fcr_yes": 1}}
    assert counts["all"]["all"]["fcr_yes"] == 1


def test_a_withdrawn_sweep_takes_every_why_count_back(repos):
    survey = send(repos, scheduled(), T0)
    answer(repos, survey.survey_id, 2, "refund please", True, ["product"])
    withdraw(repos, survey.survey_id, T0 + timedelta(minutes=5))
    counts = tag_counts(repos)
    assert counts["reason"] == {} and counts["theme"] == {}
    assert "fcr_yes" not in counts["all"]["all"] and "responses" not in counts["all"]["all"]


def test_re_surveys_count_no_why(repos):
    survey = send(repos, scheduled(followup_id="fu_1"), T0)
    answer(repos, survey.survey_id, 2, "still waiting", False, ["waited"])
    assert repos.surveys.get(survey.survey_id).resolved is False
    assert tag_counts(repos)["reason"] == {} and tag_counts(repos)["theme"] == {}


def test_a_change_of_reasons_alone_on_a_closed_day_is_folded_by_compaction(repos):
    survey = send(repos, scheduled(), T0)
    answer(repos, survey.survey_id, 2, None, None, ["waited"])
    closed = T0.date() + timedelta(days=5)
    compaction.compact(table=repos.table, before=closed)
    # Days later the customer ticks another reason: only reason items move, and the day's "all"
    # item is touched so that the next compaction finds the day again.
    answer(repos, survey.survey_id, 2, None, None, ["waited", "attitude"], minutes=60 * 24 * 3)
    assert {item["pk"].split("#")[2] for item in shard_items(repos)} == {"all", "reason"}
    compaction.compact(table=repos.table, before=closed)
    assert shard_items(repos) == []
    assert tag_counts(repos)["reason"] == {"waited": {"responses": 1, "s2": 1}, "attitude": {"responses": 1, "s2": 1}}


def test_a_changed_answer_to_resolved_moves_the_fcr_of_each_reason_and_theme(repos):
    survey = send(repos, scheduled(), T0)
    answer(repos, survey.survey_id, 2, "waited", False, ["waited"])
    answer(repos, survey.survey_id, 2, None, True, minutes=2)  # the same score, now "yes, resolved"
    counts = tag_counts(repos)
    assert counts["reason"] == {"waited": {"responses": 1, "s2": 1, "fcr_yes": 1}}
    assert counts["theme"] == {"waiting": {"responses": 1, "s2": 1, "fcr_yes": 1}}
    withdraw(repos, survey.survey_id, T0 + timedelta(minutes=5))
    assert tag_counts(repos)["reason"] == {} and tag_counts(repos)["theme"] == {}
