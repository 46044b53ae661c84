"""The error body of every Loket HTTP API: RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from schemas.envelope import Frozen


class FieldProblem(Frozen):
    """One field that was wrong, and why; names the field, never echoes what was sent."""

    field: str = Field(description="Where the fault is: the dotted path in the body, or 'header.<name>'.")
    reason: str = Field(description="What is wrong with it.")


class Problem(Frozen):
    """RFC 9457 problem details. With ``type`` ``about:blank`` the ``title`` is the HTTP status phrase."""

    type: str = Field("about:blank", description="URI of the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(ge=400, le=599, description="HTTP status code of this response.")
    detail: str = Field(description="Explanation of this occurrence; never repeats personal data that was sent.")
    errors: list[FieldProblem] = Field(default_factory=list, description="The fields at fault, if any.")

    def body(self) -> dict[str, Any]:
        """The JSON members, without an empty ``errors`` list."""
        return self.model_dump(exclude_defaults=False, exclude={"errors"} if not self.errors else set())
