"""Draft known-differences.toml from a run's results.json.

    python known_draft.py target/conformance/results.json > tests/conformance/known-differences.toml

Every case that differs gets one entry; its reason lists the distinct
differences found (path, nats-server value, jetsim value), so the reason is
the evidence, not a guess. Edit a reason by hand when the cause is known
better (a hand-written reason is kept if the case is still listed with the
same pairs: pass the current file with --keep)."""

import argparse
import json
import os
import re
import sys
import tomllib

MISSING = "<missing>"


def short(v, n=48):
    s = json.dumps(v) if not isinstance(v, str) else v
    return s if len(s) <= n else s[: n - 1] + "…"


def summarise(d) -> tuple:
    label, path, x, y = d["label"], re.sub(r"\[\d+\]", "[]", d["path"]), d["nats_server"], d["jetsim"]
    if path == "(observation)":
        if x == "$exception" or y == "$exception":
            return ("exc", "jetsim side failed before the observation ('$exception')")
        return ("obs", f"observation {x!r} vs {y!r}")
    if label == "$exception":
        return ("exc", f"jetsim raised: {short(y, 90)}")
    if x == MISSING:
        return (path, f"jetsim adds {path} ({short(y, 40)})")
    if y == MISSING:
        return (path, f"jetsim lacks {path}")
    if isinstance(x, str) and isinstance(y, str):
        p = len(os.path.commonprefix([x, y]))
        if p > 24:  # show where the texts part
            x, y = "…" + x[p - 12:], "…" + y[p - 12:]
    return (path, f"{path}: {short(x)} vs jetsim {short(y)}")


def reason_of(r) -> str:
    seen, parts = set(), []
    for d in r.get("differences") or []:
        key, text = summarise(d)
        if key in seen:
            continue
        seen.add(key)
        parts.append(text)
    if not parts:
        parts = [r.get("diff") or "differs"]
    more = len(parts) - 3
    return "; ".join(parts[:3]) + (f" (+{more} more)" if more > 0 else "")


def toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--keep", help="current known-differences.toml: keep its hand-written reasons")
    args = ap.parse_args()
    doc = json.load(open(args.results))
    keep = {}
    if args.keep and os.path.exists(args.keep):
        for d in tomllib.load(open(args.keep, "rb")).get("difference", []):
            if d.get("hand"):
                keep[d["case"]] = d
    by_case = {}
    order = []
    for r in doc["results"]:
        if r["status"] in ("fail", "known", "flaky"):
            if r["case"] not in by_case:
                order.append(r["case"])
                by_case[r["case"]] = []
            by_case[r["case"]].append(r)
    print("# Cases where jetsim serve differs from nats-server 2.12.8, with the reason.")
    print("# tests/conformance/run fails if a case differs and is not listed here, and")
    print("# also if a listed case passes (then remove it). Drafted by known_draft.py")
    print("# from a run's results.json: a reason lists the differences found")
    print("# (nats-server value vs jetsim value); `hand = true` marks a reason written")
    print("# by hand, which `known_draft.py --keep` preserves.")
    for case in order:
        rs = by_case[case]
        pairs = [r["pair"] for r in rs]
        k = keep.get(case)
        print()
        print("[[difference]]")
        print(f"case = {toml_str(case)}")
        print(f"pairs = {json.dumps(pairs)}")
        if k and sorted(k.get("pairs", [])) == sorted(pairs):
            print(f"reason = {toml_str(k['reason'])}")
            print("hand = true")
            if k.get("flaky"):
                print("flaky = true")
            continue
        reasons = {p: reason_of(r) for p, r in zip(pairs, rs)}
        if len(set(reasons.values())) == 1:
            print(f"reason = {toml_str(reasons[pairs[0]])}")
        else:
            print(f"reason = {toml_str(' // '.join(f'{p}: {reasons[p]}' for p in pairs))}")


if __name__ == "__main__":
    sys.exit(main())
