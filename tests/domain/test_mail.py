"""Mail leaves through a real SMTP server when KINDLING_EMAIL_HOST is set: a small one runs here on
127.0.0.1 and keeps what it is sent."""

import email
import os
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kindling.accounts import recovery

ROOT = Path(__file__).resolve().parents[2]


class SMTPSession(socketserver.StreamRequestHandler):
    """Enough of RFC 5321 for a client that sends mail: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self.reply("220 127.0.0.1 test SMTP server")
        sender, recipients = None, []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(":")[0].split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 127.0.0.1")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = []
                while (part := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data.append(part[1:] if part.startswith(b"..") else part)
                self.server.received.append((sender, recipients, email.message_from_bytes(b"".join(data))))
                self.reply("250 OK: queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPSession)
    server.daemon_threads = True
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_kindling_sends_mail_to_the_smtp_server_its_environment_names(smtp_server, tmp_path):
    port = smtp_server.server_address[1]
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.mail import send_mail\n"
        "print(settings.EMAIL_BACKEND, settings.EMAIL_DELIVERY_BACKEND)\n"
        "send_mail('Hello', 'Kindling can send mail.', None, ['ops@example.com'])\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KINDLING_", "DJANGO_"))},
        "DJANGO_SETTINGS_MODULE": "kindling.settings",
        "KINDLING_DATA_DIR": str(tmp_path),
        "KINDLING_EMAIL_HOST": "127.0.0.1",
        "KINDLING_EMAIL_PORT": str(port),
        "KINDLING_FROM_EMAIL": "kindling@example.org",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    # Through the backend that counts emails for /metrics, which hands them to SMTP.
    backends = ["kindling.ops.mail.CountingBackend", "django.core.mail.backends.smtp.EmailBackend"]
    assert done.stdout.split() == backends
    [(sender, recipients, message)] = smtp_server.received
    assert (sender, recipients) == ("kindling@example.org", ["ops@example.com"])
    assert message["Subject"] == "Hello" and message.get_payload().strip() == "Kindling can send mail."


def test_a_recovery_token_goes_out_by_smtp(smtp_server, settings, alice):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_server.server_address

    assert recovery.send_recovery("alice@example.com")

    [(_sender, recipients, message)] = smtp_server.received
    assert recipients == ["alice@example.com"]
    token = next(line.strip() for line in message.get_payload().splitlines() if line.startswith("    "))
    assert recovery.user_for_token(token) == alice
