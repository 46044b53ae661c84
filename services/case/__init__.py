"""Case service: cases (zaken) in PostgreSQL, opened from ``loket.case-requests.v1``."""
