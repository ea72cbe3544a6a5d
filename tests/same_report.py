#!/usr/bin/env python3
"""A merged report against an unsharded run of the same suite (tests/test_shard.sh, tests/test_slurm.sh):
the same configurations and the same columns. Prints PASS/FAIL lines.
    python3 tests/same_report.py MERGED_DIR WHOLE_DIR [SUITE=paper]"""
import json
import sys

merged, whole = sys.argv[1:3]
suite = sys.argv[3] if len(sys.argv) > 3 else "paper"
key = lambda r: (r["model"], r["variant"], r["block_policy"], r["token_policy"], r["batch"], r["threads"])
m, w = json.load(open(f"{merged}/{suite}.json")), json.load(open(f"{whole}/{suite}.json"))
ok = sorted(map(key, m["results"])) == sorted(map(key, w["results"]))
print(("PASS" if ok else "FAIL") + f" merged and unsharded: the same {len(w['results'])} configurations")
ok = bool(m["results"]) and all(sorted(a) == sorted(b) for a, b in zip(m["results"], w["results"]))
print(("PASS" if ok else "FAIL") + " merged and unsharded: the same columns")
