"""The service norms in the organisation file: Zeventerpen's defaults, and a norm that does not fit its measure
refused at start-up with the norm and the reason."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from plumbing.organisation import DEFAULT_FILE, OrganisationFileError, load_organisation
from schemas.norms import MEASURES, AbandonedInTime, Direction, NormMeasure, Window


def test_zeventerpen_promises_the_published_municipal_norms():
    norms = {n.id: n for n in load_organisation().norms}
    promised = {(n.measure.value, n.channel and n.channel.value, n.threshold, n.unit and n.unit.value, n.target,
                 n.direction.value) for n in norms.values()}
    assert promised == {
        ("phone-answered-within", "phone", 25, "seconds", 0.80, "at-least"),
        ("phone-abandoned", "phone", None, None, 0.05, "at-most"),
        ("callback-within", None, 1, "working-days", 0.90, "at-least"),
        ("first-reply-within", "email", 2, "working-days", 0.85, "at-least"),
        ("first-reply-within", "web", 2, "working-days", 0.85, "at-least"),
        ("first-reply-within", "letter", 3, "weeks", 0.90, "at-least"),
        ("walk-in-called-within", "counter", 10, "minutes", 0.95, "at-least"),
        ("appointment-called-within", "counter", 5, "minutes", 0.90, "at-least"),
        ("first-contact-resolution", None, None, None, 0.80, "at-least"),
        ("cases-within-norm", None, None, None, 0.90, "at-least"),
        ("complaints-within-term", None, None, None, 1.0, "at-least"),
        ("transfers-within", "phone", 2, "times", 1.0, "at-least"),
        ("referrals", None, None, None, 0.15, "at-most"),
        ("repeat-contacts", None, 7, "days", 0.10, "at-most"),
        ("satisfaction", None, None, None, 7.5, "at-least"),
    }
    phone = norms["telefoon-opgenomen"]
    assert (phone.abandoned_in_time, phone.short_abandon_seconds) == (AbandonedInTime.MISS, 5)
    assert all(n.windows == (Window.TODAY, Window.LAST_7_DAYS, Window.LAST_30_DAYS) and n.below_target
               for n in norms.values())
    assert set(MEASURES) == set(NormMeasure) and {n.measure for n in norms.values()} == set(NormMeasure)
    assert MEASURES[NormMeasure.SATISFACTION].direction is Direction.AT_LEAST


def with_norm(tmp_path: Path, **changes: object) -> Path:
    """The example file with its first norm changed (a value of None leaves the key out)."""
    raw = tomllib.loads(DEFAULT_FILE.read_text("utf-8"))
    norm = {**raw["norms"][0], **changes}
    raw["norms"][0] = {k: v for k, v in norm.items() if v is not None}
    path = tmp_path / "organisation.toml"
    path.write_text(_toml(raw), "utf-8")
    return path


def _toml(value: dict) -> str:
    """Just enough TOML for the organisation file (tables of scalars, lists and arrays of tables)."""
    lines, tables = [], []
    for key, item in value.items():
        if isinstance(item, dict):
            tables.append((f"[{key}]", item))
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            tables.extend((f"[[{key}]]", element) for element in item)
        else:
            lines.append(f"{key} = {_scalar(item)}")
    for header, table in tables:
        lines += ["", header, *(f"{k} = {_scalar(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return str(value)  # numbers and dates are written as TOML reads them


@pytest.mark.parametrize(("changes", "reason"), [
    (dict(threshold=None), "needs a threshold with a unit of: minutes, seconds"),
    (dict(unit="working-days"), "needs a threshold with a unit of: minutes, seconds"),
    (dict(measure="first-contact-resolution", channel=None), "has no threshold"),
    (dict(measure="referrals", threshold=None, unit=None, abandoned_in_time=None, short_abandon_seconds=None),
     "is about every channel: leave out its channel"),
    (dict(measure="first-reply-within", channel="chat", unit="working-days", abandoned_in_time=None,
          short_abandon_seconds=None), "needs a channel of: email, letter, web"),
    (dict(target=80), "its target is a share between 0 and 1"),
    (dict(measure="satisfaction", channel=None, threshold=None, unit=None, abandoned_in_time=None,
          short_abandon_seconds=None, target=0.75), "its target is a score between 1 and 10"),
    (dict(measure="first-reply-within", channel="email", unit="working-days"),
     "abandoned_in_time is for the phone's service level only"),
    (dict(measure="first-reply-within", channel="email", unit="working-days", abandoned_in_time=None),
     "short_abandon_seconds is for the phone's service level and abandonment only"),
    (dict(short_abandon_seconds=30), "short_abandon_seconds must be shorter than the threshold"),
    (dict(short_abandon_seconds=3), "the phone norms must share one short_abandon_seconds"),
    (dict(measure="first-reply-within", channel="email", unit="working-days", threshold=1.5, abandoned_in_time=None,
          short_abandon_seconds=None), "working-days are counted whole"),
    (dict(measure="repeat-contacts", channel=None, unit="days", threshold=14, abandoned_in_time=None,
          short_abandon_seconds=None), "the router flags a repeat contact within 7 days; the threshold must be 7"),
    (dict(threshold="inf"), "norms.0.threshold"),
    (dict(windows=["today", "today"]), "names a window twice"),
    (dict(measure="answered-fast"), "norms.0.measure"),
    (dict(id="telefoon-opgehangen"), "norm codes must be unique; repeated: telefoon-opgehangen"),
])
def test_a_norm_that_does_not_fit_its_measure_is_refused_naming_it(tmp_path: Path, changes: dict, reason: str):
    path = with_norm(tmp_path, **changes)
    with pytest.raises(OrganisationFileError) as error:
        load_organisation(path)
    assert reason in str(error.value) and str(path) in str(error.value)


def test_the_rewritten_example_file_loads_as_the_example(tmp_path: Path):
    """The refusals above come from the changes, not from how the file was written back."""
    assert load_organisation(with_norm(tmp_path)) == load_organisation()
