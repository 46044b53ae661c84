"""The README's configuration table names every setting a service reads: docs that match the code."""

import pytest

from plumbing.settings import StackSettings
from services.case.settings import CaseSettings
from services.intake.settings import IntakeSettings
from services.norms.settings import NormsSettings
from services.router.settings import RouterSettings
from tests.readme import README


@pytest.mark.parametrize("settings", [IntakeSettings, RouterSettings, CaseSettings, NormsSettings, StackSettings],
                         ids=lambda cls: cls.__name__)
def test_every_setting_is_in_the_readmes_configuration_table(settings):
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [f"LOKET_{name.upper()}" for name in settings.model_fields if f"`LOKET_{name.upper()}`" not in table]
    assert not missing, f"not in the README's configuration table: {missing}"
