"""Every metric of the norms service. Labels come from closed sets only (outcome, channel)."""

from prometheus_client import Counter, Gauge

DECISIONS = Counter("loket_decisions", "Routing decisions, by outcome and channel.", ["outcome", "channel"])
FIRST_CONTACT_RESOLUTION = Gauge(
    "loket_first_contact_resolution_ratio",
    "Share of questions answered or referred in the front office at first contact, since the service started.",
)
RECORDS_REFUSED = Counter("loket_norms_records_refused", "Records the norms service sent to the dead-letter topic.")
