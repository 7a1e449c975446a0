#!/usr/bin/python3
"""Stand-ins for the parties behind the Exchange's nginx: for each party an HTTP server and a gRPC
server on free 127.0.0.1 ports that answer every request with the party's id, so a request sent
through the Exchange says where its route led. Writes {"PARTY": {"http": PORT, "grpc": PORT}} to
PORTS_FILE once every server listens; runs until SIGTERM.

  HTTP: any GET/POST answers 200 "party P http" (header X-Party: P).
  gRPC: any unary method answers the bytes b"party P grpc" (python3-grpcio, no protobuf).

usage: party_backends.py PORTS_FILE PARTY [PARTY ...]"""
import http.server, json, os, signal, sys, threading

import grpc
from concurrent import futures

ports_file, parties = sys.argv[1], sys.argv[2:]


def http_handler(party):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(min(n, 1 << 20))
            body = ("party %s http\n" % party).encode()
            self.send_response(200)
            self.send_header("X-Party", party)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *a):
            pass

    return H


class AnyMethod(grpc.GenericRpcHandler):
    """Answers every unary method with the party's id (bytes in, bytes out)."""

    def __init__(self, party):
        self.reply = ("party %s grpc" % party).encode()

    def service(self, details):
        return grpc.unary_unary_rpc_method_handler(lambda req, ctx: self.reply)


servers, ports = [], {}
for p in parties:
    hs = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http_handler(p))
    threading.Thread(target=hs.serve_forever, daemon=True).start()
    gs = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[AnyMethod(p)])
    gport = gs.add_insecure_port("127.0.0.1:0")
    gs.start()
    servers.append((hs, gs))
    ports[p] = {"http": hs.server_address[1], "grpc": gport}
with open(ports_file + ".tmp", "w") as f:
    json.dump(ports, f)
os.replace(ports_file + ".tmp", ports_file)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
signal.signal(signal.SIGINT, lambda *_: stop.set())
stop.wait()
for hs, gs in servers:
    gs.stop(0)
    hs.shutdown()
