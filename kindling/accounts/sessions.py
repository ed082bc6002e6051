"""v1's session rule: a login lasts 24 hours, whatever the user does meanwhile, and then every open tab
shows the login page. Django's session age alone slides forward whenever the session is saved, so the
time of login is kept in the session and checked on every request.

Nothing typed is lost: a form posted after the session ended is kept in the new (anonymous) session,
and once the user has logged in again, the page it came from opens with the form filled in.
"""

from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.deprecation import MiddlewareMixin

LOGIN_AT = "kindling_login_at"
KEPT_FORM = "kindling_kept_form"
ENDED_COOKIE = "kindling_session_ended"  # names the one-time note of an ended session (see end())
NOTE_SECONDS = 10 * 60
LIFETIME = timedelta(hours=24)
SKIPPED_PREFIXES = ("/api/", "/inbox/", "/static/")


def start(request) -> None:
    """Called when the user logs in: the 24 hours count from now."""
    request.session[LOGIN_AT] = timezone.now().isoformat()


def ends_at(request) -> datetime | None:
    value = request.session.get(LOGIN_AT)
    return datetime.fromisoformat(value) + LIFETIME if value else None


def check_seconds() -> int:
    # How often an open tab asks whether its session still lives (the tests shorten it).
    return getattr(settings, "SESSION_CHECK_SECONDS", 30)


def page_of(request) -> str:
    """The page a posted form was on: the referring page of this site, else the address posted to."""
    referer = urlsplit(request.META.get("HTTP_REFERER", ""))
    if referer.netloc == request.get_host() and referer.path:
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return request.path


def keep_form(request) -> str:
    """Keep what was posted (not the CSRF token, not passwords) for the page it came from."""
    data = {
        key: request.POST.getlist(key)
        for key in request.POST
        if key != "csrfmiddlewaretoken" and "password" not in key
    }
    page = page_of(request)
    request.session[KEPT_FORM] = {"page": page, "action": request.path, "data": data}
    return page


def kept_form(request) -> dict | None:
    """The form kept for the page being shown, once: it is removed as it is handed over."""
    kept = request.session.get(KEPT_FORM) if hasattr(request, "session") else None
    if not kept or not request.user.is_authenticated:
        return None
    if kept["page"] != request.get_full_path():
        return None
    del request.session[KEPT_FORM]
    return kept


class SessionExpiryMiddleware(MiddlewareMixin):
    """After CsrfViewMiddleware in MIDDLEWARE: its process_view runs once the CSRF check has passed, so
    only forms of this site are ever kept. (MiddlewareMixin: sync and async capable, like Django's.)"""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(SKIPPED_PREFIXES) or not request.user.is_authenticated:
            return None
        end = ends_at(request)
        if end is None:
            start(request)  # a session from before this rule (or a test's force_login)
            return None
        if timezone.now() < end:
            return None
        posted = request.method == "POST"
        note = "Your session ended 24 hours after you logged in: log in again."
        if posted:
            note += " What you had typed in the form is kept and will be filled in again."
        if request.path == reverse("login"):
            end_session(request, None)
            return None  # the login page itself: show it, logged out
        note_key = end_session(request, note)
        page = keep_form(request) if posted else request.get_full_path()
        login = f"{reverse('login')}?{urlencode({'next': page})}"
        if request.headers.get("HX-Request"):
            response = JsonResponse({"error": note}, status=401)
            response["HX-Redirect"] = login
        elif request.headers.get("Accept", "").startswith("application/json"):
            response = JsonResponse({"error": note, "login": login}, status=401)
        else:
            response = HttpResponseRedirect(login)
        if note_key:
            response.set_cookie(
                ENDED_COOKIE,
                note_key,
                max_age=NOTE_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


def end_session(request, note: str | None) -> str | None:
    """Log the user out; when this request is the one that ended the session, keep `note` for the
    login page and return its key (for the ENDED_COOKIE), else None.

    Every open tab asks at the same interval, so several requests may find the same session over at
    once: each logs out, but only the one whose delete removed the session's row keeps the note, and
    only the first login page that claims it (claim_ended_note) shows it, however many tabs load the
    login page together. The note is kept in a row of the session table of its own: a row's delete is
    the one thing concurrent requests agree on (a cookie or a session's data is last-writer-wins).
    """
    key = request.session.session_key
    ended_here = bool(key) and Session.objects.filter(session_key=key).delete()[0] > 0
    logout(request)
    if not ended_here or not note:
        return None
    store = SessionStore()
    store["note"] = note
    store.set_expiry(NOTE_SECONDS)
    store.create()
    return store.session_key


def claim_ended_note(request) -> None:
    """On the login page: show the ended session's note if this request is the first to claim it.
    (The login view then drops the ENDED_COOKIE.)"""
    key = request.COOKIES.get(ENDED_COOKIE)
    if not key:
        return
    note = SessionStore(session_key=key).get("note")  # an expired or claimed row reads as empty
    if note and Session.objects.filter(session_key=key).delete()[0] > 0:
        messages.info(request, note)


def session_context(request) -> dict:
    """For base.html: how often a tab checks its session, and the form to fill in again, if any."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"session_check_seconds": check_seconds(), "kept_form": kept_form(request)}
