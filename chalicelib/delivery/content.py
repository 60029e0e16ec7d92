"""What every survey message says, whatever the channel: greeting, agent, company, question,
in the customer's language."""
from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.platform import i18n
from chalicelib.platform.settings import Settings
from chalicelib.surveys import Survey, scoring


@dataclass(frozen=True)
class MessageContext:
    company: str
    customer_name: str | None
    agent_name: str | None
    question: str
    kind: str
    # The customer's language: `gettext(english, **values)` (chalicelib/platform/i18n.py).
    gettext: i18n.Translator
    # A re-survey after a resolved follow-up: the message says it follows up and asks if it worked.
    resurvey: bool = False
    # The survey's one reminder: the same question again, saying it is a reminder.
    reminder: bool = False

    @classmethod
    def of(cls, survey: Survey, settings: Settings, reminder: bool = False) -> "MessageContext":
        _ = translator_for(survey, settings)
        return cls(
            company=settings.company_name,
            customer_name=first_name(survey.customer.name),
            agent_name=first_name(survey.agent.name) if survey.agent and survey.agent.name else None,
            question=scoring.question(survey.kind, settings.company_name, _),
            kind=survey.kind.value,
            gettext=_,
            resurvey=survey.followup_id is not None,
            reminder=reminder,
        )


def translator_for(survey: Survey, settings: Settings) -> i18n.Translator:
    """The survey's customer's language, else the stage's (pages, emails and SMS agree)."""
    return i18n.translator(survey.customer.locale, settings.default_language)


# Anything a mail client or phone would turn into a link: never put it in a message as a name.
_LINK_LIKE = re.compile(r"[/:@]|www\.|\w\.[a-z]{2,}", re.IGNORECASE)


def first_name(name: str | None) -> str | None:
    """The first word of a name, or None when it would read as a link (names come from tickets)."""
    first = name.split()[0] if name and name.split() else None
    return None if first is None or _LINK_LIKE.search(first) else first
