"""Account Settings: theme, change email with a confirmation link, delete account; and v1's session
rule (24 hours from login, whatever the activity; a form posted after that keeps its input)."""

import re
from datetime import timedelta
from http.cookies import SimpleCookie

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kindling.accounts import sessions
from kindling.accounts.models import User
from kindling.credentials.models import Credential
from kindling.projects.models import Membership, Project
from tests.conftest import PASSWORD, make_credential, make_job, make_project


def link_in(email) -> str:
    return re.search(r"http://\S+", email.body).group(0)


def test_the_theme_is_saved_and_the_portal_uses_it(client_for, alice):
    client = client_for(alice)

    client.post(reverse("account-settings"), {"name": "Alice", "theme": "dark"})

    alice.refresh_from_db()
    assert alice.preferences["theme"] == "dark"
    assert '<html lang="en" data-bs-theme="dark">' in client.get("/").content.decode()


def test_changing_email_sends_a_link_to_the_new_address_and_changes_nothing_yet(client_for, alice):
    client = client_for(alice)

    response = client.post(reverse("account-email"), {"new_email": "Alice@New.example", "password": PASSWORD})

    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"
    [email] = mail.outbox
    assert email.to == ["alice@new.example"]
    assert "/account/email/confirm?token=" in email.body


def test_opening_the_link_changes_the_email_and_it_works_once(client_for, alice):
    client = client_for(alice)
    client.post(reverse("account-email"), {"new_email": "alice@new.example", "password": PASSWORD})
    link = link_in(mail.outbox[0])

    client.get(link)
    again = client.get(link, follow=True)

    assert User.objects.get(pk=alice.pk).email == "alice@new.example"
    assert "no longer works" in again.content.decode()


def test_the_link_does_nothing_for_another_account(client_for, alice, bob):
    client_for(alice).post(reverse("account-email"), {"new_email": "alice@new.example", "password": PASSWORD})

    response = client_for(bob).get(link_in(mail.outbox[0]), follow=True)

    assert "for another account" in response.content.decode()
    assert User.objects.get(pk=alice.pk).email == "alice@example.com"
    assert User.objects.get(pk=bob.pk).email == "bob@example.com"


def test_changing_to_a_taken_email_or_with_a_wrong_password_is_refused(client_for, alice, bob):
    client = client_for(alice)

    taken = client.post(reverse("account-email"), {"new_email": "bob@example.com", "password": PASSWORD})
    wrong = client.post(reverse("account-email"), {"new_email": "a@new.example", "password": "nope"})

    assert taken.status_code == 400 and "Another account uses that email" in taken.content.decode()
    assert wrong.status_code == 400 and "not your current password" in wrong.content.decode()
    assert 'value="a@new.example"' in wrong.content.decode()  # what was typed stays
    assert mail.outbox == []


def test_deleting_is_refused_while_the_only_admin_of_a_project_with_other_members(client_for, project, alice):
    client = client_for(alice)

    page = client.get(reverse("account-settings")).content.decode()
    response = client.post(reverse("account-delete"), {"password": PASSWORD})

    assert "You are the only administrator of Health Ministry" in page
    assert response.status_code == 400
    assert "only administrator of Health Ministry" in response.content.decode()
    assert User.objects.filter(pk=alice.pk).exists()


def test_with_another_administrator_the_account_is_deleted_and_the_project_stays(
    client_for, project, alice, bob
):
    Membership.objects.filter(project=project, user=bob).update(role=Membership.Role.ADMIN)
    client = client_for(alice)

    response = client.post(reverse("account-delete"), {"password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not User.objects.filter(pk=alice.pk).exists()
    assert Project.objects.filter(pk=project.pk).exists()
    assert client.get("/").status_code == 302  # logged out


def test_deleting_takes_the_projects_only_the_user_is_in_and_their_credentials(client_for, charlie):
    own = make_project(charlie, name="Solo")
    credential = make_credential(charlie, projects=[own])
    client = client_for(charlie)

    client.post(reverse("account-delete"), {"password": PASSWORD})

    assert not Project.objects.filter(pk=own.pk).exists()
    assert not Credential.objects.filter(pk=credential.pk).exists()
    assert not User.objects.filter(email="charlie@example.com").exists()


def test_a_credential_still_named_by_a_job_keeps_an_anonymous_owner(client_for, project, charlie):
    credential = make_credential(charlie, projects=[project])
    make_job(project, credential=credential)

    client_for(charlie).post(reverse("account-delete"), {"password": PASSWORD})

    credential.refresh_from_db()
    owner = User.objects.get(pk=charlie.pk)
    assert credential.is_deleted and credential.body_encrypted == ""
    assert (owner.is_active, owner.email, owner.has_usable_password()) == (
        False,
        f"deleted-{owner.pk}@deleted.invalid",
        False,
    )


def test_a_wrong_password_does_not_delete(client_for, charlie):
    response = client_for(charlie).post(reverse("account-delete"), {"password": "nope"})

    assert response.status_code == 400
    assert User.objects.filter(pk=charlie.pk).exists()


def log_in(client, email="alice@example.com", next_page=None):
    fields = {"username": email, "password": PASSWORD}
    return client.post(reverse("login"), {**fields, "next": next_page} if next_page else fields)


def age_session(client, hours):
    session = client.session
    session[sessions.LOGIN_AT] = (timezone.now() - timedelta(hours=hours)).isoformat()
    session.save()


def test_a_session_ends_24_hours_after_login_even_if_used_meanwhile(client, alice):
    log_in(client)
    age_session(client, 23)
    assert client.get("/").status_code == 200  # activity does not move the end

    age_session(client, 24)
    response = client.get("/projects/x/activity?q=1")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=%2Fprojects%2Fx%2Factivity%3Fq%3D1"
    assert "_auth_user_id" not in client.session


def test_the_session_check_answers_401_once_the_session_has_ended(client, alice):
    log_in(client)
    alive = client.get(reverse("account-session"), headers={"accept": "application/json"})
    age_session(client, 25)
    ended = client.get(reverse("account-session"), headers={"accept": "application/json"})

    assert alive.status_code == 200 and 0 < alive.json()["seconds_left"] <= 24 * 3600
    assert ended.status_code == 401


NOTE = "Your session ended 24 hours after you logged in"


def test_the_login_page_says_why_the_session_ended_once_whatever_the_number_of_tabs(client, alice):
    log_in(client)
    age_session(client, 25)
    ended = client.get(reverse("account-session"), headers={"accept": "application/json"})
    other_tab = Client()
    other_tab.cookies = SimpleCookie({name: morsel.value for name, morsel in client.cookies.items()})

    first = client.get(reverse("login")).content.decode()
    second = other_tab.get(
        reverse("login")
    ).content.decode()  # the same cookies, sent before `first` answered

    assert ended.status_code == 401 and sessions.ENDED_COOKIE in ended.cookies
    assert NOTE in first and NOTE not in second
    assert NOTE not in client.get(reverse("login")).content.decode()


def test_only_the_request_that_ends_a_session_keeps_the_note(alice, rf):
    # Two tabs' checks arrive together: both load the session while it still holds the login.
    store = SessionStore()
    store.update({"_auth_user_id": str(alice.pk), sessions.LOGIN_AT: timezone.now().isoformat()})
    store.create()
    requests = []
    for _ in range(2):
        request = rf.get("/")
        request.session, request.user = SessionStore(session_key=store.session_key), alice
        request.session.load()
        requests.append(request)

    keys = [sessions.end_session(request, "ended") for request in requests]

    assert keys[0] and keys[1] is None
    assert not Session.objects.filter(session_key=store.session_key).exists()
    assert all(not request.user.is_authenticated for request in requests)


def test_a_form_posted_after_the_session_ended_is_filled_in_again_after_login(client, alice):
    log_in(client)
    age_session(client, 25)
    settings_url = reverse("account-settings")

    posted = client.post(
        settings_url,
        {"name": "Alice Typed This", "theme": "dark"},
        headers={"referer": f"http://testserver{settings_url}"},
    )
    back = log_in(client, next_page=settings_url)  # the login page's form carries ?next= along
    page = client.get(back["Location"]).content.decode()

    assert posted["Location"] == f"{reverse('login')}?next=%2Faccount"
    assert back["Location"] == settings_url
    assert User.objects.get(pk=alice.pk).name == "Alice"  # nothing was saved while logged out
    assert '"name": ["Alice Typed This"]' in page and 'id="kindling-kept-form"' in page
    assert 'id="kindling-kept-form"' not in client.get(settings_url).content.decode()  # once only


def test_passwords_are_never_kept(client, alice):
    log_in(client)
    age_session(client, 25)

    client.post(reverse("account-email"), {"new_email": "x@new.example", "password": PASSWORD})

    kept = client.session[sessions.KEPT_FORM]
    assert kept["data"] == {"new_email": ["x@new.example"]}
