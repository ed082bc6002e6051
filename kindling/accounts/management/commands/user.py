from django.core.management.base import BaseCommand, CommandError

from kindling.accounts.models import User


class Command(BaseCommand):
    help = (
        "Manage users: `kindling user create --email E --password P [--admin] [--support]`, "
        "`kindling user support EMAIL [--off]`"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a user")
        create.add_argument("--email", required=True)
        create.add_argument("--password", required=True)
        create.add_argument("--name", default="")
        create.add_argument("--admin", action="store_true", help="make the user a platform administrator")
        create.add_argument("--support", action="store_true", help="mark the user as instance support staff")
        support = sub.add_parser(
            "support", help="mark a user as support staff: they may open projects that grant support access"
        )
        support.add_argument("email")
        support.add_argument("--off", action="store_true", help="remove the mark")

    def handle(self, *args, action, **opts):
        if action == "support":
            changed = User.objects.filter(email__iexact=opts["email"]).update(is_support=not opts["off"])
            if not changed:
                raise CommandError(f"no user with email {opts['email']}")
            self.stdout.write(f"{opts['email']} is {'no longer ' if opts['off'] else ''}support staff")
            return
        if action == "create":
            if len(opts["password"]) < 8:
                raise CommandError("the password must have at least 8 characters")
            try:
                factory = User.objects.create_superuser if opts["admin"] else User.objects.create_user
                user = factory(opts["email"], opts["password"], name=opts["name"], is_support=opts["support"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"created {user.email} (user number {user.user_number})")
