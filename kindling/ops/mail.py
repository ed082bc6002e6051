"""The email backend that counts: every email Kindling sends (cron warnings, invitations, exports,
password recovery, plan notices) goes through Django's backend, so counting here covers them all."""

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from kindling.ops.metrics import emails_sent


class CountingBackend(BaseEmailBackend):
    """Delivers through settings.EMAIL_DELIVERY_BACKEND (SMTP, or the console) and counts the result."""

    def __init__(self, fail_silently=False, **kwargs):
        super().__init__(fail_silently=fail_silently)
        self.delivery = get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=fail_silently, **kwargs)

    def open(self):
        return self.delivery.open()

    def close(self):
        return self.delivery.close()

    def send_messages(self, email_messages):
        email_messages = list(email_messages)
        try:
            sent = self.delivery.send_messages(email_messages) or 0
        except Exception:
            emails_sent(0, len(email_messages))
            raise
        emails_sent(sent, len(email_messages) - sent)
        return sent
