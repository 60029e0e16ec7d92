"""The opt-in model taggers on botocore's Stubber (the services' documented response shapes):
what is sent (redacted), how answers map to the taxonomy, the short timeouts, and the fallback to
the keyword tagger on any error or answer not exactly as asked."""
from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.platform import aws, settings
from chalicelib.why import models


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset_clients()
    settings.reset_settings()
    yield
    aws.reset_clients()
    settings.reset_settings()


def stubbed(service: str) -> Stubber:
    stubber = Stubber(aws.quick_client(service))
    stubber.activate()
    return stubber


def converse_answer(text: str, stop: str = "end_turn") -> dict:
    return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}}, "stopReason": stop,
            "usage": {"inputTokens": 180, "outputTokens": 12, "totalTokens": 192}, "metrics": {"latencyMs": 420}}


def test_personal_data_is_redacted_before_the_text_leaves():
    text = ("I'm Ada Lovelace, ada@example.com, +1 (415) 555-0123, card 4111 1111 1111 1111, "
            "see https://acme.example/orders/77?t=secret. Waited 3 hours.")
    redacted = models.redact(text, ("Ada Lovelace",))
    for secret in ("Ada", "Lovelace", "ada@example.com", "555-0123", "4111", "acme.example", "secret"):
        assert secret not in redacted
    assert "[email]" in redacted and "[url]" in redacted and "[number]" in redacted and "[name]" in redacted
    assert "Waited 3 hours." in redacted  # short numbers are the comment's meaning, not an identity


def test_bedrock_classifies_into_the_taxonomy_and_unknown_keys_are_dropped(monkeypatch):
    monkeypatch.setenv("CLOSELOOP_THEMES_BEDROCK_MODEL", "amazon.nova-micro-v1:0")
    stubber = stubbed("bedrock-runtime")
    redacted = "[name] here, [email]: the refund never came and he was rude"
    prompt = models.bedrock_prompt(redacted)
    assert "- billing: Refunds and billing" in prompt and "- praise: Praise" in prompt and redacted in prompt
    # The Stubber refuses any other request: the model named by the setting, the redacted comment.
    stubber.add_response("converse", converse_answer('{"themes": ["billing", "attitude", "shipping"]}'),
                         {"modelId": "amazon.nova-micro-v1:0", "system": [{"text": models.SYSTEM_PROMPT}],
                          "messages": [{"role": "user", "content": [{"text": prompt}]}],
                          "inferenceConfig": {"maxTokens": 100, "temperature": 0}})
    themes = models.model_tag("Ada here, ada@example.com: the refund never came and he was rude",
                              "en", "Ada", model="bedrock")
    assert themes == ["attitude", "billing"]  # "shipping" is no key of the taxonomy
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("answer", ['Sure! {"themes": ["billing"]}', '{"themes": "billing"}', '["billing"]',
                                    '{"themes": ["billing"], "why": "x"}'])
def test_a_bedrock_answer_not_exactly_as_asked_falls_back_to_the_keywords(answer):
    stubber = stubbed("bedrock-runtime")
    stubber.add_response("converse", converse_answer(answer))
    assert models.model_tag("He was rude", "en", model="bedrock") == ["attitude"]  # the keyword tagger's
    stubber.assert_no_pending_responses()


def test_a_bedrock_answer_cut_short_falls_back():
    stubber = stubbed("bedrock-runtime")
    stubber.add_response("converse", converse_answer('{"themes": ["billing"]}', stop="max_tokens"))
    assert models.model_tag("He was rude", "en", model="bedrock") == ["attitude"]


def sentiment(name: str) -> dict:
    scores = {"Positive": 0.02, "Negative": 0.02, "Neutral": 0.02, "Mixed": 0.02}
    scores[name.capitalize()] = 0.94
    return {"Sentiment": name, "SentimentScore": scores}


def test_comprehend_sentiment_gives_praise_to_a_positive_comment_and_keeps_the_other_themes():
    stubber = stubbed("comprehend")
    text = "Got my refund back in no time, you people rock"  # no praise keyword
    stubber.add_response("detect_sentiment", sentiment("POSITIVE"), {"Text": text, "LanguageCode": "en"})
    assert models.tag_comment(text, "en-GB") == ["billing"]
    assert models.model_tag(text, "en-GB", model="comprehend") == ["billing", "praise"]
    stubber.assert_no_pending_responses()


def test_comprehend_takes_praise_away_from_a_negative_comment_in_its_language():
    stubber = stubbed("comprehend")
    text = "Super, encore une semaine sans mon remboursement, l'agent était impoli"
    stubber.add_response("detect_sentiment", sentiment("NEGATIVE"), {"Text": text, "LanguageCode": "fr"})
    assert "praise" in models.tag_comment(text, "fr")  # the keywords see "Super"
    assert models.model_tag(text, "fr", model="comprehend") == ["attitude", "billing"]
    stubber.assert_no_pending_responses()


def test_comprehend_is_sent_the_redacted_comment():
    stubber = stubbed("comprehend")
    stubber.add_response("detect_sentiment", sentiment("NEUTRAL"),
                         {"Text": "[name] at [email] waited", "LanguageCode": "en"})
    assert models.model_tag("Ada at ada@example.com waited", None, "Ada", model="comprehend") == ["waiting"]
    stubber.assert_no_pending_responses()


def test_a_service_error_falls_back_to_the_keyword_tagger():
    stubber = stubbed("comprehend")
    stubber.add_client_error("detect_sentiment", "ThrottlingException", http_status_code=400)
    assert models.model_tag("I waited for ages", "en", model="comprehend") == ["waiting"]


def test_a_timeout_falls_back_and_the_client_waits_briefly_and_retries_once(monkeypatch):
    client = aws.quick_client("bedrock-runtime")
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (2, 5)
    assert client.meta.config.retries["total_max_attempts"] == 2

    def stalls(**_):
        raise ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")

    monkeypatch.setattr(client, "converse", stalls)
    assert models.model_tag("Ich warte seit Tagen", "de", model="bedrock") == ["waiting"]


def test_no_model_no_call():
    stubber = stubbed("bedrock-runtime")  # a call would find no stubbed answer and fail
    assert models.model_tag("He was rude", "en") == ["attitude"]
    stubber.assert_no_pending_responses()
