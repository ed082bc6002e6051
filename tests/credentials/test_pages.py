"""The portal's Credentials and My Credentials pages, a credential's page, and Account Settings."""

import pytest
from django.urls import reverse

from kindling.credentials.models import Credential
from kindling.credentials.schemas import MASK
from tests.conftest import make_credential, make_job, make_project
from tests.credentials.conftest import EXAMPLE_ADAPTOR

VALID = {
    "type": EXAMPLE_ADAPTOR,
    "name": "new one",
    "body-username": "ada",
    "body-password": "pw-123456",
    "body-baseUrl": "https://example.org",
}


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_project_menu_links_to_both_credential_pages(client_for, alice, project):
    html = page(client_for(alice), reverse("project-activity", args=[project.slug]))

    assert f'href="/projects/{project.slug}/credentials"' in html
    assert f'href="/projects/{project.slug}/my-credentials"' in html


def test_credentials_lists_those_shared_with_the_project(client_for, alice, bob, project, credential):
    make_credential(alice, name="not-shared-here")
    make_credential(bob, name="bobs-shared", projects=[project])

    html = page(client_for(bob), reverse("project-credentials", args=[project.slug]))

    assert "dhis2-prod" in html and "bobs-shared" in html
    assert "not-shared-here" not in html


def test_my_credentials_lists_my_own_also_those_shared_nowhere(client_for, alice, bob, project, credential):
    make_credential(alice, name="shared-nowhere")
    make_credential(bob, name="bobs-shared", projects=[project])

    html = page(client_for(alice), reverse("project-my-credentials", args=[project.slug]))

    assert "dhis2-prod" in html and "shared-nowhere" in html
    assert "bobs-shared" not in html


def test_search_filters_by_name(client_for, alice, project, credential):
    make_credential(alice, name="openmrs-staging", projects=[project])
    url = reverse("project-credentials", args=[project.slug])

    html = page(client_for(alice), url + "?q=MRS")

    assert "openmrs-staging" in html and "dhis2-prod" not in html
    assert 'id="credential-search"' in html and 'value="MRS"' in html


def test_the_owner_card_has_edit_others_get_view(client_for, alice, bob, project, credential):
    url = reverse("project-credentials", args=[project.slug])

    assert f'aria-label="Edit {credential.name}"' in page(client_for(alice), url)
    bobs = page(client_for(bob), url)
    assert f'aria-label="View {credential.name}"' in bobs and "Edit dhis2-prod" not in bobs


def test_the_plus_button_first_asks_for_the_type(client_for, alice, project, adaptors):
    html = page(client_for(alice), reverse("project-credentials", args=[project.slug]))

    assert 'aria-label="New credential"' in html
    assert '<select class="form-select" id="credential-type" name="type"' in html
    assert f'<option value="{EXAMPLE_ADAPTOR}">' in html and '<option value="raw">Raw JSON</option>' in html
    chooser = page(client_for(alice), reverse("project-credential-new", args=[project.slug]))
    assert "Type of credential" in chooser


def test_an_unknown_type_asks_again(client_for, alice, adaptors):
    response = client_for(alice).get(reverse("credential-new") + "?type=@openfn/language-nope")

    assert response.status_code == 400
    assert "There is no credential type" in response.content.decode()


def test_a_credential_created_in_a_project_is_owned_by_me_and_shared_with_it(
    client_for, alice, project, adaptors
):
    response = client_for(alice).post(reverse("project-credential-new", args=[project.slug]), VALID)

    credential = Credential.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("project-credential-detail", args=[project.slug, credential.pk])
    assert (credential.name, credential.schema, credential.owner) == ("new one", EXAMPLE_ADAPTOR, alice)
    assert credential.body == {"username": "ada", "password": "pw-123456", "baseUrl": "https://example.org"}
    assert list(credential.projects.all()) == [project]


def test_a_credential_created_outside_a_project_is_shared_with_none(client_for, alice, adaptors):
    client_for(alice).post(reverse("credential-new"), VALID)

    assert not Credential.objects.get().projects.exists()


def test_an_invalid_form_says_which_field_and_saves_nothing(client_for, alice, adaptors):
    response = client_for(alice).post(reverse("credential-new"), {**VALID, "body-baseUrl": "no url"})

    assert response.status_code == 400
    assert "Base URL: &#x27;no url&#x27; is not a &#x27;uri&#x27;" in response.content.decode()
    assert not Credential.objects.exists()


def test_the_owner_edits_and_the_mask_keeps_the_secret(client_for, alice, credential):
    url = reverse("credential-detail", args=[credential.pk])
    html = page(client_for(alice), url)
    assert "hunter2" not in html and f'value="{MASK}"' in html and 'value="ada@example.org"' in html

    response = client_for(alice).post(
        url,
        {
            "name": "renamed",
            "body-username": "grace",
            "body-password": MASK,
            "body-baseUrl": "https://example.net",
        },
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.name == "renamed"
    assert credential.body == {
        "username": "grace",
        "password": "hunter2-secret",
        "baseUrl": "https://example.net",
    }


def test_a_member_of_a_shared_project_sees_no_values(client_for, bob, project, credential):
    html = page(client_for(bob), reverse("project-credential-detail", args=[project.slug, credential.pk]))

    assert "dhis2-prod" in html and "alice@example.com" in html and "example" in html
    assert "Username, Password, Base URL" in html  # which fields are set
    assert "ada@example.org" not in html and "hunter2" not in html and MASK not in html
    assert "<form" not in html.split('id="content"')[1]  # no edit, access, transfer or delete form


def test_manage_access_lists_my_projects_and_grants_and_revokes(
    client_for, alice, project, other_project, credential
):
    url = reverse("credential-detail", args=[credential.pk])
    html = page(client_for(alice), url)
    assert f'value="{project.pk}"' in html and f'value="{other_project.pk}"' in html

    client_for(alice).post(
        reverse("credential-access", args=[credential.pk]), {"projects": [other_project.pk]}
    )

    assert list(credential.projects.all()) == [other_project]


def test_access_cannot_be_granted_to_a_project_i_am_not_in(client_for, alice, charlie, credential):
    theirs = make_project(charlie, name="Charlie's")

    client_for(alice).post(reverse("credential-access", args=[credential.pk]), {"projects": [theirs.pk]})

    assert not credential.projects.filter(pk=theirs.pk).exists()


def test_manage_access_says_how_many_jobs_use_it(client_for, alice, project, credential):
    make_job(project, "a", credential=credential)
    make_job(project, "b", credential=credential)

    assert "(used by 2 jobs)" in page(client_for(alice), reverse("credential-detail", args=[credential.pk]))


def transfer(client, credential, email, number):
    return client.post(
        reverse("credential-transfer", args=[credential.pk]), {"email": email, "user_number": number}
    )


def test_transfer_gives_the_credential_to_the_recipient_and_i_lose_it_at_once(
    client_for, alice, charlie, project, credential
):
    client = client_for(alice)

    response = transfer(client, credential, "Charlie@Example.com", charlie.user_number)

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.owner == charlie
    assert list(credential.projects.all()) == [project]  # the shared project keeps using it
    assert client.get(reverse("credential-detail", args=[credential.pk])).status_code == 200  # as a member
    assert client.post(reverse("credential-detail", args=[credential.pk]), {"name": "x"}).status_code == 403
    assert "hunter2" not in page(client, reverse("credential-detail", args=[credential.pk]))


def test_the_transfer_form_has_a_confirm_dialog(client_for, alice, credential):
    html = page(client_for(alice), reverse("credential-detail", args=[credential.pk]))

    assert 'data-bs-target="#confirm-transfer"' in html
    assert 'id="confirm-transfer"' in html and 'form="transfer-form"' in html


@pytest.mark.parametrize(
    "email, number, problem",
    [
        ("nobody@example.com", None, "No user has this email and user number"),
        ("charlie@example.com", "wrong", "No user has this email and user number"),
        ("alice@example.com", "self", "You already own this credential"),
    ],
    ids=["unknown-email", "wrong-user-number", "to-self"],
)
def test_a_refused_transfer_says_why_and_changes_nothing(
    client_for, alice, charlie, credential, email, number, problem
):
    number = {
        None: charlie.user_number,
        "wrong": charlie.user_number + 1 if charlie.user_number < 999_999 else 100_000,
        "self": alice.user_number,
    }[number]

    response = transfer(client_for(alice), credential, email, number)

    assert response.status_code == 400
    assert problem in response.content.decode()
    credential.refresh_from_db()
    assert credential.owner == alice


def test_delete_is_immediate(client_for, alice, project, credential):
    html = page(client_for(alice), reverse("credential-detail", args=[credential.pk]))
    assert 'aria-label="Delete credential"' in html and 'id="delete-credential"' in html

    response = client_for(alice).post(
        reverse("project-credential-delete", args=[project.slug, credential.pk])
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("project-my-credentials", args=[project.slug])
    assert not Credential.objects.exists()
    assert client_for(alice).get(reverse("credential-detail", args=[credential.pk])).status_code == 404


def test_account_settings_show_email_and_user_number_and_edit_the_name(client_for, alice):
    client = client_for(alice)
    html = page(client, reverse("account-settings"))
    assert "alice@example.com" in html and str(alice.user_number) in html

    response = client.post(reverse("account-settings"), {"name": "Alice Liddell"})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.name == "Alice Liddell"


def test_the_account_menu_links_to_account_settings(client_for, alice):
    assert f'href="{reverse("account-settings")}"' in page(client_for(alice), reverse("project-list"))


def test_account_settings_need_a_login(client):
    response = client.get(reverse("account-settings"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
