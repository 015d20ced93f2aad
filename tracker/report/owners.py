"""Owners as the report counts them: placeholders are nobody, teams are teams, people are
compared case-insensitively. The rules are the lint's (`lint.placeholder_owners`,
`lint.team_suffixes`), so a name lint flags as a placeholder never shows up as an owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tracker.config import DEFAULT_PLACEHOLDER_OWNERS

DEFAULT_TEAM_SUFFIXES = ("team", "teams", "squad", "group", "crew", "guild")


@dataclass(frozen=True)
class OwnerRules:
    placeholders: frozenset[str] = frozenset(DEFAULT_PLACEHOLDER_OWNERS)
    team_suffixes: tuple[str, ...] = DEFAULT_TEAM_SUFFIXES
    teams: Mapping[str, str] = field(default_factory=dict)  # person (case-folded) -> team

    def kind(self, name: str) -> str:
        """ "placeholder", "team" or "person" for an owner as written."""
        folded = " ".join(name.strip().lstrip("@").casefold().split())
        if not folded or folded in self.placeholders:
            return "placeholder"
        words = folded.split()
        if len(words) > 1 and words[-1] in self.team_suffixes:
            return "team"
        return "person"

    def split(self, names: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(people, teams), each without duplicates (case-insensitive), in written order."""
        people: list[str] = []
        teams: list[str] = []
        seen: set[str] = set()
        for raw in names:
            name = " ".join(raw.strip().lstrip("@").split())
            kind = self.kind(name)
            if kind == "placeholder" or name.casefold() in seen:
                continue
            seen.add(name.casefold())
            (teams if kind == "team" else people).append(name)
        return tuple(people), tuple(teams)

    def teams_of(self, people: Iterable[str], teams: Iterable[str]) -> tuple[str, ...]:
        """The item's teams: team owners, then the configured team of each person."""
        out: dict[str, str] = {}
        for t in teams:
            out.setdefault(t.casefold(), t)
        for p in people:
            team = self.teams.get(p.casefold())
            if team:
                out.setdefault(team.casefold(), team)
        return tuple(out.values())
