"""What a create or an edit sends for one draft, fitted to the project's create screen.

The screen (createmeta) is read once per run: a field it lacks (due date, priority) is written
in the description instead, with one notice, rather than failing every item. Owners resolve
through the owners map, and an email through `/user/search`, cached per run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from tracker.backends.base import TicketDraft
from tracker.backends.jira_flow import Screen, issue_types, meta_fields, page_done, screen_of
from tracker.backends.jira_rest import user_field, user_id
from tracker.backends.jira_text import (
    TRACKED_LABEL,
    Pushed,
    cut_summary,
    key_label,
    new_description,
)
from tracker.errors import ValidationFailed

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Made:
    """What a write sends for one draft, and what it records as pushed."""

    fields: dict[str, Any]
    pushed: Pushed


class FieldMaker:
    """Field values for drafts; reads createmeta and users through the injected `get_json`."""

    def __init__(
        self,
        get_json: Callable[..., Any],
        cloud: Callable[[], bool],
        *,
        project: str,
        issue_type: str,
        labels: Sequence[str],
        owners: Mapping[str, str],
        lookup_emails: bool,
        priority_map: Mapping[str, str],
        extra_fields: Mapping[str, Any],
        source_url: str | None,
        notice: Callable[[str], None],
        where: Callable[[], str],
    ) -> None:
        self._get_json, self._cloud = get_json, cloud
        self.project, self.issue_type = project, issue_type
        self.labels = tuple(labels)
        self.owners = dict(owners)
        self._owners_folded = {k.casefold().lstrip("@"): v for k, v in self.owners.items()}
        self._ids = frozenset(self.owners.values())
        self.lookup_emails = lookup_emails
        self.priority_map = dict(priority_map)
        self.extra_fields = dict(extra_fields)
        self.source_url = source_url
        self._notice, self._where = notice, where
        self._screen: Screen | None = None
        self._users: dict[str, str | None] = {}

    def screen(self) -> Screen:
        """The create screen of the issue type (createmeta), read once per run."""
        if self._screen is not None:
            return self._screen
        what = f"reading the create screen of project {self.project}"
        base = f"issue/createmeta/{quote(self.project)}/issuetypes"
        types: list[tuple[str, str]] = []
        start = 0
        while True:
            data = self._get_json(base, what, startAt=start, maxResults=100)
            found = issue_types(data)
            types += found
            if page_done(data, len(found), start):
                break
            start += len(found)
        match = [t for t in types if t[1].casefold() == self.issue_type.casefold()]
        if not match:
            names = ", ".join(sorted(n for _, n in types)) or "none"
            raise ValidationFailed(
                f"{self._where()}: issue type '{self.issue_type}' cannot be created in project "
                f"{self.project}; available: {names} (set jira.issue_type)"
            )
        type_id = match[0][0]
        entries: list[Mapping[str, Any]] = []
        start = 0
        while True:
            data = self._get_json(f"{base}/{quote(type_id)}", what, startAt=start, maxResults=200)
            page = meta_fields(data)
            entries += page
            if page_done(data, len(page), start):
                break
            start += len(page)
        screen = screen_of(type_id, entries)
        unset = [f for f in screen.required if f not in self.extra_fields]
        if unset:
            self._notice(
                f"Jira requires {', '.join(unset)} for {self.issue_type} in {self.project}: set "
                "values under jira.fields, or creates will be refused"
            )
        self._screen = screen
        return screen

    def user(self, email_address: str) -> str | None:
        """accountId (Cloud) or username (DC) for an email, via /user/search, cached per run."""
        folded = email_address.casefold()
        if folded in self._users:
            return self._users[folded]
        param = {"query": email_address} if self._cloud() else {"username": email_address}
        users = self._get_json("user/search", f"looking up the Jira user {email_address}", **param)
        found: str | None = None
        candidates = [u for u in users if isinstance(u, Mapping)] if isinstance(users, list) else []
        exact = [u for u in candidates if str(u.get("emailAddress", "")).casefold() == folded] or (
            candidates if len(candidates) == 1 else []
        )
        for u in exact:
            if u.get("active") is not False:
                found = user_id(u, self._cloud())
                break
        self._users[folded] = found
        return found

    def assignee(self, draft: TicketDraft) -> str | None:
        """The Jira identity to assign: the first owner the map (or an email) resolves."""
        names = list(draft.owners) or list(draft.assignees)
        resolved = list(draft.assignees)
        unmapped: list[str] = []
        for i, owner in enumerate(names):
            bare = owner.lstrip("@")
            ident = self.owners.get(owner) or self._owners_folded.get(bare.casefold())
            if ident is None and i < len(resolved):  # what the engine resolved it to
                known = resolved[i]
                ident = self._owners_folded.get(known.casefold().lstrip("@")) or (
                    known if known in self._ids else None
                )
            if ident is None and _EMAIL_RE.fullmatch(bare):
                ident = bare
            if ident is None:
                unmapped.append(owner)
                continue
            if _EMAIL_RE.fullmatch(ident):
                if not self.lookup_emails:
                    unmapped.append(owner)
                    continue
                user = self.user(ident)
                if user is None:
                    self._notice(f"no Jira user has the email {ident}: left unassigned")
                    continue
                ident = user
            return ident
        if unmapped:
            self._notice(
                "owners not in the owners map were not assigned: " + ", ".join(sorted(unmapped))
            )
        return None

    def user_field(self, ident: str) -> dict[str, str]:
        return user_field(ident, self._cloud())

    def priority_name(self, priority: str | None) -> str | None:
        if not priority:
            return None
        folded = {k.casefold(): v for k, v in self.priority_map.items()}
        return self.priority_map.get(priority) or folded.get(priority.casefold()) or priority

    def draft_fields(self, draft: TicketDraft, parts: frozenset[str] | None) -> Made:
        """Field values for `draft` (all of them, or only `parts`), fitted to the screen."""
        screen = self.screen()
        out: dict[str, Any] = {}
        want = parts if parts is not None else frozenset({"owners", "due", "priority"})
        assignee: str | None = None
        if "owners" in want:
            if "assignee" in screen.fields or parts is not None:
                assignee = self.assignee(draft)
                out["assignee"] = self.user_field(assignee) if assignee else None
            else:
                self._notice(
                    f"the {self.issue_type} create screen of {self.project} has no assignee "
                    "field: owners are named in the description only"
                )
        due_native = "duedate" in screen.fields
        if "due" in want:
            if due_native:
                out["duedate"] = draft.due.isoformat() if draft.due else None
            elif draft.due:
                self._notice(
                    f"the {self.issue_type} screen of {self.project} has no due date field: due "
                    "dates are written in the description"
                )
        prio_name = self.priority_name(draft.priority)
        prio_native = "priority" in screen.fields
        if prio_name and not prio_native:
            self._notice(
                f"the {self.issue_type} screen of {self.project} has no priority field: "
                "priorities are written in the description"
            )
        elif (
            prio_name
            and screen.priorities is not None
            and prio_name.casefold() not in {p.casefold() for p in screen.priorities}
        ):
            self._notice(
                f"Jira has no priority '{prio_name}' (for {draft.priority}); known: "
                f"{', '.join(screen.priorities)}: set jira.priority_map"
            )
            prio_native = False
        if "priority" in want and prio_native and prio_name:
            out["priority"] = {"name": prio_name}
        if parts is None:
            out = {k: v for k, v in out.items() if v is not None}
        pushed = Pushed(
            assignees=tuple(draft.assignees),
            assignee=assignee,
            priority_name=prio_name if prio_native else None,
            due_native=due_native,
            priority_native=prio_native,
        )
        return Made(out, pushed)

    def labels_for(self, draft: TicketDraft) -> list[str]:
        want = [*self.labels, *draft.labels, TRACKED_LABEL, key_label(draft.key)]
        return sorted({label.replace(" ", "_") for label in want if label})

    def create_fields(self, draft: TicketDraft) -> tuple[dict[str, Any], Pushed]:
        made = self.draft_fields(draft, None)
        screen = self.screen()
        issuetype = (
            {"id": screen.issue_type_id} if screen.issue_type_id else {"name": self.issue_type}
        )
        fields: dict[str, Any] = {
            **self.extra_fields,
            "project": {"key": self.project},
            "issuetype": issuetype,
            "summary": cut_summary(draft.title),
            "description": new_description(draft, made.pushed, self.source_url),
            "labels": self.labels_for(draft),
            **made.fields,
        }
        return fields, made.pushed

    def unassigned(
        self, fields: dict[str, Any], pushed: Pushed, draft: TicketDraft, why: str
    ) -> tuple[dict[str, Any], Pushed]:
        self._notice(f"Jira refused the assignee of {draft.key}, created unassigned: {why}")
        out = {k: v for k, v in fields.items() if k != "assignee"}
        pushed = replace(pushed, assignee=None)
        out["description"] = new_description(draft, pushed, self.source_url)
        return out, pushed
