"""A local stand-in for the parts of GitHub that Kindling uses, on 127.0.0.1: the OAuth web flow
(authorize, access_token), the API's /user, and git over smart HTTP for owner/name repositories
(served by `git http-backend`), which only answers requests carrying a token it issued."""

import base64
import os
import subprocess
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

from tests.localhttp import JsonHandler

CLIENT_ID = "Iv1.standin"
CLIENT_SECRET = "standin-secret"


class GitHubStandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, login="alice-gh"):
        super().__init__(("127.0.0.1", 0), Handler)
        self.root, self.login = root, login
        self.codes: dict[str, str] = {}  # code -> token
        self.tokens: set[str] = set()
        self.git_requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def issue_token(self) -> str:
        token = f"gho_{len(self.tokens) + 1:036d}"
        self.tokens.add(token)
        return token


class Handler(JsonHandler):
    server: GitHubStandIn

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        parts = urlparse(self.path)
        if parts.path == "/login/oauth/authorize":
            # The user grants access at once: back to the app with a code.
            query = parse_qs(parts.query)
            code = f"code-{len(self.server.codes) + 1}"
            self.server.codes[code] = self.server.issue_token()
            target = query["redirect_uri"][0] + "?" + urlencode({"code": code, "state": query["state"][0]})
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
        elif parts.path == "/api/v3/user":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.server.tokens:
                self.send_json(401, {"message": "Bad credentials"})
            else:
                self.send_json(200, {"login": self.server.login, "id": 1})
        elif ".git/" in parts.path:
            self.git()
        else:
            self.send_json(404, {"message": "Not Found"})

    def do_POST(self):
        parts = urlparse(self.path)
        if parts.path == "/login/oauth/access_token":
            form = parse_qs(self.body().decode())
            ok = form.get("client_id") == [CLIENT_ID] and form.get("client_secret") == [CLIENT_SECRET]
            token = self.server.codes.pop(form.get("code", [""])[0], None) if ok else None
            if token is None:
                self.send_json(
                    200, {"error": "bad_verification_code", "error_description": "The code is wrong."}
                )
            else:
                self.send_json(200, {"access_token": token, "token_type": "bearer", "scope": "repo"})
        elif ".git/" in parts.path:
            self.git()
        else:
            self.send_json(404, {"message": "Not Found"})

    def authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user == "x-access-token" and password in self.server.tokens

    def git(self):
        parts = urlparse(self.path)
        self.server.git_requests.append(parts.path)
        if not self.authorised():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "x-access-token",  # lets http-backend accept pushes
            "REQUEST_METHOD": self.command,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_HTTP_MAX_REQUEST_BUFFER": "10M",
        }
        data = self.body() if self.command == "POST" else b""
        env["CONTENT_LENGTH"] = str(len(data))
        done = subprocess.run(["git", "http-backend"], input=data, capture_output=True, env=env)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start(root: Path) -> GitHubStandIn:
    server = GitHubStandIn(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
