"""People and teams of a catalog → person and team records, consistent with each other.

A membership may be written on either side (a person's `teams`, a team's `members`, a team's
`parent`), and an owner may be named by any of their aliases. Records are built from the whole
catalog at once, so each lists all of its memberships under canonical ids: the mapper retires
what a record no longer lists, and the two sides never retire each other's edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from lineage_kg.ingest.catalog.records import Person, Row, Team, validated
from lineage_kg.ingest.source_sync import SyncReport

T = TypeVar("T", Person, Team)


@dataclass(slots=True)
class Aliases:
    """alias owner id → canonical owner id, for the owners a catalog defines."""

    canonical: dict[str, str] = field(default_factory=dict)

    def __call__(self, owner_id: str) -> str:
        return self.canonical.get(owner_id, owner_id)

    def all(self, owner_ids: Iterable[str]) -> list[str]:
        return sorted({self(o) for o in owner_ids})


@dataclass(slots=True)
class Owners:
    people: list[Person]
    teams: list[Team]
    aliases: Aliases


def _unique(items: list[T], what: str, report: SyncReport) -> list[T]:
    seen: dict[str, T] = {}
    for item in items:
        if item.id in seen:
            report.skip(f"{what} {item.id}", "id: defined twice (the first one is kept)")
        else:
            seen[item.id] = item
    return list(seen.values())


def _alias_map(people: list[Person], teams: list[Team], report: SyncReport) -> Aliases:
    ids = {p.id for p in people} | {t.id for t in teams}
    canonical: dict[str, str] = {}
    named = [(p.id, p.aliases) for p in people] + [
        (t.id, [*t.aliases, *([t.email] if t.email else [])]) for t in teams
    ]
    for owner, aliases in named:
        for alias in aliases:
            if alias == owner:
                continue
            if alias in ids or canonical.get(alias, owner) != owner:
                report.skip(f"owner {owner}", f"aliases: {alias} already names another owner")
                continue
            canonical[alias] = owner
    return Aliases(canonical)


def catalog_owners(
    people_rows: list[Row], team_rows: list[Row], report: SyncReport
) -> tuple[Owners, list[dict[str, Any]], list[dict[str, Any]]]:
    """The catalog's owners, and the person and team record bodies to log."""
    people = _unique(validated(Person, people_rows, report), "person", report)
    teams = _unique(validated(Team, team_rows, report), "team", report)
    canon = _alias_map(people, teams, report)
    team_ids = {t.id for t in teams}

    # a team listed among another's members has that team as its parent (one parent a team)
    parent = {t.id: canon(t.parent) if t.parent else None for t in teams}
    for team in teams:
        for member in canon.all(team.members):
            if member in team_ids and parent[member] in (None, team.id):
                parent[member] = team.id
            elif member in team_ids:
                why = f"members: team {member} already has parent {parent[member]}"
                report.skip(f"team {team.id}", why)

    person_teams = {p.id: set(canon.all(p.teams)) for p in people}
    members = {t.id: {m for m in canon.all(t.members) if m not in team_ids} for t in teams}
    for person, joined in person_teams.items():
        for team in joined & team_ids:
            members[team].add(person)
    for team, members_of in members.items():
        for person in members_of & person_teams.keys():
            person_teams[person].add(team)
    for child, up in parent.items():
        if up in members:
            members[up].add(child)

    people_bodies = [
        _body(p.model_copy(update={"teams": sorted(person_teams[p.id])})) for p in people
    ]
    team_bodies = [
        _body(t.model_copy(update={"members": sorted(members[t.id]), "parent": parent[t.id]}))
        for t in teams
    ]
    report.count("people", len(people))
    report.count("teams", len(teams))
    return Owners(people, teams, canon), people_bodies, team_bodies


def _body(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)
