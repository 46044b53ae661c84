"""Intake: every channel's questions into ``loket.contacts.v1``."""
