"""Every metric of the intake service. Labels come from closed sets only."""

from prometheus_client import Counter

QUESTIONS_ACCEPTED = Counter(
    "loket_intake_questions_accepted_total", "Questions accepted into the contacts stream.", ["channel"]
)
QUESTIONS_REPLAYED = Counter(
    "loket_intake_questions_replayed_total",
    "Retries with a remembered Idempotency-Key and the same body: answered as the first time, not published "
    "or counted as accepted again.",
    ["channel"],
)
QUESTIONS_REFUSED = Counter(
    "loket_intake_questions_refused_total",
    "Questions refused, by reason: unauthenticated (401), forbidden (403), invalid (any other 4xx) or "
    "unavailable (Kafka down, 503).",
    ["reason"],
)
CALL_REPORTS_ACCEPTED = Counter(
    "loket_intake_call_reports_accepted_total",
    "Telephony platforms' call reports accepted into the contacts stream (a report sent again is not counted).",
    ["type"],
)
SCORES_ACCEPTED = Counter(
    "loket_intake_satisfaction_scores_accepted_total",
    "Satisfaction scores (KTO) accepted into the contacts stream, by the rated contact's channel.",
    ["channel"],
)
COUNTER_REPORTS_ACCEPTED = Counter(
    "loket_intake_counter_reports_accepted_total",
    "Queue-ticketing and appointment systems' reports accepted into the contacts stream (a resend not counted).",
    ["type"],
)
REPLIES_ACCEPTED = Counter(
    "loket_intake_first_replies_accepted_total",
    "First written replies reported, by channel of the question (a report sent again is not counted).",
    ["channel"],
)
