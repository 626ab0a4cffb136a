#!/usr/bin/env python3
"""Two `tern serve` behind nginx (Debian's, on loopback) with the upstream config of docs/serving.md: requests
spread across both, and after one server is killed the rest are still answered, correctly, by the other.
Skips (and says so) where nginx is not installed; CI installs it."""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

ARGS = None
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model):
    p = subprocess.Popen([ARGS.tern, "serve", model, "--port", "0", "-t", "1", "--parallel", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", p.stdout.readline())
    assert m, "tern serve did not start"
    return p, int(m.group(1))


def post(port, prompt):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/completions", json.dumps({"prompt": prompt, "max_tokens": 8, "temperature": 0}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def completions_served(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    return float(re.search(r"^tern_completions_total (\S+)$", text, re.M).group(1))


class BehindNginx(unittest.TestCase):
    def test_spread_and_failover(self):
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if not nginx:
            self.skipTest("nginx is not installed (apt-get install nginx; .ci/run does)")
        model = os.path.join(ARGS.shared, "models", "bitnet-tinystories-3m-packed")
        servers = [start_server(model), start_server(model)]
        tmp = os.path.join(ARGS.tmp, "nginx")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "logs"))
        port = free_port()
        with open(os.path.join(HERE, "..", "..", "docs", "nginx-tern.conf")) as f:
            upstream = f.read()
        upstream = upstream.replace("127.0.0.1:8081", f"127.0.0.1:{servers[0][1]}")
        upstream = upstream.replace("127.0.0.1:8082", f"127.0.0.1:{servers[1][1]}")
        upstream = upstream.replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{port}")
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/logs/error.log;\n"
                    f"events {{ worker_connections 128; }}\nhttp {{\n  access_log off;\n"
                    f"  client_body_temp_path {tmp}/body;\n  proxy_temp_path {tmp}/proxy;\n"
                    f"  fastcgi_temp_path {tmp}/fcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n"
                    f"{upstream}\n}}\n")
        proxy = subprocess.Popen([nginx, "-p", tmp, "-c", conf], stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or proxy.poll() is not None:
                        self.fail(f"nginx did not start: {proxy.stderr.read() if proxy.poll() is not None else ''}")
                    time.sleep(0.1)
            want = post(servers[0][1], "Once upon a time")
            self.assertEqual(want[0], 200)
            want_text = json.loads(want[1])["choices"][0]["text"]
            for _ in range(10):
                status, data = post(port, "Once upon a time")
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["choices"][0]["text"], want_text)
            spread = [completions_served(p) for _, p in servers]
            self.assertTrue(all(n >= 3 for n in spread), spread)  # round robin (the first also served `want`)
            servers[0][0].send_signal(signal.SIGKILL)
            servers[0][0].wait()
            for _ in range(20):
                status, data = post(port, "Once upon a time")
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["choices"][0]["text"], want_text)
            self.assertGreaterEqual(completions_served(servers[1][1]) - spread[1], 20)
        finally:
            proxy.terminate()
            proxy.wait(timeout=30)
            proxy.stderr.close()
            for p, _ in servers:
                if p.poll() is None:
                    p.terminate()
                    p.wait(timeout=30)
                p.stdout.close()


if __name__ == "__main__":
    import cli_test_main
    cli_test_main.run(sys.modules[__name__], smollm2=False)
