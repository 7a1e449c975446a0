"""Hostile-server faults of the emulator: answers that never come, trickle, never end, are too
large or decompress into too much, lists whose `continue` never ends, and exec streams that never
stop. emu_http.apply_faults() picks the rule; the handler calls serve() (answer-level actions),
reads `endless_continue` in handle_list, or `exec_flood` in run_exec. See README.md "Faults"."""

import itertools
import json
import select
import socket
import ssl
import threading
import time
import zlib

# Actions that replace the whole answer (serve()), and the two that change one part of it.
SERVE_ACTIONS = ("hang", "trickle", "endless-body", "oversize", "gzip-bomb", "big-list")
ACTIONS = SERVE_ACTIONS + ("endless-continue", "exec-flood")

_continues = itertools.count(1)
_gzip_cache = {}
_gzip_lock = threading.Lock()


class Serve(Exception):
    """Raised by apply_faults: answer this request with `rule` instead of routing it."""

    def __init__(self, rule):
        super().__init__(rule.get("action"))
        self.rule = rule


def wait_gone(h, seconds):
    """Waits up to `seconds`; True as soon as the client closed the connection (or sent bytes)."""
    sock = h.connection
    end = time.time() + seconds
    while True:
        left = end - time.time()
        if left <= 0:
            return False
        try:
            ready = sock.pending() or select.select([sock], [], [], min(0.5, left))[0]
        except (OSError, ValueError):
            return True
        if not ready:
            continue
        try:
            if not sock.recv(4096):
                return True
        except (ssl.SSLWantReadError, socket.timeout):
            continue
        except OSError:
            return True


def _head(h, code, headers):
    h.resp_code = code
    lines = ["HTTP/1.1 %d %s" % (code, "OK" if code == 200 else "Error"), "Content-Type: application/json",
             "Date: " + h.date_time_string(), "Audit-Id: %s" % h.audit_id]
    lines += ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _gzip_of(size):
    """gzip of a JSON object of `size` bytes ('{"pad":"AAAA...."}'), made once per size."""
    with _gzip_lock:
        if size in _gzip_cache:
            return _gzip_cache[size]
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        out = [c.compress(b'{"pad":"')]
        block = b"A" * (1 << 20)
        left = max(0, size - 10)
        while left > 0:
            n = min(left, len(block))
            out.append(c.compress(block[:n]))
            left -= n
        out.append(c.compress(b'"}'))
        out.append(c.flush())
        data = b"".join(out)
        _gzip_cache[size] = data
        return data


def serve(h, rule):
    """Answers the request the way `rule` says; returns when done or the client is gone."""
    h.close_connection = True
    a = rule["action"]
    w = h.wfile
    limit_s = float(rule.get("max_s", 600))
    started = time.time()
    if a == "hang":  # no answer at all
        h.resp_code = 0
        wait_gone(h, float(rule.get("hang_s", limit_s)))
        return
    if a == "trickle":  # a complete head, then the body `bytes_per_tick` bytes per `interval_ms`
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                           "pad": "x" * int(rule.get("bytes", 4096))}).encode()
        w.write(_head(h, 200, [("Content-Length", len(body))]))
        w.flush()
        step = max(1, int(rule.get("bytes_per_tick", 1)))
        tick = float(rule.get("interval_ms", 1000)) / 1000.0
        for i in range(0, len(body), step):
            w.write(body[i:i + step])
            w.flush()
            if wait_gone(h, tick) or time.time() - started > limit_s:
                return
        return
    if a == "endless-body":  # chunked, never ends
        w.write(_head(h, 200, [("Transfer-Encoding", "chunked")]))
        first = b'{"kind":"List","apiVersion":"v1","metadata":{},"items":['
        w.write(b"%x\r\n%s\r\n" % (len(first), first))
        chunk = b"{}," * 21845
        while time.time() - started < limit_s:
            w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        return
    if a == "oversize":  # a valid JSON object of `bytes` bytes, with or without Content-Length
        size = int(rule.get("bytes", 200 * 1000 * 1000))
        pre, post = b'{"kind":"List","apiVersion":"v1","metadata":{},"items":[],"pad":"', b'"}'
        pad = max(0, size - len(pre) - len(post))
        chunked = bool(rule.get("chunked"))
        w.write(_head(h, 200, [("Transfer-Encoding", "chunked")] if chunked else
                     [("Content-Length", len(pre) + pad + len(post))]))
        block = b"x" * 65536

        def out(b):
            w.write(b"%x\r\n%s\r\n" % (len(b), b) if chunked else b)

        out(pre)
        while pad > 0:
            n = min(pad, len(block))
            out(block[:n])
            pad -= n
        out(post)
        if chunked:
            w.write(b"0\r\n\r\n")
        return
    if a == "gzip-bomb":  # small on the wire, `bytes` (default 1 GiB) once decompressed
        data = _gzip_of(int(rule.get("bytes", 1 << 30)))
        w.write(_head(h, 200, [("Content-Encoding", "gzip"), ("Content-Length", len(data))]))
        w.write(data)
        return
    if a == "big-list":  # a list of `items` small items, chunked
        n = int(rule.get("items", 1000000))
        w.write(_head(h, 200, [("Transfer-Encoding", "chunked")]))
        parts = [b'{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[']
        size = len(parts[0])
        for i in range(n):
            parts.append(b'%s{"metadata":{"name":"item-%d","namespace":"default"}}' % (b"," if i else b"", i))
            size += len(parts[-1])
            if size > 65536:
                b = b"".join(parts)
                w.write(b"%x\r\n%s\r\n" % (len(b), b))
                parts, size = [], 0
        parts.append(b"]}")
        b = b"".join(parts)
        w.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(b), b))
        return
    raise ValueError("not an answer-level fault: %s" % a)


def next_continue(rule):
    """The continue token of an endless list: the same one every page ("same") or a new one."""
    if rule.get("mode", "same") == "same":
        return "endless"
    return "endless-%d" % next(_continues)


def flood(h, send, rule):
    """exec-flood: stdout frames of `chunk` bytes without end (until the client goes or max_s)."""
    h.resp_code = 101
    data = b"\x01" + b"y\n" * (int(rule.get("chunk", 32768)) // 2)
    end = time.time() + float(rule.get("max_s", 600))
    try:
        while time.time() < end:
            send(2, data)
    except OSError:
        pass
