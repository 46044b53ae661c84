"""The organisation file: departments and desks, the subject catalog (onderwerpen), referral
organisations, closing days and the days decreed equal to holidays for legal terms, and the service norms it
promises, from one TOML file.

A wrong file fails at start-up with the file, the key and the reason.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from plumbing.deadletters import describe_validation_error
from schemas.contacts import Channel
from schemas.decisions import REPEAT_CONTACT_DAYS
from schemas.norms import MEASURES, AbandonedInTime, Direction, NormMeasure, Unit, Window

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "zeventerpen.toml"
CODE = r"^[a-z0-9][a-z0-9-]*$"


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubjectKind(StrEnum):
    """What sort of contact a subject is; complaints, corrections and ideas go to their own desks."""

    QUESTION = "question"
    COMPLAINT = "complaint"  # klacht: Awb art. 9:11, six weeks
    CORRECTION = "correction"  # correctieverzoek on personal data: to the registry desk
    IDEA = "idea"  # suggestie
    CALLBACK = "callback"  # terugbelverzoek: a case with its own norm


class Department(_Config):
    """An afdeling (department) or desk that handles cases."""

    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1)


class Desks(_Config):
    """Which department acts as which special desk."""

    generalist: str = Field(description="Generalist desk: questions that match no subject.")
    complaints: str = Field(description="Complaints desk (klachtenbehandeling).")
    registry: str = Field(description="Registry desk: corrections of personal data (BRP).")
    ideas: str = Field(description="Where ideas and suggestions go.")


class Referral(_Config):
    """Another organisation a question belongs to, and how the citizen reaches it."""

    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    web: str = Field(pattern=r"^https://")


class Subject(_Config):
    """An onderwerp (subject) of the catalog and how the one-desk rules treat it."""

    code: str = Field(pattern=CODE)
    title: str = Field(min_length=1, description="Dutch title.")
    kind: SubjectKind = SubjectKind.QUESTION
    keywords: tuple[str, ...] = Field((), description="Words and phrases (synonyms, spoken forms) that signal it.")
    department: str | None = Field(None, description="Department that handles its cases; a desk for special kinds.")
    answer: str | None = Field(None, description="Front-office knowledge answer, the same on every channel.")
    case_type: str | None = Field(None, pattern=CODE, description="Zaaktype when the question becomes a case.")
    norm_working_days: int | None = Field(None, ge=1, description="Service norm: promised handling time.")
    legal_term_weeks: int | None = Field(None, ge=1, description="Legal term (doorlooptijd) in calendar weeks.")
    legal_basis: str | None = Field(None, description="Where the legal term comes from, e.g. 'Awb art. 9:11'.")
    referral: str | None = Field(None, description="Code of the organisation this subject belongs to.")

    @model_validator(mode="after")
    def _one_way_to_handle_it(self) -> "Subject":
        if self.referral:
            if self.answer or self.case_type:
                raise ValueError(f"subject {self.code!r}: a referral has no answer or case_type of its own")
            return self
        if self.department is None:
            raise ValueError(f"subject {self.code!r} needs a department (or a referral)")
        if self.case_type and not (self.norm_working_days or self.legal_term_weeks):
            raise ValueError(f"subject {self.code!r}: a case_type needs norm_working_days or legal_term_weeks")
        if not self.answer and not self.case_type:
            raise ValueError(f"subject {self.code!r} needs an answer, a case_type or a referral")
        return self


class Norm(_Config):
    """A service norm (servicenorm) the organisation promises, and how the thermometer shows it. What each
    measure counts, and its formula, is in docs/norms.md."""

    id: str = Field(pattern=CODE, description="The norm's id: in metrics' labels, the thermometer and its JSON.")
    title: str = Field(min_length=1, description="Dutch title, as the thermometer shows it.")
    measure: NormMeasure
    channel: Channel | None = Field(None, description="The channel it is about; none for every channel.")
    threshold: float | None = Field(None, gt=0, allow_inf_nan=False, description="The promised time or count, in "
                                    "``unit``.")
    unit: Unit | None = None
    target: float = Field(ge=0, description="The share (0-1) of contacts within the threshold, or a mean score.")
    windows: tuple[Window, ...] = Field(tuple(Window), min_length=1, description="The periods it is measured over.")
    below_target: str = Field(min_length=1, description="Dutch: the cause, and what is done about it, shown "
                              "while the norm is not met.")
    abandoned_in_time: AbandonedInTime = Field(
        AbandonedInTime.MISS, description="Phone service level: a call abandoned within the threshold counts as "
        "a miss, or is left out.")
    short_abandon_seconds: float = Field(
        5, ge=0, allow_inf_nan=False, description="Phone: a call abandoned within this many seconds is left out "
        "of every phone measure (give every phone norm the same).")

    @model_validator(mode="after")
    def _fits_its_measure(self) -> "Norm":
        spec = MEASURES[self.measure]
        where = f"norm {self.id!r} ({self.measure.value})"
        if spec.units and (self.threshold is None or self.unit not in spec.units):
            units = ", ".join(sorted(u.value for u in spec.units))
            raise ValueError(f"{where} needs a threshold with a unit of: {units}")
        if not spec.units and (self.threshold is not None or self.unit is not None):
            raise ValueError(f"{where} has no threshold")
        if spec.channels is None and self.channel is not None:
            raise ValueError(f"{where} is about every channel: leave out its channel")
        if spec.channels is not None and self.channel not in spec.channels:
            channels = ", ".join(sorted(c.value for c in spec.channels))
            raise ValueError(f"{where} needs a channel of: {channels}")
        if spec.share and self.target > 1:
            raise ValueError(f"{where}: its target is a share between 0 and 1")
        if not spec.share and not 1 <= self.target <= 10:
            raise ValueError(f"{where}: its target is a score between 1 and 10")
        if len(set(self.windows)) != len(self.windows):
            raise ValueError(f"{where} names a window twice")
        if self.unit in (Unit.WORKING_DAYS, Unit.TIMES) and self.threshold != int(self.threshold or 0):
            raise ValueError(f"{where}: {self.unit.value} are counted whole")
        if self.measure is NormMeasure.REPEAT_CONTACTS and self.threshold != REPEAT_CONTACT_DAYS:
            raise ValueError(f"{where}: the router flags a repeat contact within {REPEAT_CONTACT_DAYS} days; "
                             f"the threshold must be {REPEAT_CONTACT_DAYS}")
        if "abandoned_in_time" in self.model_fields_set and self.measure is not NormMeasure.PHONE_ANSWERED_WITHIN:
            raise ValueError(f"{where}: abandoned_in_time is for the phone's service level only")
        if "short_abandon_seconds" in self.model_fields_set and self.measure not in _PHONE_WAITS:
            raise ValueError(f"{where}: short_abandon_seconds is for the phone's service level and abandonment only")
        if self.measure is NormMeasure.PHONE_ANSWERED_WITHIN and self.short_abandon_seconds >= _seconds(self):
            raise ValueError(f"{where}: short_abandon_seconds must be shorter than the threshold")
        return self

    @property
    def direction(self) -> Direction:
        """Met at or above the target, or at or below it: the measure's."""
        return MEASURES[self.measure].direction


#: The phone measures of a wait, to which the short-abandon threshold applies.
_PHONE_WAITS = frozenset({NormMeasure.PHONE_ANSWERED_WITHIN, NormMeasure.PHONE_ABANDONED})


def _seconds(norm: Norm) -> float:
    return (norm.threshold or 0) * (60 if norm.unit is Unit.MINUTES else 1)


class Organisation(_Config):
    """One organisation's routing configuration, and the service norms it promises."""

    name: str
    general_subject: str = Field(description="Subject for questions that match nothing; never dropped.")
    callback_subject: str = Field(description="Subject whose case type and norm a callback request gets.")
    desks: Desks
    departments: tuple[Department, ...]
    referrals: tuple[Referral, ...] = ()
    subjects: tuple[Subject, ...]
    closing_days: tuple[dt.date, ...] = Field(
        (), description="The organisation's own closing days: they shift service norms, never legal terms.")
    legal_designated_days: tuple[dt.date, ...] = Field(
        (), description="Days a royal decree puts on a par with a general recognised holiday (Atw art. 3(3)).")
    norms: tuple[Norm, ...] = Field((), description="The service norms, in the order the thermometer shows them.")
    _by_code: dict[str, Subject] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references_hold(self) -> "Organisation":
        departments = {d.code for d in self.departments}
        referrals = {r.code for r in self.referrals}
        codes = [s.code for s in self.subjects]
        _unique("subject", codes)
        _unique("department", [d.code for d in self.departments])
        _unique("norm", [n.id for n in self.norms])
        if len({n.short_abandon_seconds for n in self.norms if n.measure in _PHONE_WAITS}) > 1:
            raise ValueError("the phone norms must share one short_abandon_seconds: it leaves calls out of them all")
        for role, code in self.desks:
            if code not in departments:
                raise ValueError(f"desks.{role} names unknown department {code!r}")
        for subject in self.subjects:
            if subject.department and subject.department not in departments:
                raise ValueError(f"subject {subject.code!r} names unknown department {subject.department!r}")
            if subject.referral and subject.referral not in referrals:
                raise ValueError(f"subject {subject.code!r} names unknown referral {subject.referral!r}")
        by_code = {s.code: s for s in self.subjects}
        for field in ("general_subject", "callback_subject"):
            subject = by_code.get(getattr(self, field))
            if subject is None or not subject.case_type:
                raise ValueError(f"{field} {getattr(self, field)!r} must be a subject in the catalog with a case_type")
        return self

    def model_post_init(self, context: object) -> None:
        self._by_code = {s.code: s for s in self.subjects}

    def subject(self, code: str) -> Subject | None:
        return self._by_code.get(code)

    def referral(self, code: str) -> Referral | None:
        return next((r for r in self.referrals if r.code == code), None)


def _unique(what: str, codes: list[str]) -> None:
    doubles = sorted({c for c in codes if codes.count(c) > 1})
    if doubles:
        raise ValueError(f"{what} codes must be unique; repeated: {', '.join(doubles)}")


class OrganisationFileError(Exception):
    """The organisation file cannot be used; the message names the file, the key and the reason."""


def load_organisation(path: Path = DEFAULT_FILE) -> Organisation:
    """Read and validate an organisation file."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise OrganisationFileError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise OrganisationFileError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Organisation.model_validate(raw)
    except ValidationError as exc:
        raise OrganisationFileError(f"{path}: {describe_validation_error(exc)}") from None
