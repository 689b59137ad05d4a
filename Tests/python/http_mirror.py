"""A local HTTP mirror for download tests, on 127.0.0.1 only.

usage: python3 http_mirror.py DIRECTORY
Prints the port it listens on, then serves the files of DIRECTORY under:
  /good/NAME     the file as it is
  /corrupt/NAME  the file with one byte changed (same length)
  /drop/NAME     headers announcing the full length, half the body, then the connection is closed
It stops by itself after 300 seconds.
"""
import http.server
import os
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] not in ("good", "corrupt", "drop"):
            self.send_error(404)
            return
        path = os.path.join(sys.argv[1], os.path.basename(parts[1]))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        body = bytearray(open(path, "rb").read())
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
