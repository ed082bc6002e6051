"""A local stand-in for the parts of Stripe that Kindling uses, on 127.0.0.1.

It answers the REST endpoints the `stripe` library calls (customers, setup intents, payment
methods) and serves, at /v3/, a small script with the Stripe.js calls the card form makes
(`Stripe(key).elements().create("card").mount(...)`, `confirmCardSetup(...)`): the form's card
fields are plain inputs, and confirming posts the card to this server, never to Kindling, as
Stripe Elements does. Test cards: 4242 4242 4242 4242 (visa) succeeds, 4000 0000 0000 0002 is declined.
"""

import itertools
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.localhttp import JsonHandler

DECLINED = "4000000000000002"
BRANDS = {"4": "visa", "5": "mastercard", "3": "amex"}

STRIPE_JS = r"""
(() => {
  const origin = new URL(document.currentScript.src).origin;
  window.Stripe = function (publishableKey) {
    let fields = null;
    return {
      elements() {
        return {
          create(kind) {
            return {
              mount(target) {
                const element = typeof target === "string" ? document.querySelector(target) : target;
                element.innerHTML =
                  '<input aria-label="Card number" name="cardnumber" style="width:55%;border:0">' +
                  '<input aria-label="MM / YY" name="exp-date" style="width:20%;border:0">' +
                  '<input aria-label="CVC" name="cvc" style="width:20%;border:0">';
                fields = element;
              },
              on() {},
            };
          },
        };
      },
      async confirmCardSetup(clientSecret, data) {
        const id = clientSecret.split("_secret_")[0];
        const body = new URLSearchParams({
          client_secret: clientSecret, key: publishableKey,
          number: fields.querySelector("[name=cardnumber]").value.replace(/\s/g, ""),
        });
        const response = await fetch(`${origin}/v1/setup_intents/${id}/confirm`, { method: "POST", body });
        const answer = await response.json();
        return response.ok ? { setupIntent: answer } : { error: answer.error };
      },
    };
  };
})();
"""


class StripeStandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.ids = itertools.count(1)
        self.customers, self.intents, self.methods = {}, {}, {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, params) the library sent
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> "StripeStandIn":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):06d}"


class Handler(JsonHandler):
    server: StripeStandIn

    def send_json(self, status: int, payload: dict, headers=None) -> None:
        # The card form posts from the portal's origin.
        super().send_json(status, payload, {"Access-Control-Allow-Origin": "*", **(headers or {})})

    def params(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        fields = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        return {key: values[-1] for key, values in fields.items()}

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.end_headers()

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/v3/":
            content = STRIPE_JS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/javascript")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
            return
        self.server.requests.append(("GET", path, {}))
        parts = path.strip("/").split("/")
        with self.server.lock:
            store = {
                "setup_intents": self.server.intents,
                "payment_methods": self.server.methods,
                "customers": self.server.customers,
            }.get(parts[1] if len(parts) == 3 else "")
            found = store.get(parts[2]) if store is not None else None
        if found is None:
            return self.send_json(
                404, {"error": {"type": "invalid_request_error", "message": f"No such object: {path}"}}
            )
        self.send_json(200, found)

    def do_POST(self):
        path = urlparse(self.path).path
        params = self.params()
        if not path.endswith("/confirm"):
            self.server.requests.append(("POST", path, params))
        parts = path.strip("/").split("/")
        server = self.server
        with server.lock:
            if parts == ["v1", "customers"]:
                customer = {"id": server.new_id("cus"), "object": "customer", "email": params.get("email")}
                server.customers[customer["id"]] = customer
                return self.send_json(200, customer)
            if parts[:2] == ["v1", "customers"] and len(parts) == 3 and parts[2] in server.customers:
                server.customers[parts[2]]["default_payment_method"] = params.get(
                    "invoice_settings[default_payment_method]"
                )
                return self.send_json(200, server.customers[parts[2]])
            if parts == ["v1", "setup_intents"]:
                intent_id = server.new_id("seti")
                intent = {
                    "id": intent_id,
                    "object": "setup_intent",
                    "customer": params.get("customer"),
                    "client_secret": f"{intent_id}_secret_standin",
                    "status": "requires_payment_method",
                    "payment_method": None,
                }
                server.intents[intent_id] = intent
                return self.send_json(200, intent)
            if len(parts) == 4 and parts[1] == "setup_intents" and parts[3] == "confirm":
                return self.confirm(parts[2], params)
        self.send_json(
            404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {path}"}}
        )

    def confirm(self, intent_id: str, params: dict) -> None:
        server = self.server
        intent = server.intents.get(intent_id)
        if intent is None or params.get("client_secret") != intent["client_secret"]:
            return self.send_json(
                400, {"error": {"type": "invalid_request_error", "message": "No such setup intent."}}
            )
        number = params.get("number", "")
        if number == DECLINED:
            return self.send_json(
                402,
                {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "message": "Your card was declined.",
                    }
                },
            )
        if len(number) < 13 or not number.isdigit():
            return self.send_json(
                400,
                {
                    "error": {
                        "type": "card_error",
                        "code": "incorrect_number",
                        "message": "Your card number is incomplete.",
                    }
                },
            )
        method = {
            "id": server.new_id("pm"),
            "object": "payment_method",
            "type": "card",
            "card": {"brand": BRANDS.get(number[0], "unknown"), "last4": number[-4:]},
        }
        server.methods[method["id"]] = method
        intent.update(status="succeeded", payment_method=method["id"])
        self.send_json(200, intent)
