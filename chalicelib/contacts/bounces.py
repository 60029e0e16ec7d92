"""SES bounce and complaint notifications (through SNS) feed the suppression ledger.

A permanent bounce suppresses each bounced address (reason `bounced`), a complaint each
complaining address (reason `complained`), both with source "ses". Transient and undetermined
bounces, deliveries and anything else are logged and ignored. SNS delivers at least once: the
ledger records a contact once, so a redelivered notification changes nothing. A notification
that cannot be read is logged and dropped; raising would only make Lambda retry it in vain.

The format is SES's notification contents (`notificationType`), and also that of event
publishing through a configuration set (`eventType`), which has the same bounce and complaint
objects.
"""
from __future__ import annotations

import logging
from email.utils import parseaddr
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.contacts.ledger import suppress
from chalicelib.contacts.model import SuppressionReason
from chalicelib.platform.errors import InvalidInput
from chalicelib.platform.validation import read_json
from chalicelib.surveys import ContactKind

log = logging.getLogger(__name__)

SOURCE = "ses"


class _Lenient(BaseModel):
    # SES adds fields over time; only what is read here must be there.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Recipient(_Lenient):
    email_address: str = Field(alias="emailAddress", min_length=3)


class Bounce(_Lenient):
    bounce_type: str = Field(alias="bounceType")        # Permanent, Transient, Undetermined
    bounce_sub_type: Optional[str] = Field(None, alias="bounceSubType")
    bounced_recipients: list[Recipient] = Field(alias="bouncedRecipients", min_length=1)
    feedback_id: Optional[str] = Field(None, alias="feedbackId")


class Complaint(_Lenient):
    complained_recipients: list[Recipient] = Field(alias="complainedRecipients", min_length=1)
    complaint_feedback_type: Optional[str] = Field(None, alias="complaintFeedbackType")
    feedback_id: Optional[str] = Field(None, alias="feedbackId")


class Mail(_Lenient):
    message_id: Optional[str] = Field(None, alias="messageId")
    destination: list[str] = Field(default_factory=list)


class Notification(_Lenient):
    notification_type: Optional[str] = Field(None, alias="notificationType")
    event_type: Optional[str] = Field(None, alias="eventType")
    mail: Optional[Mail] = None
    bounce: Optional[Bounce] = None
    complaint: Optional[Complaint] = None

    @property
    def kind(self) -> str:
        return self.notification_type or self.event_type or ""


def parse(message: str) -> Notification:
    """The SES notification in an SNS message; raises ValueError when it is not one."""
    try:
        data = read_json(message)  # the edge's one reader: no RecursionError, no silent duplicate keys
    except InvalidInput as error:
        raise ValueError(f"not JSON: {error.fields[0]['type']}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        notification = Notification.model_validate(data)
    except ValidationError as error:
        raise ValueError(str(error)) from None
    if notification.kind == "Bounce" and notification.bounce is None:
        raise ValueError("a Bounce notification without its bounce object")
    if notification.kind == "Complaint" and notification.complaint is None:
        raise ValueError("a Complaint notification without its complaint object")
    return notification


def handle(message: str) -> int:
    """Record what one SNS message tells; returns how many contacts were newly suppressed."""
    try:
        notification = parse(message)
    except ValueError as error:
        log.warning("dropped an SES notification that cannot be read: %s", error)
        return 0
    message_id = notification.mail.message_id if notification.mail else None
    if notification.kind == "Bounce":
        bounce = notification.bounce
        if bounce.bounce_type != "Permanent":
            # A full mailbox or a greylisting server: the address may work next time.
            log.info("ignored a %s bounce (%s) of message %s", bounce.bounce_type, bounce.bounce_sub_type, message_id)
            return 0
        return _suppress(bounce.bounced_recipients, SuppressionReason.BOUNCED, message_id)
    if notification.kind == "Complaint":
        return _suppress(notification.complaint.complained_recipients, SuppressionReason.COMPLAINED, message_id)
    log.info("ignored an SES %r notification of message %s", notification.kind, message_id)
    return 0


def _suppress(recipients: list[Recipient], reason: SuppressionReason, message_id: Optional[str]) -> int:
    new = 0
    for recipient in recipients:
        # The address as in the DSN's Final-Recipient; tolerate a display name around it.
        address = parseaddr(recipient.email_address)[1] or recipient.email_address
        if "@" not in address:
            log.warning("skipped a %s recipient that is not an address: %r", reason.value, recipient.email_address)
            continue
        added = suppress(ContactKind.EMAIL, address, reason, SOURCE)
        new += added
        # No address in the log: the ledger holds it, the log only says what happened.
        log.info("%s recipient of message %s: %s", reason.value, message_id, "suppressed" if added else "already suppressed")
    return new
