"""Schemathesis over the JSON API (its own CLI, `st run`), as an integration with every scope would call it; the
answers are read back from its HAR report: how many cases were sent and how many were answered with a 5xx."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The API's operations, roughly, and the two generation modes (valid and invalid data): the fuzzing phase's cases per
# operation are the cases wanted ÷ (operations × modes); the examples and coverage phases add their own on top.
OPERATIONS_HINT = 16
MODES = 2


@dataclass
class FuzzLog:
    cases: int
    server_errors: int
    statuses: dict[int, int]


def run_schemathesis(base_url: str, key: str, cases: int, report_dir: Path, *, seed: int = 2569) -> FuzzLog:
    """Runs with seed, seed + 1, … until at least `cases` cases were sent (the phases decide their own counts)."""
    statuses: dict[int, int] = {}
    for run in range(5):
        for status, n in _one_run(base_url, key, cases, report_dir, seed + run).items():
            statuses[status] = statuses.get(status, 0) + n
        if sum(statuses.values()) >= cases:
            break
    return FuzzLog(
        cases=sum(statuses.values()),
        server_errors=sum(n for s, n in statuses.items() if s >= 500 or s <= 0),
        statuses=dict(sorted(statuses.items())),
    )


def _one_run(base_url: str, key: str, cases: int, report_dir: Path, seed: int) -> dict[int, int]:
    har = report_dir / f"schemathesis-{seed}.har"
    per_operation = max(1, -(-cases // (OPERATIONS_HINT * MODES)))
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--max-examples",
        str(per_operation),
        "--seed",
        str(seed),
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "2",
        "--no-shrink",
        "--continue-on-failure",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--report",
        "har",
        "--report-har-path",
        str(har),
        "--warnings",
        "off",
    ]
    with (report_dir / f"schemathesis-{seed}.log").open("w") as out:
        # In the report directory: schemathesis keeps a cache of its own in the working directory.
        subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=1800, cwd=report_dir)
    statuses: dict[int, int] = {}
    for entry in json.loads(har.read_text())["log"]["entries"] if har.exists() else []:
        status = entry["response"]["status"]
        statuses[status] = statuses.get(status, 0) + 1
    return statuses
