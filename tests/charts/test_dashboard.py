"""The Grafana dashboard uses exactly the metric names the README lists, and every one of them
(except the certificate gauge, exported by the TLS module) is exported by pm4ml."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pm4ml.observability.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = ("_bucket", "_count", "_sum")


def base_name(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def dashboard_names() -> set[str]:
    dashboard = json.loads((ROOT / "charts" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return {base_name(name) for expr in exprs for name in re.findall(r"pm4ml_\w+", expr)}


def readme_names() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Observability", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(pm4ml_\w+)` \|", section, re.MULTILINE))


def exported_names() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


def test_dashboard_uses_exactly_the_readme_names() -> None:
    assert dashboard_names() == readme_names()


def test_readme_names_are_exported() -> None:
    assert readme_names() == exported_names()


def test_names_follow_prometheus_conventions() -> None:
    for name in readme_names():
        assert re.fullmatch(r"pm4ml(_[a-z]+)+", name), name
    for name in exported_names():
        if "duration" in name or "expiry" in name:
            assert name.endswith("_seconds"), name
