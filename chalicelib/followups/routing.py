"""Who owns a new follow-up and by when it must be done, per team.

Configured as JSON in CLOSELOOP_ROUTING, e.g.
    {"default": {"owners": [], "sla_hours": 24},
     "teams": {"billing": {"owners": ["sam@example.com", "kim"], "sla_hours": 8}}}
A team with owners gets them in turn (round-robin); one without is left for claiming. An owner is
a lead's address, or their short owner name (followups/owners.py takes it for the lead's address).
"""
from __future__ import annotations

import functools
from datetime import timedelta
from typing import Optional

from pydantic import BaseModel, Field

from chalicelib.followups.model import Owner
from chalicelib.platform.settings import get_settings
from chalicelib.storage.named_counters import NamedCounters

DEFAULT_SLA_HOURS = 24


class TeamRoute(BaseModel):
    owners: list[Owner] = Field(default_factory=list)
    sla_hours: float = Field(DEFAULT_SLA_HOURS, gt=0, le=24 * 90)


class Routing(BaseModel):
    default: TeamRoute = Field(default_factory=TeamRoute)
    teams: dict[str, TeamRoute] = Field(default_factory=dict)

    def route_for(self, team: Optional[str]) -> TeamRoute:
        return self.teams.get(team or "", self.default)

    def sla(self, team: Optional[str]) -> timedelta:
        return timedelta(hours=self.route_for(team).sla_hours)

    def assign(self, team: Optional[str]) -> Optional[str]:
        """The next owner in the team's rotation, or None when the team has no owners."""
        route = self.route_for(team)
        if not route.owners:
            return None
        rotation = team if team in self.teams else "default"
        return route.owners[NamedCounters().next(f"owners:{rotation}") % len(route.owners)]


@functools.cache
def _parse(text: str) -> Routing:
    return Routing.model_validate_json(text) if text.strip() else Routing()


def get_routing() -> Routing:
    return _parse(get_settings().routing)
