from django.core.management.base import BaseCommand, CommandError

from kindling.accounts import tokens
from kindling.accounts.models import User


def when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"


class Command(BaseCommand):
    help = (
        "Manage personal API tokens: `kindling token create --email E [--name N] [--days D]` prints a new "
        "token; `kindling token list --email E` lists them; `kindling token revoke --email E ID` revokes one"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token and print it (only the token, on stdout)")
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="cli")
        create.add_argument("--days", type=int, help="expire after this many days (default: never)")
        listing = sub.add_parser("list", help="list a user's tokens: id, name, prefix, dates")
        listing.add_argument("--email", required=True)
        revoke = sub.add_parser("revoke", help="revoke (delete) one of a user's tokens by its id")
        revoke.add_argument("--email", required=True)
        revoke.add_argument("id", type=int)

    def handle(self, *args, action, **opts):
        user = User.objects.filter(email__iexact=opts["email"]).first()
        if user is None:
            raise CommandError(f"no user with email {opts['email']}")
        try:
            if action == "create":
                self.stdout.write(tokens.create_token(user, opts["name"], opts["days"])[1])
            elif action == "list":
                self.list(user)
            else:
                token = tokens.revoke_token(user, opts["id"])
                self.stdout.write(f"revoked token {opts['id']} ({token.name}, {token.prefix}...)")
        except tokens.TokenError as exc:
            raise CommandError(str(exc)) from None

    def list(self, user):
        rows = [("ID", "NAME", "TOKEN", "CREATED", "LAST USED", "EXPIRES")]
        for token in tokens.list_tokens(user):
            expires = when(token.expires_at) + (" (expired)" if token.expired else "")
            created, used = when(token.created_at), when(token.last_used_at)
            rows.append((str(token.pk), token.name, token.prefix + "...", created, used, expires))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
