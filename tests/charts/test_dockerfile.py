"""The Dockerfile cannot be built here (no container engine); these checks keep it consistent
with the project: the settings it sets exist and match the ports it exposes, it copies what the
install needs, and the final stage runs as a non-root user."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from pm4ml.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_multi_stage_and_the_final_stage_installs_wheels_only() -> None:
    stages = [rest for keyword, rest in instructions() if keyword == "FROM"]
    assert len(stages) == 2
    final = final_stage()
    assert not any(keyword == "COPY" for keyword, _ in final)  # no sources in the image
    runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    assert "--no-index" in runs
    assert "from=build" in runs


def test_runs_as_a_non_root_user() -> None:
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert int(users[-1]) >= 1000


def test_env_names_settings_and_exposes_their_ports() -> None:
    env: dict[str, str] = {}
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
    fields = Settings.model_fields
    for name in env:
        if name.startswith("PM4ML_"):
            assert name.removeprefix("PM4ML_").lower() in fields, name
    exposed = {
        int(port) for keyword, rest in final_stage() if keyword == "EXPOSE" for port in rest.split()
    }
    ports = {int(env[f"PM4ML_{kind}_PORT"]) for kind in ("INBOUND", "OUTBOUND", "OPS", "METRICS")}
    assert exposed == ports
    for kind in ("INBOUND", "OUTBOUND", "OPS", "METRICS"):
        assert env[f"PM4ML_{kind}_HOST"] == "0.0.0.0"  # noqa: S104 (reachable from outside the container)
    assert env["PM4ML_DATA_DIR"] == "/data"  # the only writable place besides /tmp


def test_copies_what_the_install_needs() -> None:
    copied = {rest.split()[0] for keyword, rest in instructions() if keyword == "COPY"}
    copied_words = " ".join(copied)
    for needed in ("pyproject.toml", "pm4ml", "ui", "connectors/ledger", "connectors/http"):
        assert needed in copied_words
        assert (ROOT / needed).exists()
    ignore = (ROOT / ".dockerignore").read_text()
    for needed in ("pyproject.toml", "README.md", "pm4ml/", "ui/", "connectors/ledger/"):
        assert f"!{needed}" in ignore
