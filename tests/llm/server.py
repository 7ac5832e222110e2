"""A local HTTP server that speaks the OpenAI Chat Completions protocol, for the labeller's tests.

The item text (the last user message) says how to answer: ``label:B`` answers B; with
``rate-limit-once`` the first request gets a 429 (Retry-After: 0), ``server-error-once`` a 500,
``always-500`` always a 500, ``slow`` waits ``slow_seconds`` first, ``malformed`` answers with
text that is no label, ``out-of-set-once`` answers "banana" first and ``out-of-set`` always.
Usage is deterministic: prompt tokens = characters of all messages // 4 + 4 per message,
completion tokens = characters of the answer // 4 + 1.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.usages: list[tuple[int, int]] = []  # (prompt, completion) tokens of each answer
        self.authorization: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.slow_seconds = 1.0
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.base_url = ""
        self.last_authorization = ""

    @staticmethod
    def usage(messages: list[dict[str, str]], answer: str) -> tuple[int, int]:
        prompt = sum(len(m["content"]) for m in messages) // 4 + 4 * len(messages)
        return prompt, len(answer) // 4 + 1

    def respond(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        text = body["messages"][-1]["content"]
        with self.lock:
            self.requests.append(body)
            self.calls[text] += 1
            seen = self.calls[text]
        if "slow" in text:
            time.sleep(self.slow_seconds)
        if "rate-limit-once" in text and seen == 1:
            return (
                429,
                {"error": {"message": "Rate limit reached", "type": "rate_limit"}},
                {"Retry-After": "0"},
            )
        if "echo-authorization" in text:  # some gateways quote the header they refused
            return (
                401,
                {
                    "error": {
                        "message": f"Invalid header: {self.last_authorization}",
                        "type": "auth",
                    }
                },
                {},
            )
        if "always-500" in text or ("server-error-once" in text and seen == 1):
            return (
                500,
                {"error": {"message": "The server had an error", "type": "server_error"}},
                {},
            )
        label = text.split("label:")[1].split()[0] if "label:" in text else "A"
        if "malformed" in text:
            answer = "I think it is probably the first one"
        elif "out-of-set" in text and ("out-of-set-once" not in text or seen == 1):
            answer = json.dumps({"label": "banana", "confidence": 0.9})
        else:
            answer = json.dumps({"label": label, "confidence": 0.75})
        prompt_tokens, completion_tokens = self.usage(body["messages"], answer)
        with self.lock:
            self.usages.append((prompt_tokens, completion_tokens))
        return (
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
            {},
        )


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    state = ChatServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            state.authorization.add(self.headers.get("Authorization", ""))
            state.last_authorization = self.headers.get("Authorization", "")
            with state.lock:
                state.in_flight += 1
                state.most_in_flight = max(state.most_in_flight, state.in_flight)
            try:
                status, payload, headers = state.respond(body)
            finally:
                with state.lock:
                    state.in_flight -= 1
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
