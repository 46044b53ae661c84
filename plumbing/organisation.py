"""The organisation file: departments, the subject catalog (onderwerpen) and closing days, from TOML.

A wrong file fails at start-up with the file, the key and the reason.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plumbing.deadletters import describe_validation_error

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "zeventerpen.toml"


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Department(_Config):
    """An afdeling (department) or desk that handles cases."""

    code: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str


class Subject(_Config):
    """An onderwerp (subject) of the catalog and how the front office handles it."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    keywords: tuple[str, ...] = ()
    department: str
    answer: str | None = Field(None, description="Knowledge answer when the front office can answer at once.")
    case_type: str | None = Field(None, description="Zaaktype when the question becomes a case.")
    norm_working_days: int | None = Field(None, ge=1, description="Service norm of the case in working days.")

    @model_validator(mode="after")
    def _answer_or_case(self) -> "Subject":
        if self.answer is None and (self.case_type is None or self.norm_working_days is None):
            raise ValueError(f"subject {self.code!r} needs an answer, or a case_type with norm_working_days")
        return self


class Organisation(_Config):
    """One organisation's routing configuration."""

    name: str
    general_subject: str = Field(description="Subject for questions that match nothing; never dropped.")
    departments: tuple[Department, ...]
    subjects: tuple[Subject, ...]
    closing_days: tuple[dt.date, ...] = ()

    @model_validator(mode="after")
    def _references_hold(self) -> "Organisation":
        departments = {d.code for d in self.departments}
        codes = [s.code for s in self.subjects]
        if len(set(codes)) != len(codes):
            raise ValueError("subject codes must be unique")
        for subject in self.subjects:
            if subject.department not in departments:
                raise ValueError(f"subject {subject.code!r} names unknown department {subject.department!r}")
        if self.general_subject not in codes:
            raise ValueError(f"general_subject {self.general_subject!r} is not in the catalog")
        return self

    def subject(self, code: str) -> Subject | None:
        return next((s for s in self.subjects if s.code == code), None)


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
