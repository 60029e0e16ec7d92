"""Who owns a new follow-up and by when it must be done, per team, and rules that route by why.

Configured as JSON in CLOSELOOP_ROUTING, e.g.
    {"default": {"owners": [], "sla_hours": 24},
     "teams": {"billing": {"owners": ["sam@example.com", "kim"], "sla_hours": 8}},
     "rules": [{"theme": "billing", "team": "billing"}, {"reason": "attitude", "team": "quality"}]}
A team with owners gets them in turn (round-robin); one without is left for claiming. An owner is
a lead's address, or their short owner name (followups/owners.py takes it for the lead's address).
A rule sends a response whose comment has its theme, or whose customer ticked its reason (both
when it names both), to a team of `teams`: that team's owners and deadline, whatever the agent's
team. The first rule that matches wins; none, the agent's team. Keys are checked when the routing
is read (why/: the stage's reasons and themes), so a typo fails at config load, not on a response.
"""
from __future__ import annotations

import functools
from datetime import timedelta
from typing import Iterable, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.followups.model import Owner
from chalicelib.platform.settings import get_settings
from chalicelib.storage.named_counters import NamedCounters
from chalicelib.why import ReasonKey, ThemeKey

DEFAULT_SLA_HOURS = 24


class TeamRoute(BaseModel):
    owners: list[Owner] = Field(default_factory=list)
    sla_hours: float = Field(DEFAULT_SLA_HOURS, gt=0, le=24 * 90)


class Rule(BaseModel):
    """Route by why: a theme of the comment and/or a reason ticked, to a team of `teams`."""
    model_config = ConfigDict(extra="forbid")
    theme: Optional[ThemeKey] = None
    reason: Optional[ReasonKey] = None
    team: str

    @model_validator(mode="after")
    def _matches_something(self) -> "Rule":
        if self.theme is None and self.reason is None:
            raise ValueError("a rule needs a theme, a reason or both")
        return self

    def matches(self, reasons: Iterable[str], themes: Iterable[str]) -> bool:
        return ((self.theme is None or self.theme in themes)
                and (self.reason is None or self.reason in reasons))


class Routing(BaseModel):
    default: TeamRoute = Field(default_factory=TeamRoute)
    teams: dict[str, TeamRoute] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules_name_teams(self) -> "Routing":
        for number, rule in enumerate(self.rules):
            if rule.team not in self.teams:
                raise ValueError(f"rules[{number}]: team {rule.team!r} is not one of teams")
        return self

    def team_for(self, team: Optional[str], reasons: Iterable[str] = (), themes: Iterable[str] = ()) -> Optional[str]:
        """The team whose owners and deadline a response's follow-up gets: the first matching rule's,
        else the agent's `team`."""
        reasons, themes = set(reasons), set(themes)
        return next((rule.team for rule in self.rules if rule.matches(reasons, themes)), team)

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


def routing_team(followup) -> Optional[str]:
    """The team whose deadline a follow-up keeps: the one a rule routed it to, else its agent's."""
    return followup.routed_team or followup.team
