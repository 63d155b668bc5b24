#!/usr/bin/env python3
"""Draw the template ids of the external dev4 set (session 24) at random.

    python3 evals/nl2flow/data/external/sample_dev4.py /path/to/n8nworkflow.com.git > /tmp/dev4-candidates.jsonl

dev, dev2 and dev3 are mostly requests that name systems the example catalog
lacks (Google Sheets, Airtable, Notion, ...). dev4 draws requests over systems
the catalog has, the part the held-back split weighs most. Selection rule,
fixed before anything was drawn (the rest is sample_dev2.py's: same archive,
AI/LLM titles left out, dev side of splitOf, nothing already used):
- the quoted text names a system of systems.tsv (mapped onto the catalog) or a
  generic kind of the catalog's systems (KIND below: CRM, chat, email,
  tracker, ticket, invoice, ...);
- it names no product the catalog lacks, read mechanically: no word that is
  capitalised, not the text's first word, not a systems.tsv name, and that
  the archive's titles write in lower case less than LOWER_SHARE of the
  times they use it (so "Daily" 0.52, "Contacts" 0.88 or "Create" 0.10 pass;
  "Google" 0.002, "Sheets" 0.02, "Notion" 0.01, "Discord" 0.03 do not). The
  rule is a filter, not an annotation: an item may still ask for something
  the catalog lacks, and the annotation says so.
  (A first version counted a word as English when it appeared in lower case
  in 3 titles or more; its draw, read before any annotation or compiler run,
  was full of Google Sheets and Notion, which people also write in lower
  case, so the share replaced the count and the same seed was drawn again.)
Each drawn id is quoted as the first sentence of its description with
probability DESC_SHARE (when that sentence passes the same rule) or else as its
title. Annotated by hand onto the example catalog (README.md) into
dev4.jsonl, ids x701 on in this order, before the compiler was run on any of
them.
"""
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sample_dev2  # noqa: E402

SEED = 20261224
N = 90
DESC_SHARE = 0.35
LOWER_SHARE = 0.08

KIND = re.compile(r"\b(crm|chat|e-?mails?|mail|tracker|tickets?|ticketing|issues?|tasks?|invoices?|invoicing|"
                  r"sales orders?|erp|accounting|leads?|contacts?|deals?|customers?|employees?|onboarding|"
                  r"webhooks?|http|api)\b", re.I)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9.'-]*")


def systems(here):
    names = []
    for line in open(os.path.join(here, "systems.tsv")):
        if line.strip() and not line.startswith("#"):
            names.append(line.split("\t")[0].strip())
    return sorted(names, key=len, reverse=True)


def main():
    repo = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    sysnames = systems(here)
    sysre = re.compile(r"\b(" + "|".join(re.escape(n) for n in sysnames) + r")\b", re.I)
    used_urls, used_texts = set(), set()
    for u in ("dev.jsonl", "dev2.jsonl", "dev3.jsonl", "heldout/heldout.jsonl"):
        for line in open(os.path.join(here, u)):
            if line.strip():
                r = json.loads(line)
                used_urls.add(r["source"].split("#", 1)[0])
                used_texts.add(sample_dev2.norm(r["text"]))
    git = ["git", "-C", repo]
    names = subprocess.run(git + ["ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True, check=True).stdout
    ids = sorted(int(m.group(1)) for m in re.finditer(r"^backup_data/workflows/(\d+)/metadata\.json$", names, re.M))
    metas = {}
    lower, total = Counter(), Counter()
    inp = "".join("HEAD:backup_data/workflows/%d/metadata.json\n" % i for i in ids).encode()
    out = subprocess.run(git + ["cat-file", "--batch"], input=inp, capture_output=True, check=True).stdout
    pos = 0
    for i in ids:
        nl = out.index(b"\n", pos)
        size = int(out[pos:nl].split()[2])
        meta = json.loads(out[nl + 1:nl + 1 + size])
        pos = nl + 1 + size + 1
        title = " ".join((meta.get("title") or "").split())
        metas[i] = (title, sample_dev2.first_sentence(meta.get("description")))
        for w in set(WORD.findall(title)):
            total[w.lower()] += 1
            if w.islower():
                lower[w] += 1

    def over_catalog(text):
        if not text or sample_dev2.AI_WORDS.search(text):
            return False
        if not sysre.search(text) and not KIND.search(text):
            return False
        rest = sysre.sub(" ", text)
        words = WORD.findall(rest)
        first = WORD.findall(text)[:1]
        for w in words:
            if first and w == first[0]:
                continue
            k = w.lower().rstrip(".'")
            if w[0].isupper() and lower[k] < LOWER_SHARE * max(total[k], 1):
                return False
        return True

    eligible = []
    for i in ids:
        url = "https://n8n.io/workflows/%d" % i
        title, desc = metas[i]
        if url in used_urls or sample_dev2.split_of(url) != "dev":
            continue
        if not over_catalog(title) or sample_dev2.norm(title) in used_texts:
            continue
        eligible.append((i, url, title, desc))
    rng = random.Random(SEED)
    drawn = sorted(rng.sample(eligible, N))
    seen = set()
    for i, url, title, desc in drawn:
        use_desc = rng.random() < DESC_SHARE
        kind = "description" if use_desc and over_catalog(desc) and sample_dev2.norm(desc) not in used_texts else "title"
        text = desc if kind == "description" else title
        if re.fullmatch(r"https?://\S+", text) or sample_dev2.norm(text) in seen:
            continue
        seen.add(sample_dev2.norm(text))
        print(json.dumps({"id": i, "source": url, "kind": kind, "text": text, "title": title}, ensure_ascii=False))
    print("eligible %d, drawn %d, seed %d" % (len(eligible), N, SEED), file=sys.stderr)


if __name__ == "__main__":
    main()
