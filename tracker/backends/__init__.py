"""Backends by name: a literal dict, checked by mypy, no plugin magic."""

from __future__ import annotations

from collections.abc import Callable

from tracker.backends.base import Backend, Capabilities, CloseReason, Field, TicketDraft
from tracker.backends.local import LocalBackend

BACKENDS: dict[str, Callable[..., Backend]] = {
    "local": LocalBackend,
    # "github" and "jira" join here with their modules (backends/github.py, backends/jira.py).
}

__all__ = [
    "BACKENDS",
    "Backend",
    "Capabilities",
    "CloseReason",
    "Field",
    "LocalBackend",
    "TicketDraft",
]
