"""Helpers for the operations tests: `kindling` commands against an embedded instance of their own."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def environment(data: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KINDLING_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)  # an embedded instance: SQLite in its data directory
    return {
        **env,
        "KINDLING_DATA_DIR": str(data),
        "KINDLING_ADAPTOR_DIR": str(settings.ADAPTOR_REPO_DIR),
        "DJANGO_SETTINGS_MODULE": "kindling.settings",
        **extra,
    }


def kindling(data: Path, *args, check=True, env=None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "kindling.cli", *args],
        env=environment(data, **(env or {})),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def python(data: Path, code: str, *args, env=None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=environment(data, **(env or {})),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
