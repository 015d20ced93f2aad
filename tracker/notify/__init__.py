"""Reminders and delivery: reminder comments on tickets (`tracker remind`), the weekly report and
per-owner digests in Slack, Teams and e-mail. Nothing here is imported until a command needs it,
except `settings` (config sections) and `due_policy` (used by sync)."""
