#!/usr/bin/env python3
"""A stand-in for vLLM or SGLang in tests (not a test itself): their OpenAI-compatible HTTP
surface, with the sampling of a llama-server behind it.

No vLLM or SGLang can run on a machine without a GPU, so this server answers as they do, from
their public request and response models (see tests/fixtures/server-requests/*.schema.json for
the upstream files and commits): GET /v1/models with `owned_by` "vllm" or "sglang", 404 on
/props, SGLang's /get_server_info, POST /v1/completions whose body is checked against the
flavor's schema (an unknown field or a wrong type is a 400, as vLLM's strict models would make
it), and answers in that server's shape: `token_ids`, `prompt_token_ids`, `finish_reason`,
vLLM's `stop_reason` (the stop string, or null at end of sequence) or SGLang's `matched_stop`
(the string, or the end-of-sequence id), `usage.prompt_tokens_details.cached_tokens`.

Sampling is theirs too: both servers divide the logits by the temperature first and then cut
with top-k, top-p and min-p on the tempered distribution, so the llama-server behind is asked
for exactly that chain (`samplers`), whatever the client sent; `seed` seeds the request (SGLang
only when "deterministic inference" is on, else the seed is dropped, as SGLang does). vLLM's
`ignore_eos` only skips the stop check (the end token can still be drawn): this server refuses
a request that then draws it, since it cannot continue past it. A -100 `logit_bias` bans the
token.

The llama-server behind parses every generation with its chat parser and fails on the invalid
UTF-8 a random model writes (see is_output_parser_failure in src/backends/openai/server_api.h);
the fake then sends leap's lenient parser, read from --chat-parser-file. The test records that
file first with --passthrough (a transparent proxy to llama-server that saves the `chat_parser`
leap sends it), so the parser comes from leap's own build.

Usage: fake_openai_server.py --flavor vllm|sglang --upstream URL --port P --schema FILE
         [--undeterministic] [--log FILE] [--chat-parser-file FILE]
       fake_openai_server.py --passthrough --upstream URL --port P --chat-parser-file FILE
Every request body is appended to --log as one JSON line (for the test to inspect).
"""
import argparse
import http.server
import json
import socketserver
import sys
import threading
import time
import urllib.error
import urllib.request

ARGS = None
SCHEMA = None
EOS_IDS = set()
LOG_LOCK = threading.Lock()
MODEL = "fake-model"
CHAT_PARSER = None


def upstream(path, body=None, timeout=120):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ARGS.upstream + path, data=data,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def check(value, schema, where):
    """The part of JSON Schema the fixtures use; returns the first violation or None."""
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        def is_type(v, t):
            return {"object": isinstance(v, dict), "array": isinstance(v, list), "string": isinstance(v, str),
                    "boolean": isinstance(v, bool), "null": v is None,
                    "integer": isinstance(v, int) and not isinstance(v, bool),
                    "number": isinstance(v, (int, float)) and not isinstance(v, bool)}[t]
        if not any(is_type(value, t) for t in names):
            return f"{where}: expected {'/'.join(names)}, got {json.dumps(value)[:60]}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: {value} is below {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: {value} is above {schema['maximum']}"
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            err = check(v, schema["items"], f"{where}[{i}]")
            if err:
                return err
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in value:
                return f"{where}: field '{req}' is required"
        for k, v in value.items():
            if k in props:
                err = check(v, props[k], f"{where}.{k}")
            elif schema.get("additionalProperties") is False:
                err = f"{where}: unknown field '{k}'"
            elif isinstance(schema.get("additionalProperties"), dict):
                err = check(v, schema["additionalProperties"], f"{where}.{k}")
            else:
                err = None
            if err:
                return err
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message):
        if ARGS.flavor == "vllm":
            self.reply(status, {"error": {"message": message, "type": "BadRequestError", "param": None,
                                          "code": status}})
        else:
            self.reply(status, {"object": "error", "message": message, "type": "BadRequestError", "param": None,
                                "code": status})

    def passthrough(self, method):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n) if n else None
        if raw:
            try:
                parser = json.loads(raw).get("chat_parser")
            except (ValueError, AttributeError):
                parser = None
            if parser:
                with LOG_LOCK, open(ARGS.chat_parser_file, "w") as f:
                    f.write(parser)
        req = urllib.request.Request(ARGS.upstream + self.path, data=raw, method=method,
                                     headers={"Content-Type": "application/json"} if raw else {})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if ARGS.passthrough:
            return self.passthrough("GET")
        if self.path == "/health":
            return self.reply(200, {})
        if self.path == "/v1/models":
            return self.reply(200, {"object": "list", "data": [
                {"id": MODEL, "object": "model", "created": int(time.time()), "owned_by": ARGS.flavor,
                 "root": MODEL, "parent": None, "max_model_len": 8192}]})
        if self.path == "/get_server_info" and ARGS.flavor == "sglang":
            return self.reply(200, {"model_path": MODEL, "enable_deterministic_inference": not ARGS.undeterministic})
        self.error(404, f"Not Found: {self.path}")

    def do_POST(self):
        if ARGS.passthrough:
            return self.passthrough("POST")
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        if self.path != "/v1/completions":
            return self.error(404, f"Not Found: {self.path}")
        try:
            body = json.loads(raw)
        except ValueError as e:
            return self.error(400, f"JSON decode error: {e}")
        if ARGS.log:
            with LOG_LOCK, open(ARGS.log, "a") as f:
                f.write(json.dumps(body) + "\n")
        err = check(body, SCHEMA, "body")
        if err:
            return self.error(400, err)
        try:
            self.reply(200, self.complete(body))
        except urllib.error.HTTPError as e:
            self.error(500, f"engine error: HTTP {e.code}: {e.read()[:200]!r}")
        except RuntimeError as e:
            self.error(400, str(e))

    def complete(self, body):
        prompt = body["prompt"]
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], list):
            raise RuntimeError("batched prompts are not supported here")
        temperature = float(body.get("temperature", 1.0))
        top_k = int(body.get("top_k", -1))
        stops = body.get("stop") or []
        if isinstance(stops, str):
            stops = [stops]
        seeded = "seed" in body and (ARGS.flavor == "vllm" or not ARGS.undeterministic)
        req = {
            "prompt": prompt,
            "n_predict": int(body.get("max_tokens", 16)),
            "temperature": temperature,
            "top_k": top_k if top_k > 0 else 0,
            "top_p": float(body.get("top_p", 1.0)),
            "min_p": float(body.get("min_p", 0.0)),
            # Both servers: the temperature first, then the cuts on the tempered distribution.
            "samplers": ["temperature", "top_k", "top_p", "min_p"],
            "seed": int(body["seed"]) & 0xFFFFFFFF if seeded else int(time.time_ns() & 0x7FFFFFFF),
            "stop": stops,
            "cache_prompt": True,
            "return_tokens": True,
            "mirostat": 0,
            "repeat_penalty": float(body.get("repetition_penalty", 1.0)),
            "presence_penalty": float(body.get("presence_penalty", 0.0)),
            "frequency_penalty": float(body.get("frequency_penalty", 0.0)),
        }
        if body.get("logit_bias"):
            req["logit_bias"] = [[int(k), False if float(v) <= -100 else float(v)]
                                 for k, v in body["logit_bias"].items()]
        if CHAT_PARSER:
            req["chat_parser"] = CHAT_PARSER  # see the module's note
        r = upstream("/completion", req)
        tokens = list(r.get("tokens", []))
        text = r.get("content", "")
        stop_type = r.get("stop_type", "")
        matched = r.get("stopping_word") if stop_type == "word" else None
        if stop_type == "eos":
            if body.get("ignore_eos"):
                raise RuntimeError("fake server: the end token was drawn with ignore_eos (a real server would "
                                   "go on past it; ban it with logit_bias)")
            eos = sorted(EOS_IDS)[0] if EOS_IDS else None
            if eos is not None and (not tokens or tokens[-1] not in EOS_IDS):
                tokens.append(eos)  # both servers return the end token's id
        keep_stop = body.get("include_stop_str_in_output") if ARGS.flavor == "vllm" else body.get("no_stop_trim")
        if matched and keep_stop and not text.endswith(matched):
            text += matched
        finish = "length" if stop_type == "limit" else "stop"
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        if ARGS.flavor == "vllm":
            choice["stop_reason"] = matched  # null at the end token
            if body.get("return_token_ids"):
                choice["token_ids"] = tokens
                choice["prompt_token_ids"] = prompt if isinstance(prompt, list) else None
        else:
            choice["matched_stop"] = matched if matched else (tokens[-1] if stop_type == "eos" and tokens else None)
            if body.get("return_token_ids"):
                choice["token_ids"] = tokens
        timings = r.get("timings", {})
        n_prompt = len(prompt) if isinstance(prompt, list) else int(r.get("tokens_evaluated", 0))
        cached = int(timings.get("cache_n", 0)) if isinstance(timings, dict) else 0
        return {"id": f"cmpl-{time.time_ns()}", "object": "text_completion", "created": int(time.time()),
                "model": MODEL, "choices": [choice],
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": len(tokens),
                          "total_tokens": n_prompt + len(tokens),
                          "prompt_tokens_details": {"cached_tokens": cached}}}


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS, SCHEMA
    p = argparse.ArgumentParser()
    p.add_argument("--flavor", choices=["vllm", "sglang"])
    p.add_argument("--passthrough", action="store_true")
    p.add_argument("--chat-parser-file")
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--schema")
    p.add_argument("--undeterministic", action="store_true",
                   help="sglang: started without --enable-deterministic-inference (seeds are ignored)")
    p.add_argument("--log")
    global CHAT_PARSER
    ARGS = p.parse_args()
    if ARGS.passthrough:
        srv = Server(("127.0.0.1", ARGS.port), Handler)
        print(f"passthrough to {ARGS.upstream} on {ARGS.port}", flush=True)
        return srv.serve_forever()
    if not ARGS.flavor or not ARGS.schema:
        p.error("--flavor and --schema are required (or --passthrough)")
    SCHEMA = json.load(open(ARGS.schema))
    if ARGS.chat_parser_file:
        CHAT_PARSER = open(ARGS.chat_parser_file).read()
    props = upstream("/props")
    eos_text = props.get("eos_token") or ""
    if eos_text:
        ids = upstream("/tokenize", {"content": eos_text, "parse_special": True}).get("tokens", [])
        if len(ids) == 1:
            EOS_IDS.add(ids[0])
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    print(f"fake {ARGS.flavor} on {ARGS.port} (end token ids {sorted(EOS_IDS)})", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
