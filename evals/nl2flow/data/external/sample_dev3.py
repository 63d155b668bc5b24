#!/usr/bin/env python3
"""Draw the template ids of the external dev3 set (session 19) at random.

    python3 evals/nl2flow/data/external/sample_dev3.py /path/to/n8nworkflow.com.git > /tmp/dev3-candidates.jsonl

Exactly sample_dev2.py's draw (same selection rule, same split side, same
description share), with a new seed, and with dev2.jsonl also counted as
used, so dev3 is disjoint from dev, dev2 and held-back. Annotated by hand onto
the example catalog (README.md) into dev3.jsonl, ids x501 on in this order,
and committed before the compiler was run on any of them.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sample_dev2  # noqa: E402

SEED = 20261219
N = 130

if __name__ == "__main__":
    sample_dev2.__file__ = os.path.abspath(sample_dev2.__file__)
    sample_dev2.main(seed=SEED, n=N, used=("dev.jsonl", "dev2.jsonl", "heldout/heldout.jsonl"))
