"""Jira workflows and screens: transitions, status, createmeta (no I/O of its own).

`Workflows` moves issues between statuses through the transitions Jira offers; the two calls it
needs (read an issue's status with its transitions, post one transition) are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.backends.base import CloseReason
from tracker.errors import ValidationFailed
from tracker.model import Status

# Status categories are fixed keys on Cloud and Data Center alike (`statusCategory.key`).
CATEGORY_STATE: dict[str, Status] = {"new": "open", "indeterminate": "in_progress", "done": "done"}
_DROP_NAMES = ("won't do", "wont do", "won't fix", "cancelled", "canceled", "rejected", "declined")


def _name(value: object) -> str | None:
    if isinstance(value, Mapping):
        name = value.get("name")
        return name if isinstance(name, str) else None
    return None


def category_of(status: object) -> str:
    """`new`, `indeterminate` or `done` (unknown shapes read as `new`)."""
    if isinstance(status, Mapping):
        cat = status.get("statusCategory")
        if isinstance(cat, Mapping) and isinstance(cat.get("key"), str):
            return str(cat["key"])
    return "new"


def state_of(
    fields: Mapping[str, Any], wont_do: Sequence[str], dropped_status: str | None
) -> Status:
    """Map a Jira issue to a state: the status category, and dropped for won't-do closes."""
    status = fields.get("status")
    state = CATEGORY_STATE.get(category_of(status), "open")
    if state != "done":
        return state
    resolution = _name(fields.get("resolution"))
    folded = {w.casefold() for w in wont_do}
    if resolution is not None and resolution.casefold() in folded:
        return "dropped"
    name = _name(status)
    if dropped_status and name and name.casefold() == dropped_status.casefold():
        return "dropped"
    return "done"


@dataclass(frozen=True)
class Current:
    """Where an issue stands in its workflow."""

    status: str
    category: str
    issue_type: str
    resolution: str | None = None


def current_of(fields: Mapping[str, Any]) -> Current:
    status = fields.get("status")
    return Current(
        status=_name(status) or "",
        category=category_of(status),
        issue_type=_name(fields.get("issuetype")) or "",
        resolution=_name(fields.get("resolution")),
    )


@dataclass(frozen=True)
class Transition:
    """One transition available from a status."""

    id: str
    name: str
    to: str
    to_category: str
    resolutions: tuple[str, ...] = ()  # allowed on the transition screen ('' absent)
    resolution_on_screen: bool = False
    resolution_required: bool = False


def parse_transitions(data: object) -> list[Transition]:
    """`GET issue/{key}/transitions?expand=transitions.fields`, leniently."""
    raw = data.get("transitions") if isinstance(data, Mapping) else None
    out: list[Transition] = []
    for t in raw if isinstance(raw, list) else []:
        if not isinstance(t, Mapping) or t.get("isAvailable") is False:
            continue
        to = t.get("to")
        fields = t.get("fields")
        res = fields.get("resolution") if isinstance(fields, Mapping) else None
        allowed: tuple[str, ...] = ()
        if isinstance(res, Mapping):
            values = res.get("allowedValues")
            allowed = tuple(
                n for v in (values if isinstance(values, list) else []) if (n := _name(v))
            )
        out.append(
            Transition(
                id=str(t.get("id", "")),
                name=str(t.get("name", "")),
                to=_name(to) or "",
                to_category=category_of(to),
                resolutions=allowed,
                resolution_on_screen=isinstance(res, Mapping),
                resolution_required=isinstance(res, Mapping) and res.get("required") is True,
            )
        )
    return out


@dataclass(frozen=True)
class Goal:
    """Where a transition should lead: a configured status name, else a status category."""

    status: str | None
    category: str
    prefer: tuple[str, ...] = ()  # status names preferred among several of the category
    avoid: tuple[str, ...] = ()  # status names never chosen (another goal's status)

    def matches(self, t: Transition) -> bool:
        if self.status is not None:
            return t.to.casefold() == self.status.casefold()
        if t.to.casefold() in {a.casefold() for a in self.avoid}:
            return False
        return t.to_category == self.category

    def describe(self) -> str:
        return f"status '{self.status}'" if self.status else f"a status in category {self.category}"

    def best(self, ts: Sequence[Transition]) -> Transition | None:
        hits = [t for t in ts if self.matches(t)]
        for name in self.prefer:
            for t in hits:
                if t.to.casefold() == name.casefold():
                    return t
        return hits[0] if hits else None


def close_goal(reason: CloseReason, done: str | None, dropped: str | None) -> Goal:
    if reason == "completed":
        return Goal(done, "done", prefer=("Done",), avoid=(dropped,) if dropped else ())
    if dropped:
        return Goal(dropped, "done")
    return Goal(done, "done", prefer=(*_DROP_NAMES, "Done"))


def intermediates(ts: Sequence[Transition], here: str, goal: Goal) -> list[Transition]:
    """First steps worth trying on a two-step path, most promising first."""
    order = {"done": ("indeterminate", "new"), "new": ("indeterminate", "done")}.get(
        goal.category, ("new", "done")
    )
    steps = [t for t in ts if t.to.casefold() != here.casefold() and not goal.matches(t)]
    # Never pass through a done status on the way elsewhere: that closes (and resolves) it.
    steps = [t for t in steps if t.to_category != "done" or goal.category == "done"]
    return sorted(steps, key=lambda t: order.index(t.to_category) if t.to_category in order else 9)


def pick_resolution(
    t: Transition, reason: CloseReason | None, wont_do: Sequence[str]
) -> str | None:
    """The resolution to send with a transition, when its screen has the field."""
    if not t.resolution_on_screen or t.to_category != "done" or reason is None:
        return None
    allowed = {a.casefold(): a for a in t.resolutions}
    if reason in ("not_planned", "duplicate"):
        wanted = (["Duplicate"] if reason == "duplicate" else []) + list(wont_do)
        for w in wanted:
            if w.casefold() in allowed:
                return allowed[w.casefold()]
        return None
    if not t.resolution_required:
        return None
    folded = {w.casefold() for w in wont_do}
    for w in ("Done", "Fixed"):
        if w.casefold() in allowed:
            return allowed[w.casefold()]
    return next((a for a in t.resolutions if a.casefold() not in folded), None)


@dataclass(frozen=True)
class Screen:
    """What the create screen of the project's issue type holds (createmeta)."""

    issue_type_id: str | None
    fields: frozenset[str]
    priorities: tuple[str, ...] | None  # allowed priority names, None when not listed
    required: tuple[str, ...] = field(default=())  # required fields without a default


def issue_types(data: object) -> list[tuple[str, str]]:
    """(id, name) pairs of `createmeta/{project}/issuetypes` (Cloud `issueTypes`, DC `values`)."""
    if not isinstance(data, Mapping):
        return []
    raw = data.get("issueTypes") or data.get("values") or data.get("createMetaIssueType") or []
    return [
        (str(t.get("id")), str(t.get("name")))
        for t in (raw if isinstance(raw, list) else [])
        if isinstance(t, Mapping)
    ]


def meta_fields(data: object) -> list[Mapping[str, Any]]:
    """Field entries of `createmeta/{project}/issuetypes/{id}` (Cloud `fields`, DC `values`)."""
    if not isinstance(data, Mapping):
        return []
    raw = data.get("fields") or data.get("values") or data.get("results") or []
    return [f for f in (raw if isinstance(raw, list) else []) if isinstance(f, Mapping)]


_SET_BY_JIRA = frozenset({"project", "issuetype", "summary", "reporter", "description", "labels"})


def screen_of(type_id: str | None, entries: Sequence[Mapping[str, Any]]) -> Screen:
    ids: set[str] = set()
    priorities: tuple[str, ...] | None = None
    required: list[str] = []
    for f in entries:
        fid = f.get("fieldId") or f.get("key")
        if not isinstance(fid, str):
            continue
        ids.add(fid)
        if fid == "priority" and isinstance(f.get("allowedValues"), list):
            priorities = tuple(n for v in f["allowedValues"] if (n := _name(v)))
        if f.get("required") is True and not f.get("hasDefaultValue") and fid not in _SET_BY_JIRA:
            required.append(fid)
    return Screen(type_id, frozenset(ids), priorities, tuple(required))


def page_done(data: object, got: int, start: int) -> bool:
    """Whether a startAt-paged answer (createmeta, DC search) has no further page."""
    if not isinstance(data, Mapping) or got == 0 or data.get("isLast") is True:
        return True
    total = data.get("total")
    return not isinstance(total, int) or start + got >= total


class Workflows:
    """Where issues stand and how to move them, with transitions cached per (type, status).

    Jira lists transitions only from the status an issue is in, so a path of two steps is
    found by taking the first and reading what the next status offers; what is learnt serves
    every later issue of the same type. `read(key)` answers
    `GET issue/{key}?fields=status,issuetype,resolution&expand=transitions.fields`;
    `post(key, body, to)` sends one `POST issue/{key}/transitions`.
    """

    def __init__(
        self,
        read: Callable[[str], object],
        post: Callable[[str, dict[str, Any], str], None],
        *,
        wont_do: Sequence[str],
        dropped_configured: bool,
        notice: Callable[[str], None],
        where: Callable[[], str],
        read_transitions: Callable[[str], object] | None = None,
    ) -> None:
        self._read, self._post = read, post
        self._read_transitions = read_transitions
        self._wont_do = tuple(wont_do)
        self._dropped_configured = dropped_configured
        self._notice, self._where = notice, where
        self.known: dict[str, Current] = {}
        self.flows: dict[tuple[str, str], list[Transition]] = {}
        self.initial: dict[str, Current] = {}  # issue type -> the status new issues start in
        self.fresh: set[str] = set()  # keys created this run

    def load(self, key: str) -> Current:
        """The issue's status and the transitions out of it, in one request."""
        raw = self._read(key)
        got = raw.get("fields") if isinstance(raw, Mapping) else None
        cur = current_of(got if isinstance(got, Mapping) else {})
        self.known[key] = cur
        if self._read_transitions is not None and not (
            isinstance(raw, Mapping) and isinstance(raw.get("transitions"), list)
        ):
            # The answer ignored `expand=transitions` (some servers and proxies do): ask the
            # transitions endpoint itself rather than believe the workflow offers none.
            raw = self._read_transitions(key)
        self.flows[(cur.issue_type.casefold(), cur.status.casefold())] = parse_transitions(raw)
        if key in self.fresh and cur.category == "new":
            self.initial.setdefault(cur.issue_type.casefold(), cur)
        return cur

    def where_now(self, key: str, refresh: bool = False) -> Current:
        cur = None if refresh else self.known.get(key)
        if cur is None or not cur.status:
            cur = self.load(key)
        return cur

    def flow(self, key: str, cur: Current) -> tuple[Current, list[Transition]]:
        """Transitions out of the issue's status. A miss reads status and transitions
        together, so a status a person changed since the listing is learnt, never cached
        under the status we believed."""
        slot = (cur.issue_type.casefold(), cur.status.casefold())
        if slot not in self.flows:
            cur = self.load(key)
            slot = (cur.issue_type.casefold(), cur.status.casefold())
        return cur, self.flows[slot]

    def do(self, key: str, cur: Current, t: Transition, reason: CloseReason | None) -> Current:
        body: dict[str, Any] = {"transition": {"id": t.id}}
        resolution = pick_resolution(t, reason, self._wont_do)
        if resolution:
            body["fields"] = {"resolution": {"name": resolution}}
        elif reason in ("not_planned", "duplicate") and not self._dropped_configured:
            self._notice(
                f"transition '{t.name}' offers no won't-do resolution: issues closed as not "
                "planned read as done (set jira.transitions.dropped)"
            )
        self._post(key, body, t.to)
        # A resolution the workflow sets by itself is unknown until the issue is read again.
        new = Current(t.to, t.to_category, cur.issue_type, resolution)
        self.known[key] = new
        return new

    def move(self, key: str, goal: Goal, reason: CloseReason | None) -> Current:
        """Reach `goal` in at most two transitions.

        Raises:
            ValidationFailed: no path; the message names the transitions Jira offers.
        """
        cur = self.where_now(key)
        moved: list[Current] = []
        try:
            return self._path(key, cur, goal, reason, moved)
        except ValidationFailed:
            if moved:
                raise
            # Jira refused the first step: the status we knew may be stale (a person moved
            # the issue since the listing). Read it and try once more.
            fresh = self.where_now(key, refresh=True)
            if fresh == cur:
                raise
            return self._path(key, fresh, goal, reason, moved)

    def _path(
        self, key: str, cur: Current, goal: Goal, reason: CloseReason | None, moved: list[Current]
    ) -> Current:
        cur, ts = self.flow(key, cur)
        direct = goal.best(ts)
        if direct is not None:
            moved.append(self.do(key, cur, direct, reason))
            return moved[-1]
        steps = intermediates(ts, cur.status, goal)
        kind = cur.issue_type.casefold()
        known = [t for t in steps if goal.best(self.flows.get((kind, t.to.casefold()), []))]
        if steps:
            # Without a known path one step is explored; a dead end is undone where the
            # workflow allows, so the issue is not left somewhere nobody asked for.
            first = (known or steps)[0]
            moved.append(self.do(key, cur, first, None))
            mid, there = self.flow(key, moved[-1])
            second = goal.best(there)
            if second is not None:
                moved.append(self.do(key, mid, second, reason))
                return moved[-1]
            names = ", ".join(f"'{t.name}' (to {t.to})" for t in there) or "none"
            back = next((t for t in there if t.to.casefold() == cur.status.casefold()), None)
            left = f"it was moved to '{mid.status}'"
            if back is not None:
                self.do(key, mid, back, None)
                left += " and back"
            raise ValidationFailed(
                f"{self._where()}: issue {key} has no transition to {goal.describe()} within "
                f"two steps from '{cur.status}' ({left}; from '{mid.status}' Jira offers "
                f"{names}): set jira.transitions"
            )
        names = ", ".join(f"'{t.name}' (to {t.to})" for t in ts) or "none"
        raise ValidationFailed(
            f"{self._where()}: issue {key} in status '{cur.status}' has no transition to "
            f"{goal.describe()}; Jira offers {names}: set jira.transitions"
        )
