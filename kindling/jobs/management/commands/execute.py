"""`kindling execute job.js --adaptor @openfn/language-http@7.2.10 --state state.json [-o out.json]`:
run one job on this machine the way OpenFn's CLI does, printing its log and writing its final state.

It runs without a database (no system checks, no model): only the engine, the adaptor repository and
the files named on the command line.
"""

import json
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kindling import engine
from kindling.engine.adaptors import expand_shorthand
from kindling.engine.runlog import as_text


def read_state(path: str | None) -> dict:
    if path is None:
        return {}
    try:
        state = json.loads(Path(path).read_text())
    except OSError as exc:
        raise CommandError(f"cannot read the state file: {exc}") from None
    except ValueError as exc:
        raise CommandError(f"the state file {path} is not JSON: {exc}") from None
    if not isinstance(state, dict):
        raise CommandError(f'the state file {path} must hold a JSON object, like {{"data": {{}}}}')
    return state


class Command(BaseCommand):
    help = "Run one job file locally against a state file, like OpenFn's CLI (no database needed)."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("job", help="the job's file (OpenFn job code)")
        parser.add_argument(
            "-a",
            "--adaptor",
            default="@openfn/language-common",
            help="adaptor and version: @openfn/language-http@7.2.10, http@7.2.10, http (latest)",
        )
        parser.add_argument("-s", "--state", help="initial state: a JSON file with data and configuration")
        parser.add_argument("-o", "--output", help="write the final state to this file (default: print it)")
        parser.add_argument("--timeout", type=float, default=float(settings.RUN_TIMEOUT_SECONDS))
        parser.add_argument("--memory", type=int, default=settings.RUN_MEMORY_MB, help="MB")
        parser.add_argument("--console-disabled", action="store_true", help="the job's console is off")
        parser.add_argument("--adaptor-dir", default=str(settings.ADAPTOR_REPO_DIR))
        parser.add_argument(
            "--isolate-network",
            action="store_true",
            help="run as a worker does: the job's own network, no loopback or private ranges "
            "(KINDLING_JOB_ALLOW_HOSTS opens some), and refuse to run without the OS sandbox",
        )

    def handle(self, *args, **opts):
        try:
            expression = Path(opts["job"]).read_text()
        except OSError as exc:
            raise CommandError(f"cannot read the job file: {exc}") from None
        spec = engine.RunSpec(
            run_id=f"cli-{uuid.uuid4()}",
            expression=expression,
            adaptor=expand_shorthand(opts["adaptor"]),
            state=read_state(opts["state"]),
            timeout=opts["timeout"],
            memory_mb=opts["memory"],
            console_disabled=opts["console_disabled"],
        )
        result = engine.execute(
            spec,
            repo_dir=Path(opts["adaptor_dir"]),
            on_log=lambda line: self.stdout.write(as_text(line)),
            local=not opts["isolate_network"],
        )
        if result.final_state is not None:
            text = json.dumps(result.final_state, indent=2, ensure_ascii=False)
            if opts["output"]:
                Path(opts["output"]).write_text(text + "\n")
                self.stdout.write(f"Final state written to {opts['output']}")
            else:
                self.stdout.write(text)
        if result.exit_code:
            raise SystemExit(result.exit_code)
