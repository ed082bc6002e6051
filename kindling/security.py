"""Security headers on every response: the Content-Security-Policy, and Strict-Transport-Security
when Kindling's public address is https.

The policy (settings.CONTENT_SECURITY_POLICY) allows scripts from Kindling's own origin only: no
inline script, no inline event handler, no eval. Every script of the portal and Job Studio is a
static file, and templates pass data as `json_script` blocks, which the browser reads as data and
never runs. Styles are held as strictly everywhere but on Job Studio's pages: the Monaco editor
writes <style> elements and style attributes as it lays out text and offers no nonce for them, so
those pages, and only those, allow inline styles (never inline scripts).
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

# The pages that carry the Monaco editor (url names of kindling/jobs/urls.py).
MONACO_PAGES = {"job-create", "job-edit"}


def policy_header(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


class SecurityHeadersMiddleware:
    # Sync and async alike, without MiddlewareMixin's hop through sync_to_async: adding two headers
    # must not queue each ASGI request behind the one thread that runs sync code.
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        policy = settings.CONTENT_SECURITY_POLICY
        self.policy = policy_header(policy)
        self.monaco_policy = policy_header({**policy, "style-src": [*policy["style-src"], "'unsafe-inline'"]})
        self.hsts = settings.HSTS_HEADER

    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        return self.add_headers(request, self.get_response(request))

    async def __acall__(self, request):
        return self.add_headers(request, await self.get_response(request))

    def add_headers(self, request, response):
        match = request.resolver_match
        monaco = match is not None and match.url_name in MONACO_PAGES
        response.headers.setdefault("Content-Security-Policy", self.monaco_policy if monaco else self.policy)
        # Django's SecurityMiddleware sends HSTS only on requests it sees as https, which behind a TLS
        # proxy depends on forwarded headers; a browser ignores the header on plain http anyway.
        if self.hsts:
            response.headers.setdefault("Strict-Transport-Security", self.hsts)
        return response
