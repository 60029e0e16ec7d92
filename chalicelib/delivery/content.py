"""What every survey message says, whatever the channel: greeting, agent, company, question."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib import scoring
from chalicelib.config import Settings
from chalicelib.models import Survey


@dataclass(frozen=True)
class MessageContext:
    company: str
    customer_name: str | None
    agent_name: str | None
    question: str
    kind: str

    @classmethod
    def of(cls, survey: Survey, settings: Settings) -> "MessageContext":
        return cls(
            company=settings.company_name,
            customer_name=_first_name(survey.customer.name),
            agent_name=_first_name(survey.agent.name) if survey.agent and survey.agent.name else None,
            question=scoring.question(survey.kind, settings.company_name),
            kind=survey.kind.value,
        )


def _first_name(name: str | None) -> str | None:
    return name.split()[0] if name and name.split() else None
