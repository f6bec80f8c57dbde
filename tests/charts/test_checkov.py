"""checkov, a static analyser of Kubernetes manifests, on the chart rendered with production
values: no failed check. The checks skipped, each with its reason, are in charts/checkov.yaml.
checkov lives in its own cached environment (tests/charts/checkov.py), which CI's setup
installs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.charts import checkov
from tests.charts.test_chart import PRODUCTION, render

CONFIG = Path(__file__).resolve().parents[2] / "charts" / "checkov.yaml"


def test_the_production_manifests_pass_every_check(tmp_path: Path) -> None:
    executable = checkov.installed()
    if executable is None:
        pytest.skip("checkov is not installed: python -m tests.charts.checkov")
    manifests = tmp_path / "pm4ml.yaml"
    manifests.write_text(yaml.safe_dump_all(render(PRODUCTION)))
    result = subprocess.run(
        [str(executable), "--config-file", str(CONFIG), "--file", str(manifests), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    assert [r["check_type"] for r in reports] == ["kubernetes"]
    summary = reports[0]["summary"]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in reports[0]["results"]["failed_checks"]
    ]
    assert failed == []
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 15  # every manifest was read
    assert summary["passed"] > 100
    assert result.returncode == 0, result.stderr[-2000:]
