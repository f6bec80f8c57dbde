"""A minimal core-banking backend for the Node payee (SDK Backend API), as cheap as possible.

``python -m benchmarks.backend --port 4290`` serves, with keep-alive:

- ``GET /parties/{Type}/{ID}``: the party, named after its id;
- ``POST /quoterequests``: terms without fees (``transferAmount`` = the amount asked for);
- ``POST /transfers``: accepted, ``homeTransactionId`` = the transfer id;
- anything else: 404.

It is an asyncio protocol over ``httptools``' parser on uvloop: no framework, so that its CPU
per transfer is small next to the adapters' and the comparison measures the adapters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any, cast

import httptools

JSON_HEAD = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}


def answer(method: bytes, url: bytes, body: bytes) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for one request."""
    parts = url.split(b"?", 1)[0].strip(b"/").split(b"/")
    if method == b"GET" and len(parts) >= 3 and parts[0] == b"parties":
        id_type, id_value = parts[1].decode(), parts[2].decode()
        return 200, {
            "idType": id_type,
            "idValue": id_value,
            "displayName": f"Payee {id_value}",
            "firstName": "Pay",
            "lastName": "Ee",
        }
    if method == b"POST" and parts == [b"quoterequests"]:
        quote = json.loads(body)
        amount, currency = quote["amount"], quote["currency"]
        return 200, {
            "quoteId": quote["quoteId"],
            "transactionId": quote["transactionId"],
            "transferAmount": amount,
            "transferAmountCurrency": currency,
            "payeeReceiveAmount": amount,
            "payeeReceiveAmountCurrency": currency,
        }
    if method == b"POST" and parts == [b"transfers"]:
        transfer = json.loads(body)
        return 200, {"homeTransactionId": transfer["transferId"]}
    return 404, {"statusCode": "3000", "message": "not found"}


class BackendProtocol(asyncio.Protocol):
    """One connection: parse requests with httptools, answer each as it completes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url, self.body = b"", []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        method = self.parser.get_method()
        try:
            status, payload = answer(method, self.url, b"".join(self.body))
        except (ValueError, KeyError, TypeError):
            status, payload = 400, {"statusCode": "3100", "message": "bad request"}
        data = json.dumps(payload, separators=(",", ":")).encode()
        head = JSON_HEAD % (status, REASONS[status], len(data))
        self.transport.write(head + data)
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(host: str, port: int) -> None:
    """Serve until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(BackendProtocol, host, port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
