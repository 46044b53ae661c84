"""The standards' own command-line tools (AsyncAPI CLI, Spectral), installed by ``./dev setup`` into
``conformance/node_modules``, run on a document; the suite asserts on what they report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT / "conformance"
BIN = CONFORMANCE / "node_modules" / ".bin"


@dataclass(frozen=True)
class ToolRun:
    """What a tool printed and how it exited."""

    command: list[str]
    returncode: int
    output: str

    def report(self) -> str:
        return f"$ {' '.join(self.command)}\n(exit {self.returncode})\n{self.output}"


def tool(name: str) -> Path:
    """The path of an installed conformance tool; a clear failure when ``./dev setup`` has not run."""
    path = BIN / name
    if not path.exists():
        raise AssertionError(f"{name} is not installed in {BIN.relative_to(ROOT)}: run ./dev setup")
    return path


def run_tool(name: str, *args: str | Path, tmp: Path, timeout: float = 180) -> ToolRun:
    """Run a tool without network chatter: the AsyncAPI CLI's analytics are switched off by its own config."""
    analytics = tmp / "asyncapi-analytics.json"
    shutil.copy(CONFORMANCE / "asyncapi-analytics.json", analytics)
    env = {**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(analytics), "NO_COLOR": "1", "FORCE_COLOR": "0"}
    command = [str(tool(name)), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tmp, env=env)
    return ToolRun([name, *map(str, args)], done.returncode, done.stdout + done.stderr)


def spectral_lint(document: Path, ruleset: Path, *, tmp: Path) -> tuple[ToolRun, list[dict]]:
    """Spectral's findings on a document (every severity), as its JSON output lists them."""
    out = tmp / f"spectral-{document.stem}.json"
    run = run_tool("spectral", "lint", document, "--ruleset", ruleset, "--format", "json", "--output", out,
                   "--fail-severity", "hint", tmp=tmp)
    findings = json.loads(out.read_text("utf-8")) if out.exists() and out.stat().st_size else []
    return run, findings


def findings_text(findings: list[dict]) -> str:
    """One line per finding: severity, rule, where and what."""
    severities = {0: "error", 1: "warning", 2: "info", 3: "hint"}
    return "\n".join(
        f"{severities.get(f.get('severity'), f.get('severity'))} {f.get('code')} "
        f"{'.'.join(map(str, f.get('path', [])))}: {f.get('message')}"
        for f in findings
    )
