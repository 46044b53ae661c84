"""Shared plumbing for Loket's services: settings, Kafka helpers, logging, calendar, pseudonyms."""
