"""A local HTTP mirror for download tests, on 127.0.0.1 only.

usage: python3 http_mirror.py DIRECTORY
Prints the port it listens on, then serves the files of DIRECTORY under:
  /good/NAME     the file as it is
  /corrupt/NAME  the file with one byte changed (same length)
  /drop/NAME     headers announcing the full length, half the body, then the connection is closed
  /endless/NAME  200 with no length and a body that does not end (zeros, for at most 60 s)
  /trickle/NAME  the file one byte per second (for at most 60 s)
  /silent/NAME   accepts the request and never answers (for at most 60 s)
It stops by itself after 300 seconds.
"""
import http.server
import os
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] not in ("good", "corrupt", "drop", "endless", "trickle", "silent"):
            self.send_error(404)
            return
        path = os.path.join(sys.argv[1], os.path.basename(parts[1]))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        if parts[0] == "silent":
            time.sleep(60)
            return
        if parts[0] == "endless":
            self.send_response(200)
            self.end_headers()
            deadline = time.time() + 60
            try:
                while time.time() < deadline:
                    self.wfile.write(bytes(65536))
            except OSError:
                pass
            return
        body = bytearray(open(path, "rb").read())
        if parts[0] == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body[:60]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            return
        if parts[0] == "corrupt":
            body[len(body) // 2] ^= 0xFF
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if parts[0] == "drop":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Timer(300, server.shutdown).start()
server.serve_forever()
