#!/usr/bin/env python3
"""webhook_receiver.py - a webhook for the alert tests, on 127.0.0.1 only.

Appends the body of every POST it answers 2xx to --out, one line each
(a body's own line breaks become spaces), and every request it sees to
--requests as "STATUS PATH" when given.  It answers 500 to the first
--fail-first N requests, and to every request while the file named by
--fail-while exists, so a test can switch failures on and off without a
restart.  With --cert and --key it serves HTTPS.  The port it bound (0:
any free one) is written to --port-file once it listens.

    webhook_receiver.py --out FILE [--port N] [--port-file FILE]
                        [--fail-first N] [--fail-while FILE]
                        [--requests FILE] [--cert PEM --key PEM]
"""
import argparse
import http.server
import os
import ssl
import sys
import threading

MAX_BODY = 4 * 1024 * 1024


def main():
    ap = argparse.ArgumentParser(description="webhook receiver for tests (127.0.0.1 only)")
    ap.add_argument("--out", required=True, help="file the accepted bodies are appended to")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--fail-first", type=int, default=0, help="answer 500 to the first N requests")
    ap.add_argument("--fail-while", help="answer 500 while this file exists")
    ap.add_argument("--requests", help="append 'STATUS PATH' for every request")
    ap.add_argument("--cert", help="PEM certificate (chain) to serve HTTPS with")
    ap.add_argument("--key", help="PEM private key of --cert")
    args = ap.parse_args()
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")

    lock = threading.Lock()
    state = {"seen": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def answer(self, status):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            try:
                n = int(self.headers.get("Content-Length", "-1"))
            except ValueError:
                n = -1
            if n < 0 or n > MAX_BODY:
                self.close_connection = True
                self.answer(411 if n < 0 else 413)
                return
            body = self.rfile.read(n)
            with lock:
                state["seen"] += 1
                failing = state["seen"] <= args.fail_first or (
                    args.fail_while is not None and os.path.exists(args.fail_while))
                status = 500 if failing else 200
                if args.requests:
                    with open(args.requests, "a", encoding="utf-8") as f:
                        f.write("%d %s\n" % (status, self.path))
                if status == 200:
                    line = body.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
                    with open(args.out, "a", encoding="utf-8") as f:
                        f.write(line + "\n")
            self.answer(status)

        def do_GET(self):
            self.answer(405)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
