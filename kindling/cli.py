"""The `kindling` console script: Django's manage.py under our name."""

import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        # A supervisor of processes: it needs no Django, and stays small without it.
        from kindling import serve

        serve.main(sys.argv[2:])
        return
    if sys.argv[1:2] == ["microservice"]:
        # One project on its own database: the settings and data directory come from its arguments.
        from kindling.projects.microservice import prepare_environment

        prepare_environment(sys.argv[2:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kindling.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kindling", *sys.argv[1:]])


if __name__ == "__main__":
    main()
