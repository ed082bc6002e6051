from django.urls import reverse

from tests.conftest import make_project


def test_the_project_list_is_the_landing_page():
    assert reverse("project-list") == "/"


def test_an_anonymous_user_is_sent_to_login(client, db):
    response = client.get(reverse("project-list"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_it_lists_the_users_projects_only(client_for, project, alice, charlie):
    make_project(charlie, name="Charlie's Secret Project")

    html = client_for(alice).get("/").content.decode()

    assert "Health Ministry" in html
    assert "Secret Project" not in html


def test_a_collaborator_sees_the_project_and_their_role(client_for, project, bob):
    html = client_for(bob).get("/").content.decode()

    assert reverse("project-activity", args=[project.slug]) in html
    assert "collaborator" in html


def test_it_shows_each_projects_inbox_url(client_for, project, alice):
    html = client_for(alice).get("/").content.decode()

    assert f'value="{project.inbox_url}"' in html
    assert 'aria-label="Copy the inbox URL of Health Ministry"' in html


def test_a_user_without_projects_is_told_how_to_get_one(client_for, charlie):
    html = client_for(charlie).get("/").content.decode()

    assert "You are not a member of any project yet" in html


def test_the_account_menu_shows_the_email_and_a_logout_form(client_for, alice):
    html = client_for(alice).get("/").content.decode()

    assert 'class="bi bi-person-circle' in html
    assert 'aria-label="Account menu"' in html
    assert 'kindling-account-email">alice@example.com</span>' in html
    assert f'<form method="post" action="{reverse("logout")}">' in html


def test_the_project_list_has_no_project_menu(client_for, project, alice):
    html = client_for(alice).get("/").content.decode()

    assert 'id="app-menu"' not in html
