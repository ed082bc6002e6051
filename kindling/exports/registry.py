"""What each kind of export builds. An app registers a builder once (in its AppConfig.ready):

    register("runs.csv", filename=lambda export: f"{export.project.slug}-runs.csv",
             content_type="text/csv", build=write_runs_csv, label="Runs (CSV)")

`build(export, path)` writes the file at `path` (a pathlib.Path) and raises to fail the export; the
message of a BuildError is shown to the requester as it is.
"""

from collections.abc import Callable
from dataclasses import dataclass


class BuildError(Exception):
    pass


@dataclass(frozen=True)
class Builder:
    kind: str
    label: str
    filename: Callable
    content_type: str
    build: Callable


BUILDERS: dict[str, Builder] = {}


def register(kind: str, *, label: str, filename: Callable, content_type: str, build: Callable) -> None:
    BUILDERS[kind] = Builder(kind, label, filename, content_type, build)


def builder(kind: str) -> Builder:
    if kind not in BUILDERS:
        raise KeyError(f"Unknown export {kind!r}: use one of {', '.join(sorted(BUILDERS))}.")
    return BUILDERS[kind]
