"""Survey emails through SES v2: an HTML part with one button per score and a text part."""
from __future__ import annotations

from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formataddr, make_msgid
from typing import Callable

from chalicelib.delivery.content import MessageContext
from chalicelib.platform import aws
from chalicelib.platform.rendering import render
from chalicelib.platform.settings import Settings
from chalicelib.surveys import Survey, links, scoring


class _Policy(EmailPolicy):
    """The default policy, except that a List-Unsubscribe URL is written as it is.

    The default folds a header at 78 characters, and a URL (one long word) it cannot fold it
    writes as RFC 2047 encoded-words, which no mail client reads as a URL.
    """
    VERBATIM = frozenset({"list-unsubscribe", "list-unsubscribe-post"})

    def fold(self, name, value):
        text = str(value)
        if name.lower() in self.VERBATIM and text.isascii() and "\r" not in text and "\n" not in text:
            return f"{name}: {text}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if name.lower() in self.VERBATIM:
            folded = self.fold(name, value)
            if folded.isascii():
                return folded.encode("ascii")
        return super().fold_binary(name, value)


POLICY = _Policy()


def compose(survey: Survey, token: str, settings: Settings, reminder: bool = False) -> EmailMessage:
    context = MessageContext.of(survey, settings, reminder=reminder)
    _ = context.gettext
    low_label, high_label = scoring.endpoint_labels(survey.kind, _)
    scores = [{"score": s, "label": scoring.score_label(survey.kind, s, _),
               "url": links.score_url(survey.base_url, token, s)} for s in scoring.scale(survey.kind)]
    unsubscribe_url = links.unsubscribe_url(survey.base_url, token)
    values = dict(message=context, _=_, lang=_.language, scores=scores, low_label=low_label, high_label=high_label,
                  honeypot_url=links.honeypot_url(survey.base_url, token),
                  unsubscribe_url=unsubscribe_url, postal_address=" ".join(settings.postal_address.split()))
    message = EmailMessage(policy=POLICY)
    message["Subject"] = render("email/subject.txt", **values).strip()
    message["From"] = formataddr((settings.company_name, settings.sender_email))
    # A name may hold line breaks (the API accepts them); a header may not.
    message["To"] = formataddr((" ".join((survey.customer.name or "").split()), survey.customer.email))
    message["Message-ID"] = make_msgid(domain=settings.sender_email.rpartition("@")[2] or None)
    # Tells auto-responders not to answer (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    message["X-Closeloop-Survey"] = survey.survey_id
    # One-click opt-out (RFC 8058): mail clients POST "List-Unsubscribe=One-Click" to the URL.
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render("email/survey.txt", **values))
    message.add_alternative(render("email/survey.html", **values), subtype="html")
    # After the parts: making the message multipart moves every Content-* header into its first part.
    message["Content-Language"] = _.language
    return message


def send(survey: Survey, settings: Settings, token: str, reminder: bool = False) -> str:
    return prepare(survey, settings, token, reminder)()


def prepare(survey: Survey, settings: Settings, token: str, reminder: bool = False) -> Callable[[], str]:
    """The message, built now; the call that sends it, to make at its send-rate moment (nothing
    slow left between the moment and the request SES counts)."""
    request = {"FromEmailAddress": settings.sender_email, "Destination": {"ToAddresses": [survey.customer.email]},
               "Content": {"Raw": {"Data": compose(survey, token, settings, reminder=reminder).as_bytes()}},
               **({"ConfigurationSetName": settings.ses_configuration_set} if settings.ses_configuration_set else {})}
    client = aws.client("sesv2")
    return lambda: client.send_email(**request)["MessageId"]
