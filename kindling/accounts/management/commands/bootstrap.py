import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from kindling.accounts.models import User


class Command(BaseCommand):
    help = "Create the first administrator if there is no user yet, and say how to log in."

    def handle(self, *args, **opts):
        url = settings.BASE_URL
        if User.objects.exists():
            self.stdout.write(f"Kindling portal: {url}/  (log in with your account)")
            return
        email = os.environ.get("KINDLING_ADMIN_EMAIL") or "admin@example.com"
        password = os.environ.get("KINDLING_ADMIN_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        User.objects.create_superuser(email, password, name="Administrator")
        self.stdout.write(f"Kindling portal: {url}/")
        if generated:
            # Printed this once only; it is not stored anywhere in clear.
            self.stdout.write(f"Log in as {email} with password {password}  (shown once: write it down)")
        else:
            self.stdout.write(f"Log in as {email} with the password from KINDLING_ADMIN_PASSWORD")
