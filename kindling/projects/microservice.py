"""`kindling microservice project.yaml`: one project on its own, with an embedded SQLite database.

This module is imported by kindling/cli.py before Django is set up, to choose the settings and the data
directory from the command line: it imports nothing of Django or Kindling's models.
"""

import argparse
import os
import re
from pathlib import Path

SETTINGS_MODULE = "kindling.projects.microservice_settings"
CREDENTIAL_PREFIX = "KINDLING_CREDENTIAL_"
DEFAULT_PORT = 4000


def credential_env_name(name: str) -> str:
    """The environment variable that holds a credential's body (JSON) for the microservice."""
    return CREDENTIAL_PREFIX + (re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "CREDENTIAL")


def add_options(parse) -> None:
    parse.add_argument("project_file", help="the project.yaml to run")
    parse.add_argument("--host", default=os.environ.get("KINDLING_HOST", "127.0.0.1"))
    parse.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    parse.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parse.add_argument("--data", help="data directory (default: ./data next to the project.yaml)")


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="kindling microservice",
        description="Serve one project's inbox and run its jobs, on an embedded SQLite database.",
    )
    add_options(parse)
    return parse


def prepare_environment(argv: list[str], environ=os.environ) -> None:
    """Point this process (and the ones it starts) at the microservice's own database and settings."""
    args, _ = parser().parse_known_args(argv)
    data = Path(args.data) if args.data else Path(args.project_file).resolve().parent / "data"
    environ["KINDLING_DATA_DIR"] = str(data.resolve())
    environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    environ["PORT"] = str(args.port)
    # The embedded database, whatever the shell that starts it points other Kindling processes at.
    environ.pop("DATABASE_URL", None)
    environ.setdefault("KINDLING_BASE_URL", f"http://{args.host}:{args.port}")
