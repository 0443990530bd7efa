"""Shared set-up for the credit-line, margin-watch and webhook tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.factories.registry import AssetFactory, patent_details
from tests.factories.valuation import ValuationFactory

LINES = "/api/v1/credit-lines/"
RATES = {"patent": "0.25", "trademark": "0.30", "software": "0.20", "data": "0.30"}


def patent_with_valuation(firm, low: str, **details):  # type: ignore[no-untyped-def]
    """An approved patent of ``firm`` with an approved valuation whose conservative end is ``low``."""
    asset = AssetFactory(firm=firm, kind="patent", details=patent_details(**details))
    amount = Decimal(low)
    return ValuationFactory(asset=asset, low=amount, value=amount, high=amount * 2)


def issue(client, firm, assets, amount, *, key="line-1", product="IP", **extra):  # type: ignore[no-untyped-def]
    body = {"firm": firm.uscc, "product": product, "amount": amount, "assets": [a.pk for a in assets], **extra}
    return client.post(LINES, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def draw(client, line_id, amount, key):  # type: ignore[no-untyped-def]
    return client.post(f"{LINES}{line_id}/draws/", {"amount": amount}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def repay(client, line_id, amount, key):  # type: ignore[no-untyped-def]
    return client.post(f"{LINES}{line_id}/repayments/", {"amount": amount}, format="json", HTTP_IDEMPOTENCY_KEY=key)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP endpoint that records every POST and answers with ``status``."""

    url: str
    status: int = 200
    requests: list[Received] = field(default_factory=list)

    def verify(self, received: Received, secret: str) -> bool:
        parts = dict(p.split("=", 1) for p in received.headers["X-Softasset-Signature"].split(","))
        expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + received.body, hashlib.sha256).hexdigest()
        return parts["t"] == received.headers["X-Softasset-Timestamp"] and hmac.compare_digest(parts["v1"], expected)

    def json(self, index: int = -1) -> dict:  # type: ignore[type-arg]
        return json.loads(self.requests[index].body)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(headers=dict(self.headers.items()), body=body))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
