"""A local stand-in for the Enter Finland notification API.

POST /v1/notifications with a bearer token, an Idempotency-Key header and a
JSON notification stores it once as <dir>/<key>.json (201); the same key
again is answered 200 and counted in <dir>/replays.log, never stored twice,
which is the contract the receipt service relies on. Customer numbers given
with --refuse are answered 404 (an unknown customer: a permanent refusal).
GET /healthz answers 200. Local use only.
"""

import argparse
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUIRED = ("notification_id", "customer_number", "reference", "subject", "text")


def handler(directory, token, refused):
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/healthz":
                self.answer(200, {"status": "ok"})
            else:
                self.answer(404, {"error": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/v1/notifications":
                return self.answer(404, {"error": "not found"})
            if self.headers.get("Authorization") != f"Bearer {token}":
                return self.answer(401, {"error": "bad token"})
            key = self.headers.get("Idempotency-Key", "")
            if not key or not all(c.isalnum() or c == "-" for c in key):
                return self.answer(400, {"error": "Idempotency-Key missing or malformed"})
            try:
                body = json.loads(raw)
            except ValueError:
                return self.answer(400, {"error": "body is not JSON"})
            missing = [f for f in REQUIRED if not body.get(f)]
            if missing:
                return self.answer(422, {"error": f"missing {', '.join(missing)}"})
            if body["customer_number"] in refused:
                return self.answer(404, {"error": "unknown customer"})
            path = os.path.join(directory, f"{key}.json")
            with lock:
                if os.path.exists(path):
                    with open(os.path.join(directory, "replays.log"), "a") as f:
                        f.write(f"{key}\n")
                    return self.answer(200, {"status": "already received"})
                body["received_at"] = time.time()
                tmp = os.path.join(directory, f".{key}.tmp")
                with open(tmp, "w") as f:
                    json.dump(body, f, ensure_ascii=False)
                os.rename(tmp, path)
            self.answer(201, {"status": "created"})

        def log_message(self, format, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--refuse", action="append", default=[])
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    server = ThreadingHTTPServer(
        (args.host, args.port), handler(args.dir, args.token, set(args.refuse))
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"e-service stand-in on {args.host}:{args.port}, storing in {args.dir}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
