"""postmortem-tracker: keep postmortem action items from rotting."""

__version__ = "0.1.0"
