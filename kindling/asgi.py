import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kindling.settings")
django_application = get_asgi_application()

from kindling.inbox.asgi import with_fast_inbox  # noqa: E402 - needs the apps loaded first

application = with_fast_inbox(django_application)
