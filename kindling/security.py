"""Security headers on every response: the Content-Security-Policy, and Strict-Transport-Security
when Kindling's public address is https.

The policy (settings.CONTENT_SECURITY_POLICY) allows scripts from Kindling's own origin only: no
inline script, no inline event handler, no eval. Every script of the portal and Job Studio is a
static file, and templates pass data as `json_script` blocks, which the browser reads as data and
never runs. Styles are held as strictly everywhere but on Job Studio's pages: the Monaco editor
writes <style> elements and style attributes as it lays out text and offers no nonce for them, so
those pages, and only those, allow inline styles (never inline scripts).
"""

import functools
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

# The pages whose libraries write style attributes and offer no nonce for them: the Monaco editor
# (kindling/jobs/urls.py; the Job Library's job page colours its code with it, as Job Studio does) and
# Stripe Elements' card form (kindling/plans/urls.py).
MONACO_PAGES = {"job-create", "job-edit", "library-job", "billing-card"}


def policy_header(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


def _origin(url: str) -> str:
    return "{0.scheme}://{0.netloc}".format(urlsplit(url))


@functools.cache
def policies(provider: str, stripe_js: str, stripe_api: str) -> tuple[str, str]:
    """The policy of every page and of Job Studio's. With Stripe billing, Stripe Elements' script and
    card frames come from Stripe.js's origin and talk to Stripe's API."""
    policy = {name: list(values) for name, values in settings.CONTENT_SECURITY_POLICY.items()}
    if provider == "stripe":
        js, api = _origin(stripe_js), _origin(stripe_api or "https://api.stripe.com")
        policy["script-src"].append(js)
        policy["frame-src"] = ["'self'", js, "https://hooks.stripe.com"]
        policy["connect-src"] += [js, api]
    studio = {**policy, "style-src": [*policy["style-src"], "'unsafe-inline'"]}
    return policy_header(policy), policy_header(studio)


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
        page, studio = policies(settings.BILLING_PROVIDER, settings.STRIPE_JS_URL, settings.STRIPE_API_BASE)
        response.headers.setdefault("Content-Security-Policy", studio if monaco else page)
        # Django's SecurityMiddleware sends HSTS only on requests it sees as https, which behind a TLS
        # proxy depends on forwarded headers; a browser ignores the header on plain http anyway.
        if self.hsts:
            response.headers.setdefault("Strict-Transport-Security", self.hsts)
        return response
