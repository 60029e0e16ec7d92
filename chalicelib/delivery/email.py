"""Survey emails through SES v2: an HTML part with one button per score and a text part."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from chalicelib import aws, links, scoring
from chalicelib.config import Settings
from chalicelib.delivery.content import MessageContext
from chalicelib.models import Survey
from chalicelib.rendering import render


def compose(survey: Survey, token: str, settings: Settings) -> EmailMessage:
    context = MessageContext.of(survey, settings)
    low_label, high_label = scoring.endpoint_labels(survey.kind)
    scores = [{"score": s, "label": scoring.score_label(survey.kind, s),
               "url": links.score_url(survey.base_url, token, s)} for s in scoring.scale(survey.kind)]
    values = dict(message=context, scores=scores, low_label=low_label, high_label=high_label,
                  honeypot_url=links.honeypot_url(survey.base_url, token))
    message = EmailMessage()
    message["Subject"] = render("email/subject.txt", **values).strip()
    message["From"] = formataddr((settings.company_name, settings.sender_email))
    # A name may hold line breaks (the API accepts them); a header may not.
    message["To"] = formataddr((" ".join((survey.customer.name or "").split()), survey.customer.email))
    message["Message-ID"] = make_msgid(domain=settings.sender_email.rpartition("@")[2] or None)
    # Tells auto-responders not to answer (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message["X-Closeloop-Survey"] = survey.survey_id
    message.set_content(render("email/survey.txt", **values))
    message.add_alternative(render("email/survey.html", **values), subtype="html")
    return message


def send(survey: Survey, settings: Settings, token: str) -> str:
    message = compose(survey, token, settings)
    response = aws.client("sesv2").send_email(
        FromEmailAddress=settings.sender_email,
        Destination={"ToAddresses": [survey.customer.email]},
        Content={"Raw": {"Data": message.as_bytes()}},
    )
    return response["MessageId"]
