"""The one-desk rules, pure: classification, the rules in order, and the per-party state they need."""

from services.router.domain.classifier import Classifier
from services.router.domain.rules import Routing, case_id_for, derived_id, route
from services.router.domain.state import Handled, OpenCaseRef, PartyState, utc

__all__ = ["Classifier", "Handled", "OpenCaseRef", "PartyState", "Routing", "case_id_for", "derived_id", "route", "utc"]
