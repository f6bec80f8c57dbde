"""Finding connectors: the ``pm4ml.connectors`` entry-point group, and nothing else.

First-party connectors are separate distributions that register through the same group, so a
third-party connector is loaded exactly like ours. The active one is chosen by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from pm4ml.connectors._interface import Connector

ENTRY_POINT_GROUP = "pm4ml.connectors"


@dataclass(frozen=True)
class ConnectorInfo:
    """One installed connector: its name, the distribution that provides it and where from."""

    name: str
    distribution: str
    version: str
    origin: str


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[ConnectorInfo]:
    """Every installed connector, sorted by name."""
    infos = []
    for name, ep in sorted(_entry_points().items()):
        dist = ep.dist
        infos.append(
            ConnectorInfo(
                name=name,
                distribution=dist.name if dist else "?",
                version=dist.version if dist else "?",
                origin=ep.value,
            )
        )
    return infos


def load(name: str) -> type[Connector]:
    """The connector class registered as ``name``. Raises ``LookupError`` listing the installed
    names when there is none, and ``TypeError`` when the entry point is not a ``Connector``."""
    found = _entry_points().get(name)
    if found is None:
        names = ", ".join(sorted(_entry_points())) or "none"
        raise LookupError(f"no connector named {name!r} is installed (installed: {names})")
    cls = found.load()
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise TypeError(f"entry point {name!r} ({found.value}) is not a pm4ml Connector class")
    return cls
