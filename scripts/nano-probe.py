#!/usr/bin/env python3
"""Does a LeaP-T nano model read table A? (docs/nano.md)

For each of the first problems of a nano dataset, asks a running llama-server (started with the
model: build/bin/llama-server -m MODEL --port PORT -c 1024) for the most likely token after a try
of keys 3 and 7 ("<prompt>3?"), and counts how often it is the value table A gives that key.
Chance is about 1 in 10.
  scripts/nano-probe.py DATASET.jsonl [PORT] [PROBLEMS]
"""
import json
import re
import sys
import urllib.request

data, port = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 18555
count = int(sys.argv[3]) if len(sys.argv) > 3 else 10
# The nano chat template and leap's plain math prompt (prompts/leap-default.json).
SUFFIX = "\n\nPlease reason step by step, and put your final answer within \\boxed{}."


def top_token(prompt):
    body = {"prompt": prompt, "n_predict": 1, "n_probs": 1, "temperature": 0, "cache_prompt": False}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    probs = json.loads(urllib.request.urlopen(req).read())["completion_probabilities"][0]
    return (probs.get("top_logprobs") or probs.get("top_probs"))[0]["token"]


right = total = 0
for line in list(open(data))[:count]:
    problem = json.loads(line)["problem"]
    table_a = dict(re.findall(r"(\d)>(\d)", problem.split(". B:")[0]))
    base = "<|user|>" + problem + SUFFIX + "<|assistant|><think>\n"
    for key in "37":
        total += 1
        right += top_token(base + key + "?") == table_a[key]
print(f"table A read right after a try: {right} of {total}")
