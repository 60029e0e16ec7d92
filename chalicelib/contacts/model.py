"""Contacts and privacy: the suppression ledger's entries and the API's ways to name a contact,
an erasure's receipt, and an SMS a customer texted us."""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.platform.fields import IDENTIFIER_RE, Identifier, Phone, Strict, UtcTime, e164, email_address
from chalicelib.surveys import ContactKind


class SuppressionReason(str, Enum):
    UNSUBSCRIBED = "unsubscribed"   # one-click unsubscribe (RFC 8058) or the footer link
    BOUNCED = "bounced"             # SES hard bounce
    COMPLAINED = "complained"       # SES complaint (marked as spam)
    SMS_STOP = "sms_stop"           # STOP and its kin by SMS
    MANUAL = "manual"               # an admin, through the API or the ops command


class Suppression(BaseModel):
    """One entry of the suppression ledger: this contact gets no survey and no reminder."""
    kind: ContactKind
    value: str
    reason: SuppressionReason
    source: str          # what told us: "ses", "sms", "unsubscribe-link", an API key's name...
    at: UtcTime


# --- HTTP: the suppression ledger (admins) --------------------------------------------------

_CONTACT_CHECKS = {ContactKind.EMAIL: email_address, ContactKind.PHONE: e164}


class SuppressionKey(Strict):
    """A contact of the ledger: `value` must be what `kind` says (email, E.164 phone, customer id)."""
    kind: ContactKind
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]

    @model_validator(mode="after")
    def _value_fits_kind(self):
        check = _CONTACT_CHECKS.get(self.kind)
        try:
            if check is not None:
                self.value = check(self.value)
            elif not IDENTIFIER_RE.fullmatch(self.value):
                raise ValueError("must be a customer id: 1-128 characters of A-Za-z0-9._:-")
        except ValueError as error:
            raise PydanticCustomError("invalid_contact", str(error), {"field": "value"}) from None
        if self.kind is ContactKind.EMAIL:
            self.value = self.value.lower()  # the ledger's one spelling of an address
        return self


class SuppressionIn(SuppressionKey):
    """POST /v1/suppressions: an admin suppresses a contact by hand."""
    reason: Literal["manual"] = "manual"    # bounces, complaints and opt-outs come from their source


class SuppressionQuery(Strict):
    """GET /v1/suppressions query string."""
    kind: Optional[ContactKind] = None


# --- erasure of a customer's personal data ----------------------------------------------------

class CustomerKey(Strict):
    """DELETE /v1/customers/{customer_id}: the same rule as customer.id of an interaction."""
    customer_id: Identifier


class ErasureReceipt(BaseModel):
    """What one erasure request removed; stored (with a hash, never the id) so it can be shown later."""
    receipt_id: str
    erased_at: UtcTime
    surveys: int = 0            # surveys whose customer details were removed
    comments: int = 0           # response comments removed (on surveys)
    page_views: int = 0         # page views (user agents) deleted
    followups: int = 0          # follow-ups whose customer name, comment and notes were removed
    suppressions_hashed: int = 0  # ledger entries kept only as a hash
    contact_records: int = 0    # throttle stamps and SMS records of the customer's addresses deleted
    cancelled: int = 0          # surveys not sent yet, ended unsent


# --- SNS: an inbound SMS (AWS End User Messaging two-way SMS, published to the replies topic) ---

class InboundSms(BaseModel):
    """A reply a customer texted to our number, as End User Messaging publishes it."""
    model_config = ConfigDict(extra="ignore")

    originationNumber: Phone                      # noqa: N815 - the provider's field names
    destinationNumber: Optional[Annotated[str, StringConstraints(max_length=32)]] = None  # noqa: N815
    messageKeyword: Optional[Annotated[str, StringConstraints(max_length=64)]] = None     # noqa: N815
    messageBody: Annotated[str, StringConstraints(max_length=1600)]                     # noqa: N815
    inboundMessageId: Annotated[str, StringConstraints(min_length=1, max_length=128)]   # noqa: N815
    previousPublishedMessageId: Optional[Annotated[str, StringConstraints(max_length=128)]] = None  # noqa: N815
