"""A real SMTP server (aiosmtpd) that accepts every message and stores it.

Each message is written byte for byte as <maildir>/<name>.eml, next to
<name>.json holding the envelope (MAIL FROM, RCPT TO, time) and the result
of verifying its DKIM signature as a receiving server would, against the
TXT records given with --dkim-record (the local stand-in for DNS). Tests
and `make run` read them back from there. --reject-domain makes the server
refuse recipients in a domain with a permanent 550, as a real server does
for an unknown mailbox.

Like large mail stores (and Sieve's "duplicate" test, RFC 7352), it keeps
one copy per recipient and Message-ID: a message delivered again is
accepted but not stored twice; each such delivery is logged in
<maildir>/duplicates.jsonl, with whether it was the same message (bytes
equal apart from the DKIM signature, whose timestamp differs per send).
Local use only.
"""

import argparse
import asyncio
import json
import os
import signal
import time
import uuid

import dkim
from aiosmtpd.controller import Controller


def header_value(content, name):
    head = content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    for line in head.split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def without_signature(content):
    out, skipping = [], False
    for line in content.split(b"\r\n"):
        if line.lower().startswith(b"dkim-signature:"):
            skipping = True
            continue
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = False
        out.append(line)
    return b"\r\n".join(out)


class Sink:
    def __init__(self, maildir, records, reject_domains):
        self.maildir = maildir
        self.records = records
        self.reject_domains = reject_domains
        os.makedirs(maildir, exist_ok=True)
        # (recipient, Message-ID) -> stored .eml, rebuilt from what is there.
        self.stored = {}
        for name in sorted(os.listdir(maildir)):
            if name.endswith(".eml"):
                path = os.path.join(maildir, name)
                with open(path, "rb") as f:
                    content = f.read()
                with open(path[:-4] + ".json") as f:
                    rcpts = json.load(f)["rcpt_tos"]
                self.remember(rcpts, content, path)

    def remember(self, rcpts, content, path):
        message_id = header_value(content, "Message-ID")
        if message_id:
            for rcpt in rcpts:
                self.stored[(rcpt.lower(), message_id)] = path

    def duplicate_of(self, rcpts, content):
        message_id = header_value(content, "Message-ID")
        if not message_id:
            return None
        for rcpt in rcpts:
            path = self.stored.get((rcpt.lower(), message_id))
            if path is None:
                return None
        return path

    def dns_txt(self, name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return self.records.get(name.rstrip(".").lower())

    def dkim_result(self, content):
        if b"dkim-signature:" not in content.lower():
            return "none"
        try:
            return "pass" if dkim.verify(content, dnsfunc=self.dns_txt) else "fail"
        except Exception as e:  # a malformed signature is a failure, not a crash
            return f"fail ({e})"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rsplit("@", 1)[-1].lower()
        if domain in self.reject_domains:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        original = self.duplicate_of(envelope.rcpt_tos, content)
        if original is not None:
            with open(original, "rb") as f:
                same = without_signature(f.read()) == without_signature(content)
            record = {
                "message_id": header_value(content, "Message-ID"),
                "rcpt_tos": envelope.rcpt_tos,
                "same_message": same,
                "dkim": self.dkim_result(content),
                "received_at": time.time(),
            }
            with open(os.path.join(self.maildir, "duplicates.jsonl"), "a") as f:
                f.write(json.dumps(record) + "\n")
            return "250 Message accepted for delivery (duplicate, not stored again)"
        name = f"{time.time_ns()}-{uuid.uuid4().hex}"
        tmp = os.path.join(self.maildir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "received_at": time.time(),
            "dkim": self.dkim_result(content),
        }
        with open(os.path.join(self.maildir, f"{name}.json"), "w") as f:
            json.dump(meta, f)
        # The .eml appears last and atomically: a reader that sees it sees all.
        path = os.path.join(self.maildir, f"{name}.eml")
        os.rename(tmp, path)
        self.remember(envelope.rcpt_tos, content, path)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument(
        "--dkim-record",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a DKIM key record, e.g. receipts._domainkey.agency.example=local.txt",
    )
    parser.add_argument("--reject-domain", action="append", default=[])
    args = parser.parse_args()
    records = {}
    for item in args.dkim_record:
        name, path = item.split("=", 1)
        with open(path, "rb") as f:
            records[name.lower()] = f.read().strip()
    controller = Controller(
        Sink(args.maildir, records, {d.lower() for d in args.reject_domain}),
        hostname=args.host,
        port=args.port,
        enable_SMTPUTF8=True,
        data_size_limit=64 * 1024 * 1024,
    )
    controller.start()
    print(f"smtp sink listening on {args.host}:{args.port}, storing in {args.maildir}", flush=True)
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    controller.stop()


if __name__ == "__main__":
    main()
