#!/usr/bin/env python3
"""Draw the template ids of the external dev2 set (session 18) at random.

    python3 evals/nl2flow/data/external/sample_dev2.py /path/to/n8nworkflow.com.git > /tmp/dev2-candidates.jsonl

Reads the MIT-licensed archive github.com/gao51-qw/n8nworkflow.com (a git
checkout or bare mirror; backup_data/workflows/<id>/metadata.json at HEAD)
and prints one candidate a line: id, URL, title and the first sentence of the
description, and which of the two the item quotes. Deterministic: the same
archive commit and SEED give the same draw.

Which templates may be drawn, fixed before anything was drawn:
- the same selection rule as the first external set (data/external/README.md):
  the title names a CRM, tracker, chat, ERP, HR or mail system, or a schedule
  or webhook (TOPIC below), and is not about AI agents, chatbots or LLM
  pipelines (AI_WORDS), which the example catalog has nothing for;
- not already used: no id and no wording of dev.jsonl or heldout/heldout.jsonl
  (the held-back file is read only for its source URLs and compared text, never
  printed);
- its source URL hashes to the dev side of splitOf (evals/nl2flow/external.go),
  so the held-back rule (hash >= 60 -> held-back) stays true for every item of
  every set, and a later held-back extension drawn from the other side cannot
  meet an item tuned on.

Then N ids are drawn with random.Random(SEED).sample over the eligible ids in
numeric order, and each is a description item with probability DESC_SHARE
(the first set has 29 descriptions in 232 template items), else a title item;
a quoted text that is only a link is left out (one of the 165 drawn: 164 items).
Annotated by hand onto the example catalog (README.md) into dev2.jsonl, ids
x301 on in this order, before the compiler was run on any of them.
"""
import hashlib
import json
import random
import re
import subprocess
import sys

SEED = 20261218
N = 165
DESC_SHARE = 0.12

TOPIC = re.compile(r"\b(" + "|".join([
    # systems of the example catalog's kinds, as templates name them
    r"crm", r"hubspot", r"salesforce", r"pipedrive", r"zoho", r"agile crm", r"copper", r"highlevel", r"gohighlevel",
    r"slack", r"mattermost", r"discord", r"telegram", r"teams", r"chat",
    r"jira", r"linear", r"asana", r"trello", r"clickup", r"todoist", r"taiga", r"youtrack", r"monday\.com",
    r"quickbooks", r"xero", r"odoo", r"netsuite", r"invoice ninja", r"erp", r"invoices?", r"sales orders?",
    r"bamboohr", r"hr", r"employees?", r"onboarding",
    r"gmail", r"outlook", r"smtp", r"e-?mails?",
    r"leads?", r"contacts?", r"deals?", r"tickets?", r"issues?", r"tasks?",
    # schedules and webhooks
    r"daily", r"weekly", r"monthly", r"hourly", r"every day", r"schedule[ds]?", r"webhooks?", r"cron",
]) + r")\b", re.I)

AI_WORDS = re.compile(r"\b(ai|agents?|agentic|gpt[-\w]*|chatgpt|openai|llms?|claude|gemini|mistral|ollama|rag|"
                      r"chatbot|chat ?bot|assistant|deepseek|langchain|vector|embeddings?|perplexity|"
                      r"groq|anthropic|mcp)\b", re.I)


def split_of(url):
    h = hashlib.sha256(url.split("#", 1)[0].encode()).digest()
    return "dev" if h[0] * 100 // 256 < 60 else "heldout"


def norm(s):
    return " ".join(s.lower().split())


def first_sentence(desc):
    d = re.sub(r"[#*_`>]+", " ", desc or "")
    d = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", d)
    for para in d.split("\n"):
        para = " ".join(para.split()).strip(" -")
        if len(para) < 25:
            continue
        m = re.match(r"(.+?[.!?])(\s|$)", para)
        return (m.group(1) if m else para)[:300]
    return ""


def main(seed=SEED, n=N, used=("dev.jsonl", "heldout/heldout.jsonl")):
    repo = sys.argv[1]
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    used_urls, used_texts = set(), set()
    for path in (here + "/" + u for u in used):
        for line in open(path):
            if line.strip():
                r = json.loads(line)
                used_urls.add(r["source"].split("#", 1)[0])
                used_texts.add(norm(r["text"]))
    git = ["git", "-C", repo]
    names = subprocess.run(git + ["ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True, check=True).stdout
    ids = sorted(int(m.group(1)) for m in re.finditer(r"^backup_data/workflows/(\d+)/metadata\.json$", names, re.M))
    eligible = []
    for i in ids:
        url = "https://n8n.io/workflows/%d" % i
        if url in used_urls or split_of(url) != "dev":
            continue
        meta = json.loads(subprocess.run(git + ["show", "HEAD:backup_data/workflows/%d/metadata.json" % i],
                                         capture_output=True, text=True, check=True).stdout)
        title = " ".join((meta.get("title") or "").split())
        if not title or not TOPIC.search(title) or AI_WORDS.search(title) or norm(title) in used_texts:
            continue
        eligible.append((i, url, title, first_sentence(meta.get("description"))))
    rng = random.Random(seed)
    drawn = sorted(rng.sample(eligible, n))
    seen = set()
    for i, url, title, desc in drawn:
        kind = "description" if rng.random() < DESC_SHARE and desc and norm(desc) not in used_texts else "title"
        text = desc if kind == "description" else title
        if re.fullmatch(r"https?://\S+", text) or norm(text) in seen:
            # a bare link is no request; a repeated wording is one item
            continue
        seen.add(norm(text))
        print(json.dumps({"id": i, "source": url, "kind": kind, "text": text, "title": title}, ensure_ascii=False))
    print("eligible %d, drawn %d, seed %d" % (len(eligible), n, seed), file=sys.stderr)


if __name__ == "__main__":
    main()
