"""`kindling serve`'s own process: a supervisor that loads no Django, and what it starts."""

import os
import subprocess
import sys
from pathlib import Path

from kindling import serve

ROOT = Path(__file__).resolve().parents[2]


def started(*argv: str) -> list[str]:
    """What `kindling serve *argv` starts besides the portal, as 'worker --slots N [--scheduler]'."""
    commands = serve.commands(serve.parser().parse_args(list(argv)))
    assert "uvicorn" in commands[0]
    return [" ".join(command[3:]) for command in commands[1:]]


def test_the_first_worker_is_also_the_scheduler():
    assert started("--workers", "2", "--slots", "3") == ["worker --slots 3 --scheduler", "worker --slots 3"]


def test_without_workers_a_scheduler_process_is_started():
    assert started("--workers", "0") == ["scheduler"]


def test_no_scheduler_means_none_anywhere():
    assert started("--workers", "2", "--slots", "1", "--no-scheduler") == ["worker --slots 1"] * 2
    assert started("--workers", "0", "--no-scheduler") == []


def test_the_supervisor_loads_no_django_settings_models_or_database():
    code = (
        "import sys\n"
        "from kindling import serve\n"
        "serve.commands(serve.parser().parse_args([]))\n"
        "print(sorted(m for m in sys.modules if m.startswith(('django.conf', 'django.db', 'django.apps',"
        " 'kindling.settings'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_bad_setting_in_the_environment_is_refused_with_a_message():
    out = subprocess.run(
        [sys.executable, "-m", "kindling.cli", "serve"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "PORT": "eighty"},
    )
    assert out.returncode == 1
    assert out.stderr.strip() == "kindling serve: PORT must be a whole number, got 'eighty'"


def test_bad_counts_are_refused_with_a_message():
    out = subprocess.run(
        [sys.executable, "-m", "kindling.cli", "serve", "--slots", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 1
    assert "--slots at least 1" in out.stderr
