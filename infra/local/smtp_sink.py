"""A real SMTP server (aiosmtpd) that accepts every message and stores it.

Each message is written byte for byte as <maildir>/<name>.eml, next to
<name>.json holding the envelope (MAIL FROM, RCPT TO, time). Tests and the
receipts service's checks read them back from there. Local use only.
"""

import argparse
import asyncio
import json
import os
import signal
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        os.makedirs(maildir, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex}"
        tmp = os.path.join(self.maildir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "received_at": time.time(),
        }
        with open(os.path.join(self.maildir, f"{name}.json"), "w") as f:
            json.dump(meta, f)
        # The .eml appears last and atomically: a reader that sees it sees all.
        os.rename(tmp, os.path.join(self.maildir, f"{name}.eml"))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    args = parser.parse_args()
    controller = Controller(
        Sink(args.maildir),
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
