from django.core.management.base import BaseCommand, CommandError

from kindling.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Manage personal API tokens: `kindling token create --email E` prints a new token"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token and print it (only the token, on stdout)")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="cli")

    def handle(self, *args, action, **opts):
        user = User.objects.filter(email__iexact=opts["email"]).first()
        if user is None:
            raise CommandError(f"no user with email {opts['email']}")
        self.stdout.write(ApiToken.issue(user, opts["name"]))
