"""Two-way SMS: what a customer texts back to the number our surveys come from.

AWS End User Messaging publishes every inbound SMS to an SNS topic (the replies topic); the app's
SNS handler passes each message here. SNS delivers at least once, so each reply is handled once,
keyed by its inboundMessageId (a marker item written before acting).

- STOP and its kin (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT) suppress the number
  (reason sms_stop) and confirm it once: one confirmation per ledger entry, even when the number
  was already suppressed for another reason, never a second one.
- HELP (or INFO) answers with the company's name and `help_contact`.
- START (or UNSTOP) lifts the number's sms_stop suppression and confirms, once per lift.
- A score ("9", "9/10", "nine", "10!") answers the survey most recently texted to the number, by
  the same rules as a click (surveys/responses.py, respond_by_sms), and is thanked. A detractor's or
  passive's thanks lists the stage's reasons, numbered (up to two GSM-7 segments).
- Once the survey holds such a low score, a reply of those numbers ("1 3", "1,3", "2 and 4", or one
  number of the list) names its reasons: they replace the ones given before, and the score stays.
  A list with a number off it changes nothing and gets a clear answer. One number off the list is a
  score again ("9" after an 8), and "4/10" always is.
- Anything else gets a short help reply at most once per survey and changes nothing.
- A reply from a number we never texted a survey (or whose survey has closed) gets one short
  reply saying there is no open survey, at most once per number (or per closed survey).
A number that is suppressed gets no reply except the STOP confirmation and the HELP answer (both
required of an SMS sender); its score is still recorded, since the person sent it.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Union

from pydantic import ValidationError

from chalicelib.contacts.ledger import get_suppression, lift_suppression, normalize, suppress
from chalicelib.contacts.model import InboundSms, SuppressionReason
from chalicelib.contacts.repository import SmsRecords, suppression_key
from chalicelib.delivery import SEGMENT_SEPTETS, septets, to_gsm, without_accents
from chalicelib.platform import aws, clock, i18n
from chalicelib.platform.settings import Settings, get_settings
from chalicelib.storage.steps import run_once
from chalicelib.storage.table import ConditionFailed
from chalicelib.surveys import (
    ContactKind, ResponseOutcome, SurveyExpired, SurveyNotFound, SurveyRepository, respond_by_sms, scoring,
)
from chalicelib.why import reason_label, stage_reasons

log = logging.getLogger(__name__)


# --- what a reply says ---------------------------------------------------------------------

class Keyword(str, Enum):
    STOP = "stop"
    HELP = "help"
    START = "start"


@dataclass(frozen=True)
class Score:
    value: int
    out_of: Optional[int] = None  # "9/10": 10; a reply "out of" another scale is not a score


@dataclass(frozen=True)
class Numbers:
    """Two or more numbers ("1 3", "1,3", "2 and 4"): reasons from the list the thanks gave."""
    values: tuple[int, ...]


@dataclass(frozen=True)
class Unknown:
    pass


Reply = Union[Keyword, Score, Numbers, Unknown]

_KEYWORDS = {
    **{word: Keyword.STOP for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                                       "OPTOUT")},
    "HELP": Keyword.HELP, "INFO": Keyword.HELP,
    "START": Keyword.START, "UNSTOP": Keyword.START,
}
# Numbers as words in every language with a catalog ("nine", "nueve", "neuf", "neun", "nove"),
# written without accents: a reply is read without them ("três", "zéro", "fünf" match too).
_WORDS = {
    word: value
    for words in ("zero one two three four five six seven eight nine ten",        # en
                  "cero uno dos tres cuatro cinco seis siete ocho nueve diez",    # es
                  "zero un deux trois quatre cinq six sept huit neuf dix",        # fr
                  "null eins zwei drei vier funf sechs sieben acht neun zehn",    # de
                  "zero um dois tres quatro cinco seis sete oito nove dez")       # pt
    for value, word in enumerate(words.split())
} | {"une": 1, "uma": 1, "ein": 1, "eine": 1, "fuenf": 5}
_NUMBER = r"(\d{1,2}|" + "|".join(_WORDS) + r")"
# "9/10", "9 out of 10", "9 of 10", "9 de 10", "9 sur 10", "9 von 10".
_SCORE = re.compile(_NUMBER + r"(?:\s*(?:/|out\s+of|of|de|sur|von)\s*" + _NUMBER + r")?", re.IGNORECASE)
# Trimmed from both ends before reading a reply; "-" and "+" are not, so "-1" is no score.
_EDGES = " \t\r\n.,;:!?¡¿'\"`()[]{}*_~"
# Numbers joined by spaces, commas, "&", "+" or "and" in each language ("/" is a score's: "9/10").
_JOIN = r"(?:\s*[,;&+]\s*|\s+(?:and|y|e|et|und)\s+|\s+)"
_NUMBERS = re.compile(r"\d{1,2}(?:" + _JOIN + r"\d{1,2})+", re.IGNORECASE)
# A reply's list may hold at most this many numbers (more is not a list of reasons).
_MAX_NUMBERS = 12


def classify(body: str) -> Reply:
    """Read a reply: a keyword, a score from 0 to 10, or anything else (pure; any case and spacing)."""
    text = without_accents((body or "").strip(_EDGES))
    compact = re.sub(r"[\s_-]+", "", text).upper()  # "Opt-out", "OPT OUT", "stop all"
    if compact in _KEYWORDS:
        return _KEYWORDS[compact]
    match = _SCORE.fullmatch(text)
    if match:
        value, out_of = _number(match.group(1)), _number(match.group(2)) if match.group(2) else None
        if value <= 10 and (out_of is None or value <= out_of):
            return Score(value, out_of)
    if _NUMBERS.fullmatch(text):
        values = tuple(int(n) for n in re.findall(r"\d+", text))
        if len(values) <= _MAX_NUMBERS:
            return Numbers(values)
    return Unknown()


def _number(text: str) -> int:
    return _WORDS[text.lower()] if text.lower() in _WORDS else int(text)


def score_for(reply: Score, kind: scoring.SurveyKind) -> Optional[int]:
    """The reply's score on the survey's scale, or None if it does not fit it ("7" for CSAT, "4/5" for NPS)."""
    scale = scoring.scale(kind)
    if reply.out_of is not None and reply.out_of != scale[-1]:
        return None
    return reply.value if scoring.is_valid_score(kind, reply.value) else None


# --- handling one inbound SMS ----------------------------------------------------------------

def handle(message: str) -> str:
    """Handle one SNS message of the replies topic; returns what happened (for logs and tests)."""
    try:
        inbound = InboundSms.model_validate_json(message)
    except ValidationError as error:
        # Redelivering it would fail the same way; drop it with the evidence in the log: which
        # fields and why, never their values (the customer's text and number).
        log.error("dropped a malformed inbound SMS: %s", _problems(error))
        return "malformed"
    records = SmsRecords()
    if not records.mark_inbound(inbound.inboundMessageId, clock.now()):
        return "duplicate"
    try:
        outcome = _act(inbound, classify(inbound.messageBody), records, get_settings())
    except BaseException:
        records.unmark_inbound(inbound.inboundMessageId)  # let SNS's retry handle it again
        raise
    log.info("inbound SMS %s: %s", inbound.inboundMessageId, outcome)
    return outcome


def _act(inbound: InboundSms, reply: Reply, records: SmsRecords, settings: Settings) -> str:
    phone = inbound.originationNumber
    # The survey most recently texted to the number: a score answers it; replies speak its language.
    survey_id = records.latest(phone)
    survey = SurveyRepository().get(survey_id) if survey_id else None
    _ = i18n.translator(survey.customer.locale if survey else None, settings.default_language)
    if reply is Keyword.STOP:
        return _stop(inbound, settings, _)
    if reply is Keyword.HELP:
        _send(inbound, settings, _, _("Customer survey texts. Help: {contact}. Reply STOP to opt out.",
                                      contact=settings.help_contact) if settings.help_contact
              else _("Customer survey texts. Reply STOP to opt out."))
        return "help"
    if reply is Keyword.START:
        current = get_suppression(ContactKind.PHONE, phone)  # clear or hashed (an erased customer's)
        if current is None or current.reason is not SuppressionReason.SMS_STOP:
            return "start: nothing to lift" if current is None else f"start: kept ({current.reason.value})"
        if lift_suppression(ContactKind.PHONE, phone) is None:
            return "start: already lifted"
        _send(inbound, settings, _, _("You are subscribed to survey texts again. Reply STOP to opt out."))
        return "start: lifted"

    quiet = get_suppression(ContactKind.PHONE, phone) is not None  # an opted-out number gets no more texts
    if survey is None:
        if not quiet and records.mark_no_survey(phone, clock.now()):
            _send(inbound, settings, _, _("There is no open survey for this number. Reply HELP for help."))
        return "no survey"
    offered = stage_reasons(settings)
    numbers = _reason_numbers(reply, survey, offered)
    if numbers is not None:
        return _reasons(inbound, survey, numbers, offered, records, settings, _, quiet)
    score = score_for(reply, survey.kind) if isinstance(reply, Score) else None
    if score is None:
        low, high = scoring.scale(survey.kind)[0], scoring.scale(survey.kind)[-1]
        if not quiet and records.mark_survey_reply(survey.survey_id, "SMSHELP", clock.now()):
            _send(inbound, settings, _, _("To rate your support, reply with a number from {low} to {high}. "
                                          "Reply STOP to opt out.", low=low, high=high))
        return "unknown"
    outcome, refused = _count_reply(inbound, survey, score, None, records, settings, _, quiet)
    if refused:
        return refused
    if not quiet:
        thanks = _("Thank you! We recorded your score of {score}.", score=score)
        if offered and not scoring.is_promoter(survey.kind, score):
            _send(inbound, settings, _, reasons_question(_, thanks, offered), segments=REASON_SEGMENTS)
        else:
            _send(inbound, settings, _, thanks)
    return f"recorded {score}"


def _count_reply(inbound: InboundSms, survey, score: int, reasons: Optional[list[str]], records: SmsRecords,
                 settings: Settings, _: i18n.Translator, quiet: bool
                 ) -> tuple[Optional[ResponseOutcome], Optional[str]]:
    """Count a texted score (and reasons); (the outcome, None), or (None, why it did not count), a
    closed survey answered once."""
    try:
        outcome = respond_by_sms(survey.survey_id, score, reasons=reasons)
    except (SurveyExpired, SurveyNotFound, ConditionFailed):
        # ConditionFailed after the retries: the survey expired (or was suppressed) meanwhile.
        if not quiet and records.mark_survey_reply(survey.survey_id, "SMSCLOSED", clock.now()):
            _send(inbound, settings, _, _("This survey is closed. Thank you all the same."))
        return None, "closed"
    if not outcome.counted:
        return None, f"not counted: {outcome.reason}"
    return outcome, None


# --- reasons by number ------------------------------------------------------------------------

# The thanks that lists the reasons may take two concatenated GSM-7 segments: six translated
# labels do not fit one beside the thanks (tests/unit/contacts/test_sms_reasons.py measures each language).
REASON_SEGMENTS = 2


def reasons_question(_: i18n.Translator, thanks: str, offered: list[str]) -> str:
    """The thanks of a low score, then the stage's reasons numbered from 1, one a line."""
    lines = [f"{number} {reason_label(key, _)}" for number, key in enumerate(offered, start=1)]
    return "\n".join([f"{thanks} {_('What went wrong? Reply with the numbers, e.g. 1 3:')}", *lines])


def _reason_numbers(reply: Reply, survey, offered: list[str]) -> Optional[tuple[int, ...]]:
    """The numbers of a reply that names reasons: only once the survey holds a low score (its thanks
    listed them); one number then is a reason when the list has it, a score otherwise."""
    if not offered or survey.score is None or scoring.is_promoter(survey.kind, survey.score):
        return None
    if isinstance(reply, Numbers):
        return reply.values
    if isinstance(reply, Score) and reply.out_of is None and 1 <= reply.value <= len(offered):
        return (reply.value,)
    return None


def _reasons(inbound: InboundSms, survey, numbers: tuple[int, ...], offered: list[str], records: SmsRecords,
             settings: Settings, _: i18n.Translator, quiet: bool) -> str:
    """Store the reasons the numbers name (the score stays); a number off the list changes nothing."""
    if any(not 1 <= number <= len(offered) for number in numbers):
        if not quiet:
            _send(inbound, settings, _, _("Please reply with numbers from 1 to {count} from the list, e.g. 1 3. "
                                          "Your score is kept.", count=len(offered)))
        return "reasons: off the list"
    keys = [offered[number - 1] for number in numbers]
    outcome, refused = _count_reply(inbound, survey, survey.score, keys, records, settings, _, quiet)
    if refused:
        return refused
    if not quiet:
        labels = ", ".join(reason_label(key, _) for key in outcome.survey.reasons)
        _send(inbound, settings, _, _("Thank you! We noted: {reasons}.", reasons=labels), segments=REASON_SEGMENTS)
    return f"reasons {','.join(outcome.survey.reasons)}"


def _stop(inbound: InboundSms, settings: Settings, _: i18n.Translator) -> str:
    phone = inbound.originationNumber
    new = suppress(ContactKind.PHONE, phone, SuppressionReason.SMS_STOP, "sms")
    # The legally required confirmation: once per ledger entry (a step on it), sent although the
    # number is now suppressed; a failed send is retried with the SNS delivery.
    entry = suppression_key(ContactKind.PHONE, normalize(ContactKind.PHONE, phone))
    try:
        run_once(entry, "sms_confirm", lambda: _send(
            inbound, settings, _, _("You will get no more survey texts from us. Reply START to opt back in."),
            best_effort=False))
    except ConditionFailed:
        return "stop: lifted meanwhile"  # a START raced this STOP and removed the entry
    return "stop: suppressed" if new else "stop: already suppressed"


def _send(inbound: InboundSms, settings: Settings, _: i18n.Translator, body: str,
          best_effort: bool = True, segments: int = 1) -> Optional[str]:
    """Text a reply to the sender, from the number they texted when we know it."""
    text = fit(_, body, settings.company_name, segments)
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    if inbound.destinationNumber and re.fullmatch(r"\+[1-9]\d{6,14}", inbound.destinationNumber):
        attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String",
                                                      "StringValue": inbound.destinationNumber}
    try:
        return aws.client("sns").publish(PhoneNumber=inbound.originationNumber, Message=text,
                                         MessageAttributes=attributes)["MessageId"]
    except Exception as error:  # noqa: BLE001 - a courtesy reply that failed is logged, the reply still counts
        if not best_effort:
            raise
        # The error type only: an SNS error message may quote the number it refused.
        log.error("reply to inbound SMS %s not sent (%s)", inbound.inboundMessageId, _error_type(error))
        return None


def _problems(error: ValidationError) -> str:
    """A validation error as fields and pydantic's error types ("originationNumber: string_pattern_mismatch")."""
    return "; ".join(f"{'.'.join(str(part) for part in problem['loc']) or 'message'}: {problem['type']}"
                     for problem in error.errors(include_url=False, include_input=False, include_context=False))


def _error_type(error: Exception) -> str:
    """"ClientError InvalidParameter": the class, and an AWS error's code when it has one."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def fit(_: i18n.Translator, body: str, company: str, segments: int = 1) -> str:
    """"Company: body" in one GSM-7 segment (or `segments` concatenated ones): accents GSM-7 lacks
    are dropped, then the name if it must be."""
    body = to_gsm(body) or body
    name = to_gsm(company)
    text = to_gsm(_("{company}: {text}", company=name, text=body)) if name else None
    length = septets(text) if text else None
    return text if length is not None and length <= segment_room(segments) else body


def segment_room(segments: int) -> int:
    """Septets in `segments` GSM-7 segments: a concatenated message's segments keep 7 for their header."""
    return SEGMENT_SEPTETS if segments == 1 else segments * (SEGMENT_SEPTETS - 7)
