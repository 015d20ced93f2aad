"""The postmortem parser: text and path in, a `Postmortem` with items and problems out."""

from tracker.parse.document import DEFAULT_OPTIONS, ParseOptions, parse_postmortem

__all__ = ["DEFAULT_OPTIONS", "ParseOptions", "parse_postmortem"]
