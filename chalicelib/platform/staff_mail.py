"""An email to the team (a lead's sign-in link, an owner's assignment, the weekly digest): from the
stage's sender, marked auto-generated, a text part and an optional HTML part, sent raw through SES.
The one place such an email is built; customers' survey emails are delivery/email.py's."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Optional

from chalicelib.platform import aws
from chalicelib.platform.settings import get_settings


def send(to: str, subject: str, text: str, html: Optional[str] = None) -> EmailMessage:
    """Send it; the message sent."""
    settings = get_settings()
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((settings.company_name, settings.sender_email))
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=settings.sender_email.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    aws.client("sesv2").send_email(FromEmailAddress=settings.sender_email, Destination={"ToAddresses": [to]},
                                   Content={"Raw": {"Data": message.as_bytes()}})
    return message
