#!/usr/bin/env python3
"""Collects the seed corpus of each fuzz target from the provider fixtures (scripts/fuzz).

    tests/fuzz/seeds.py OUT_DIR [TARGET...]

Writes OUT_DIR/<target>/<sha1> files: each fixture whole, every JSON object and array inside it
(the datasets hold many payloads), the JSON code blocks of Markdown docs (Chatwoot's), for the
text targets every string value, and the raw string literals of the matching unit tests
(tests/unit/<name>_test.cpp, tests/unit/providers/<name>_*_test.cpp: the payloads the tests were written against). Generated, never
committed.
"""
import hashlib
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures", "providers")

# target -> (fixture folders or files, what to take: "json" documents or "text" strings)
TARGETS = {
    "whatsapp_fuzz": (["whatsapp"], "json"),
    "telegram_fuzz": (["telegram"], "json"),
    "chatwoot_fuzz": (["chatwoot"], "json"),
    "openai_fuzz": (["openai"], "json"),
    "sms_codecs_fuzz": (["twilio", "sms"], "json+text"),
    "events_fuzz": (["whatsapp", "telegram"], "json"),
    "json_fuzz": (["whatsapp", "telegram", "openai", "twilio"], "json"),
    "signatures_fuzz": (["whatsapp/signature_vectors.json", "twilio"], "json+text"),
    "form_fuzz": (["twilio"], "text"),
    "sms_fuzz": (["sms"], "text"),
    "utf8_fuzz": (["sms", "telegram"], "text"),
    "markdown_fuzz": (["chatwoot/docs"], "text"),
    "routes_fuzz": ([], "text"),
    "config_fuzz": ([], "text"),
}

# target -> unit tests whose raw string literals (R"(...)") are seeds
UNIT_TESTS = {
    "whatsapp_fuzz": ["providers/whatsapp_codec_test.cpp", "providers/whatsapp_send_test.cpp"],
    "telegram_fuzz": ["providers/telegram_codec_test.cpp"],
    "chatwoot_fuzz": ["providers/chatwoot_codec_test.cpp"],
    "openai_fuzz": ["providers/openai_codec_test.cpp"],
    "sms_codecs_fuzz": ["providers/mtn_codec_test.cpp", "providers/twilio_codec_test.cpp",
                        "providers/mtn_send_test.cpp"],
    "events_fuzz": ["events_test.cpp"],
    "json_fuzz": ["json_limits_test.cpp"],
    "signatures_fuzz": ["signatures_test.cpp", "providers/twilio_signature_test.cpp",
                        "providers/whatsapp_signature_test.cpp", "providers/mtn_signature_test.cpp",
                        "providers/chatwoot_signature_test.cpp"],
    "sms_fuzz": ["sms_test.cpp"],
    "config_fuzz": ["config_test.cpp"],
    "routes_fuzz": ["router_test.cpp"],
}

# Hand-picked seeds the fixtures do not hold.
EXTRA = {
    "routes_fuzz": ["GET /healthz", "POST /api/v1/tools/lookup_order?x=1",
                    "GET /api/v1/sessions/%2B250788123456/deliveries", "HEAD /metrics",
                    "PUT /api/v1/providers/me/notification-config", "DELETE //webhooks//whatsapp"],
    "form_fuzz": ["hub.mode=subscribe&hub.verify_token=t&hub.challenge=1158201444",
                  "MessageSid=SM1&From=%2B14155550100&To=%2B14155550111&Body=Hello+there&NumMedia=0"],
    "sms_codecs_fuzz": ['{"from":"+250788123456","to":"8080","message":"Hi","id":"m1"}',
                        "MessageSid=SM1&MessageStatus=delivered&ErrorCode=30003&To=%2B1415555"],
    "events_fuzz": ['{"channel":"sms","provider":"mtn","external_id":"x","from":"+250788123456",'
                    '"text":"a\\u0000b","received_at_ms":1}',
                    '{"account_id":1,"conversation_id":2,"event":"message_created","content":"hi"}'],
    "sms_fuzz": ["Hello \u201cworld\u201d \u2014 caf\u00e9 {x} \U0001F600" * 3],
}

MAX_PER_TARGET = 400
MAX_SEED_BYTES = 64 * 1024


def fixture_files(spec):
    for item in spec:
        path = os.path.join(FIX, item)
        if os.path.isfile(path):
            yield path
            continue
        for dirpath, _, names in os.walk(path):
            for name in sorted(names):
                yield os.path.join(dirpath, name)


def walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def seeds_of(path, mode):
    raw = open(path, "rb").read()
    docs = []
    if path.endswith(".json"):
        yield raw
        try:
            docs = [json.loads(raw)]
        except ValueError:
            pass
    elif path.endswith((".md", ".mdx")):
        for block in re.findall(r"```(?:json)?\s*\n(.*?)```", raw.decode("utf-8", "replace"), re.S):
            block = re.sub(r"^\s*//.*$", "", block, flags=re.M)  # the docs' "// <...Object>"
            try:
                docs.append(json.loads(block))
                yield block.encode()
            except ValueError:
                pass
    else:
        yield raw
    for doc in docs:
        for v in walk(doc):
            if "json" in mode and isinstance(v, (dict, list)):
                yield json.dumps(v, ensure_ascii=False).encode()
            if "text" in mode and isinstance(v, str):
                yield v.encode()


def main():
    out = sys.argv[1]
    targets = sys.argv[2:] or sorted(TARGETS)
    for target in targets:
        spec, mode = TARGETS.get(target, ([], "text"))
        seeds = {}
        candidates = [s.encode() for s in EXTRA.get(target, [])]
        if target == "config_fuzz":
            for name in ("default.toml", "switchboard.example.toml"):
                candidates.append(open(os.path.join(ROOT, "config", name), "rb").read())
        for name in UNIT_TESTS.get(target, []):
            test = os.path.join(ROOT, "tests", "unit", name)
            if os.path.isfile(test):
                code = open(test, encoding="utf-8").read()
                candidates.extend(m[1].encode() for m in re.findall(r'R"([^(\s]*)\((.*?)\)\1"', code, re.S))
        for path in fixture_files(spec):
            candidates.extend(seeds_of(path, mode))
        for seed in candidates:
            if 0 < len(seed) <= MAX_SEED_BYTES and len(seeds) < MAX_PER_TARGET:
                seeds.setdefault(hashlib.sha1(seed).hexdigest(), seed)
        folder = os.path.join(out, target)
        os.makedirs(folder, exist_ok=True)
        for name, seed in seeds.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(seed)
        print(f"{target}: {len(seeds)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
