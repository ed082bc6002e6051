import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from kindling.accounts.models import User
from kindling.projects.api import project_out
from kindling.projects.configure import SETTINGS_FIELDS, ConfigError, configure, create_project
from kindling.projects.members import ROLES, AccessError, add_member, change_role, members_of, remove_member
from kindling.projects.models import Project
from kindling.projects.portability import ProjectFileError, export_project, import_project


class Command(BaseCommand):
    help = (
        "Projects: `kindling project create --name NAME --owner EMAIL`, `kindling project set SLUG ...`, "
        "`kindling project import FILE --name NAME --owner EMAIL`, `kindling project export SLUG`, "
        "`kindling project members list|add|role|remove SLUG ...`"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="create a project from a project.yaml (v2 format)")
        imp.add_argument("file")
        imp.add_argument("--name", required=True)
        imp.add_argument("--owner", required=True, help="email of the owner")
        new = sub.add_parser("create", help="create an empty project with its inbox")
        new.add_argument("--name", required=True)
        new.add_argument("--owner", required=True, help="email of the owner")
        new.add_argument("--description", default="")
        change = sub.add_parser("set", help="change a project's settings (as Project Settings does)")
        change.add_argument("slug")
        for option in ("name", "description", "concurrency", "notification-threshold", "timezone"):
            change.add_argument(f"--{option}")
        change.add_argument(
            "--failure-alert-minutes",
            help="minutes between two failure emails per job: 0 (off), 15, 60, 360, 1440",
        )
        exp = sub.add_parser("export", help="print the project as a project.yaml, credential values masked")
        exp.add_argument("slug")
        exp.add_argument("--output", "-o", help="write to this file instead of standard output")
        members = sub.add_parser("members", help="the project's users and their roles")
        verbs = members.add_subparsers(dest="verb", required=True)
        verbs.add_parser("list", help="print one JSON line per user").add_argument("slug")
        add = verbs.add_parser("add", help="add a user by email (an address without an account is invited)")
        add.add_argument("slug")
        add.add_argument("email")
        add.add_argument("--role", choices=list(ROLES), default="collaborator")
        role = verbs.add_parser("role", help="change a user's role")
        role.add_argument("slug")
        role.add_argument("email")
        role.add_argument("role", choices=list(ROLES))
        remove = verbs.add_parser("remove", help="revoke a user's access")
        remove.add_argument("slug")
        remove.add_argument("email")

    def export(self, slug: str, output: str | None) -> None:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"no project with slug {slug}")
        text = export_project(project)
        for line in text.splitlines():
            if line.startswith("# Missing credential:"):
                self.stderr.write(line[2:])
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}") from None

    def set(self, slug: str, opts: dict) -> None:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"no project with slug {slug}")
        fields = SETTINGS_FIELDS
        changes = {field: opts[field] for field in fields if opts.get(field) is not None}
        try:
            project = configure(project, **changes)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(project_out(project), default=str))

    def members(self, verb: str, slug: str, opts) -> None:
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"no project with slug {slug}")
        try:
            if verb == "add":
                membership = add_member(project, None, opts["email"], opts["role"])
                self.stdout.write(f"{membership.user.email} is {membership.role_label} of {project.slug}")
            elif verb in ("role", "remove"):
                member = members_of(project).filter(user__email__iexact=opts["email"]).first()
                if member is None:
                    raise CommandError(f"{opts['email']} is not a member of {project.slug}")
                if verb == "role":
                    membership = change_role(project, None, member.user_id, opts["role"])
                    self.stdout.write(f"{membership.user.email} is {membership.role_label} of {project.slug}")
                else:
                    remove_member(project, None, member.user_id)
                    self.stdout.write(f"{member.user.email} no longer has access to {project.slug}")
            else:
                for m in members_of(project):
                    self.stdout.write(
                        json.dumps({"user_id": m.user_id, "email": m.user.email, "role": m.role_label})
                    )
        except (AccessError, Http404) as exc:
            raise CommandError(str(exc)) from None

    def handle(self, *args, action, **opts):
        if action == "members":
            return self.members(opts["verb"], opts["slug"], opts)
        if action == "export":
            return self.export(opts["slug"], opts["output"])
        if action == "set":
            return self.set(opts["slug"], opts)
        owner = User.objects.filter(email__iexact=opts["owner"]).first()
        if owner is None:
            raise CommandError(f"no user with email {opts['owner']}")
        if action == "create":
            try:
                project = create_project(owner, opts["name"], opts["description"])
            except ConfigError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(json.dumps({"project": project.slug, "inbox_url": project.inbox_url}))
            return
        path = Path(opts["file"])
        try:
            text = path.read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        try:
            project = import_project(text, opts["name"], owner)
        except ProjectFileError as exc:
            raise CommandError(f"{path}: {exc}") from None
        jobs = list(project.jobs.order_by("id").values_list("name", flat=True))
        self.stdout.write(json.dumps({"project": project.slug, "inbox_url": project.inbox_url, "jobs": jobs}))
