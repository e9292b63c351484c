import os
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with urllib.request.urlopen("http://mc-api:8080/", timeout=5) as r:
            api = r.read().decode()
        body = (os.environ["GREETING"] + "; api says: " + api).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("", 8080), Handler).serve_forever()
