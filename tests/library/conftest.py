import json

import pytest


@pytest.fixture
def call(client, token_for):
    """call(user, "POST", "/jobs/1/run", {...}) -> response; JSON in and out."""

    def send(user, method, path, body=None, **params):
        headers = {"Authorization": f"Bearer {token_for(user)}"} if user else {}
        if method == "GET":
            return client.get(f"/api/v1{path}", params, headers=headers)
        data = json.dumps(body) if body is not None else None
        return client.generic(
            method, f"/api/v1{path}", data or "", content_type="application/json", headers=headers
        )

    return send
