"""The official OpenAI Python SDK against `tokengrid serve`: models, a chat answer, a streamed
answer and an error, as a user's program would see them.

Usage: python openai_sdk.py DISPATCHER_URL ADMIN_TOKEN
Starts a fake OpenAI-compatible hub in this process, registers it with the dispatcher, and
prints "ok" when every check passes (an assertion error otherwise).
"""

import http.server
import json
import sys
import threading
import urllib.request

import openai
from openai import OpenAI

BASE, ADMIN = sys.argv[1], sys.argv[2]
WORDS = ["Green ", "power, ", "cheap tokens."]


class Hub(http.server.BaseHTTPRequestHandler):
    """A hub that answers every chat request with WORDS (streamed when asked)."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if body.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for w in WORDS:
                chunk = {"id": "hub-1", "object": "chat.completion.chunk", "created": 0,
                         "model": body["model"],
                         "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            return
        answer = {"id": "hub-1", "object": "chat.completion", "created": 0, "model": body["model"],
                  "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "".join(WORDS)}}],
                  "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def call(method, path, token, body):
    req = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json",
                                          "authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


hub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
threading.Thread(target=hub.serve_forever, daemon=True).start()
token = call("POST", "/v1/hubs", ADMIN, {
    "name": "gansu", "endpoint": f"http://127.0.0.1:{hub.server_address[1]}",
    "lat": 35.73, "lon": 107.63, "models": ["deepseek-v3"], "accelerators": {"H800-SXM": 32},
    "tariff_yuan_per_kwh": 0.3, "pue": 1.2})["token"]
call("PUT", "/v1/hubs/gansu/telemetry", token, {
    "up": True, "queue_depth": 0, "free_replicas": 1, "tariff_yuan_per_kwh": 0.3,
    "green_fraction": 0.0})

client = OpenAI(base_url=BASE + "/v1", api_key="not-needed", max_retries=0)
assert [m.id for m in client.models.list()] == ["deepseek-v3"]

messages = [{"role": "user", "content": "hi"}]
r = client.chat.completions.create(model="deepseek-v3", messages=messages)
assert r.choices[0].message.content == "".join(WORDS), r
assert r.usage.completion_tokens == 3, r

stream = client.chat.completions.create(model="deepseek-v3", messages=messages, stream=True)
text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
assert text == "".join(WORDS), text

try:
    client.chat.completions.create(model="no-such-model", messages=messages)
    raise AssertionError("a model no hub serves must fail")
except openai.NotFoundError as e:
    assert (e.status_code, e.type, e.code) == (404, "not_found_error", "not_found"), e

try:
    client.chat.completions.create(model="deepseek-v3", messages="not a list")
    raise AssertionError("a malformed request must fail")
except openai.BadRequestError as e:
    assert (e.type, e.code) == ("invalid_request_error", "bad_request"), e

# Client keys: once one exists, the SDK's placeholder key is refused; the new key works, within
# its rate (one request a minute here), and stops working when revoked.
made = call("POST", "/v1/keys", ADMIN, {"name": "sdk test", "models": ["deepseek-v3"],
                                        "requests_per_minute": 1})
assert made["key"].startswith("tg-"), made
try:
    client.chat.completions.create(model="deepseek-v3", messages=messages)
    raise AssertionError("without a key, once keys exist, the request must fail")
except openai.AuthenticationError as e:
    assert (e.status_code, e.type, e.code) == (401, "authentication_error", "invalid_api_key"), e

keyed = OpenAI(base_url=BASE + "/v1", api_key=made["key"], max_retries=0)
r = keyed.chat.completions.create(model="deepseek-v3", messages=messages)
assert r.choices[0].message.content == "".join(WORDS), r
try:
    keyed.chat.completions.create(model="deepseek-v3", messages=messages)
    raise AssertionError("a second request within the minute must be over the key's rate")
except openai.RateLimitError as e:
    assert (e.type, e.code) == ("rate_limit_error", "rate_limit_exceeded"), e
    assert 1 <= int(e.response.headers["retry-after"]) <= 60, e.response.headers

urllib.request.urlopen(urllib.request.Request(
    BASE + "/v1/keys/" + made["id"], method="DELETE",
    headers={"authorization": f"Bearer {ADMIN}"}), timeout=10).close()
try:
    keyed.models.list()
    raise AssertionError("a revoked key must fail")
except openai.AuthenticationError as e:
    assert "revoked" in e.message, e

print("ok")
