"""Survey SMS through SNS: one GSM-7 segment (160 septets) holding exactly one link."""
from __future__ import annotations

import unicodedata
from typing import Callable, Optional

from chalicelib.delivery.content import MessageContext
from chalicelib.platform import aws
from chalicelib.platform.settings import Settings
from chalicelib.surveys import Survey, links

SEGMENT_SEPTETS = 160
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def septets(text: str) -> Optional[int]:
    """Length of `text` in GSM-7 septets, or None if it needs UCS-2 (which halves the segment)."""
    total = 0
    for char in text:
        if char in _GSM_BASIC:
            total += 1
        elif char in _GSM_EXTENDED:
            total += 2
        else:
            return None
    return total


def to_gsm(text: Optional[str]) -> Optional[str]:
    """A name in GSM-7: accents stripped where that helps, None if it still does not fit."""
    if not text:
        return None
    if septets(text) is not None:
        return text
    plain = without_accents(text)
    return plain if septets(plain) is not None else None


def without_accents(text: str) -> str:
    """"Zoë, três" → "Zoe, tres": every combining mark dropped."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def compose(survey: Survey, token: str, settings: Settings, reminder: bool = False) -> str:
    """The most personal wording that fits one segment, in the customer's language (a reminder
    starts with "Reminder: "). Accents GSM-7 lacks (ç, ã) are dropped rather than costing the
    segment: UCS-2 would leave 70 characters, too few for a link and a question."""
    context = MessageContext.of(survey, settings, reminder=reminder)
    _ = context.gettext
    url = links.choose_url(survey.base_url, token)
    name, agent, company = to_gsm(context.customer_name), to_gsm(context.agent_name), to_gsm(context.company)
    hello = _("Hi {name}, ", name=name) if name else _("Hi, ")
    candidates = []
    if context.resurvey:
        # A re-survey after a resolved follow-up: say so, and ask whether it worked.
        if company:
            candidates.append(_("{hello}we followed up on your feedback to {company}. "
                                "Was your issue resolved? Tell us: {url}", hello=hello, company=company, url=url))
            candidates.append(_("{hello}{company} here: was your issue resolved? Tell us: {url}",
                                hello=hello, company=company, url=url))
        candidates.append(_("{hello}was your issue resolved? Tell us: {url}", hello=hello, url=url))
        candidates.append(_("Issue resolved? Rate us: {url}", url=url))
    elif agent and company:
        candidates.append(_("{hello}thanks for contacting {company}. How did {agent} do? Tap to rate: {url}",
                            hello=hello, company=company, agent=agent, url=url))
        candidates.append(_("{hello}how did {agent} at {company} do? Rate: {url}",
                            hello=hello, agent=agent, company=company, url=url))
    if company and not context.resurvey:
        candidates.append(_("{hello}how was your {company} support? Rate: {url}", hello=hello, company=company, url=url))
        candidates.append(_("{company}: rate your support {url}", company=company, url=url))
    candidates.append(_("Rate your support: {url}", url=url))
    if context.reminder:
        candidates = [_("Reminder: {text}", text=text) for text in candidates] + candidates[-1:]
    for text in map(to_gsm, candidates):
        length = septets(text) if text else None
        if length is not None and length <= SEGMENT_SEPTETS:
            return text
    raise ValueError("the survey link alone does not fit one SMS segment; shorten public_url")


def send(survey: Survey, settings: Settings, token: str, reminder: bool = False) -> str:
    return prepare(survey, settings, token, reminder)()


def prepare(survey: Survey, settings: Settings, token: str, reminder: bool = False) -> Callable[[], str]:
    """The text, built now; the call that sends it, to make at its send-rate moment."""
    request = {"PhoneNumber": survey.customer.phone, "Message": compose(survey, token, settings, reminder=reminder),
               "MessageAttributes": {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}}
    client = aws.client("sns")
    return lambda: client.publish(**request)["MessageId"]
