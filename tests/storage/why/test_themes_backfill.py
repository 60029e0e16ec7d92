"""`ops themes backfill` on DynamoDB Local: comments answered before themes existed get their themes
and count in the reports by theme, once however often it runs; nothing else is touched."""
from __future__ import annotations

from chalicelib.storage.table import ItemKey
from chalicelib.why import backfill_themes
from tests.storage.insight.test_report_counters import T0, scheduled, send
from tests.storage.insight.test_why_counters import answer, tag_counts


def as_before_themes(repos, survey_id: str) -> None:
    """The survey as a stage before themes stored it: no `themes`, and no theme counter items."""
    repos.table.update(ItemKey(f"SURVEY#{survey_id}", "SURVEY"), "REMOVE themes")
    for item in list(repos.table.scan()):
        if item["pk"].startswith("AGG#csat#theme#"):
            repos.table.delete(ItemKey(item["pk"], item["sk"]))


def test_older_comments_are_tagged_and_counted_once(repos):
    refund = send(repos, scheduled(), T0)
    answer(repos, refund.survey_id, 2, "I waited a week for my refund")
    plain = send(repos, scheduled(), T0)
    answer(repos, plain.survey_id, 4, "ok")  # a comment without a theme: tagged [] so the next run skips it
    silent = send(repos, scheduled(), T0)
    answer(repos, silent.survey_id, 5)  # no comment: nothing to tag
    for survey in (refund, plain, silent):
        as_before_themes(repos, survey.survey_id)
    assert tag_counts(repos)["theme"] == {}

    assert backfill_themes(repos.surveys) == 2
    assert repos.surveys.get(refund.survey_id).themes == ["billing", "waiting"]
    assert "themes" in repos.table.get(ItemKey(f"SURVEY#{plain.survey_id}", "SURVEY"))
    assert "themes" not in repos.table.get(ItemKey(f"SURVEY#{silent.survey_id}", "SURVEY"))
    assert tag_counts(repos)["theme"] == {"billing": {"responses": 1, "s2": 1}, "waiting": {"responses": 1, "s2": 1}}
    assert backfill_themes(repos.surveys) == 0  # again: nothing left, nothing counted twice
    assert tag_counts(repos)["theme"]["billing"] == {"responses": 1, "s2": 1}


def test_a_response_changed_while_the_backfill_reads_it_is_left_to_its_own_tagging(repos, monkeypatch):
    survey = send(repos, scheduled(), T0)
    answer(repos, survey.survey_id, 2, "refund please")
    as_before_themes(repos, survey.survey_id)
    real_get = repos.surveys.get

    def read_then_change_of_mind(survey_id, include_expired=False):
        read = real_get(survey_id)
        monkeypatch.setattr(repos.surveys, "get", real_get)
        answer(repos, survey_id, 1, "the agent was rude", minutes=5)  # tagged as it is written
        return read

    monkeypatch.setattr(repos.surveys, "get", read_then_change_of_mind)
    assert backfill_themes(repos.surveys) == 0
    assert repos.surveys.get(survey.survey_id).themes == ["attitude"]
    assert tag_counts(repos)["theme"] == {"attitude": {"responses": 1, "s1": 1}}


def test_the_operator_runs_it_with_ops(repos, monkeypatch, capsys):
    import ops.__main__ as ops
    from chalicelib.platform import aws

    survey = send(repos, scheduled(), T0)
    answer(repos, survey.survey_id, 2, "The app keeps crashing")
    as_before_themes(repos, survey.survey_id)
    monkeypatch.setattr(ops, "_use_stage", lambda stage: None)  # the test's table, not a stage's
    aws.reset_clients()
    assert ops.main(["themes", "backfill"]) == 0
    assert capsys.readouterr().out.strip() == "tagged 1 comments with their themes"
    assert repos.surveys.get(survey.survey_id).themes == ["product_defect"]
