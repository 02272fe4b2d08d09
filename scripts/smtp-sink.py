#!/usr/bin/env python3
"""A real SMTP server for fanloop's tests (aiosmtpd, from PyPI).

Every message it accepts is written to DIR as <n>.eml (the raw message, as received) before
the server answers 250, so a test reads exactly what was accepted. With --slow-rcpt S it waits
S seconds before accepting each recipient, with DIR/rcpt.busy present meanwhile: a client killed
during that wait never reached DATA, as when a real server is slow.

Usage: smtp-sink.py DIR [--slow-rcpt S]; prints the port it listens on, then serves until killed.
"""
import argparse
import asyncio
import itertools
import os
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, slow_rcpt):
        self.directory = directory
        self.slow_rcpt = slow_rcpt
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.slow_rcpt:
            # `rcpt.busy` exists while a client waits here (a test kills it then).
            busy = os.path.join(self.directory, "rcpt.busy")
            open(busy, "w").close()
            await asyncio.sleep(self.slow_rcpt)
            os.remove(busy)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        path = os.path.join(self.directory, f"{n:06d}.eml")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(tmp, path)
        return f"250 Message accepted for delivery as {n}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--slow-rcpt", type=float, default=0.0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    controller = Controller(Sink(args.dir, args.slow_rcpt), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
