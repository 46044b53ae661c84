"""Loket's Prometheus configuration checked by Prometheus's own tool: the scrape configuration and the alert rules
are valid (``promtool check``), the rules fire as their unit tests say (``promtool test rules``), and every metric
an alert or a Grafana panel asks for is one the services expose. promtool comes with Debian's ``prometheus``
package, which ./dev installs: without it these tests fail, they never skip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
DASHBOARD = DEPLOY.parent / "grafana" / "loket.json"
#: A metric's name in a PromQL expression (not a function, label or keyword: those are followed by "(" or "=").
METRIC = re.compile(r"\b(loket_[a-z_]+|up)\b(?=\s*[{<>=!)\[\s]|$)")
#: Metrics a rule may ask for beyond the services' own: Prometheus's per target.
PROMETHEUS_OWN = {"up"}


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: run ./dev setup (Debian: apt-get install prometheus)"
    return subprocess.run([tool, *arguments], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("check", [("check", "config", "prometheus.yml"), ("check", "rules", "rules/loket.yml"),
                                   ("test", "rules", "tests/loket.test.yml")])
def test_promtool_finds_the_configuration_valid_and_the_alerts_as_tested(check, monkeypatch):
    monkeypatch.chdir(DEPLOY)
    done = promtool(*check)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def exposed() -> set[str]:
    """Every metric name a service or the shared plumbing declares (a counter's samples end in ``_total``, a
    histogram's in ``_bucket``, ``_sum`` and ``_count``), and Prometheus's own."""
    root = DEPLOY.parents[1]
    sources = [*Path(root, "services").rglob("metrics.py"), *Path(root, "plumbing").glob("*.py")]
    names = set(re.findall(r'"(loket_[a-z_]+)"', "\n".join(path.read_text("utf-8") for path in sources)))
    suffixes = ("", "_total", "_bucket", "_sum", "_count")
    return {f"{name}{suffix}" for name in names for suffix in suffixes} | PROMETHEUS_OWN


def test_every_metric_an_alert_asks_for_is_exposed_by_a_service():
    rules = (DEPLOY / "rules" / "loket.yml").read_text("utf-8")
    expressions = "\n".join(re.findall(r"expr: \|?\n?((?:\s{10}.*\n)+|.*\n)", rules))
    asked = set(METRIC.findall(expressions))
    assert asked, "no metric found in the rules: the pattern no longer reads them"
    assert asked <= exposed(), asked - exposed()


def test_every_metric_a_grafana_panel_asks_for_is_exposed_by_a_service():
    panels = json.loads(DASHBOARD.read_text("utf-8"))["panels"]
    asked = {name for panel in panels for target in panel["targets"] for name in METRIC.findall(target["expr"])}
    assert len(asked) >= 6, asked
    assert asked <= exposed(), asked - exposed()
