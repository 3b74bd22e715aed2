"""Run the conformance cases against nats-server 2.12.8 and `jetsim serve`.

    python suite.py --nats-server BIN --jetsim BIN [--only SUBSTR] [--pairs single,cluster]
                    [--out DIR] [--readme README.md]

Pairs: `single` = nats-server alone vs `jetsim serve --servers 1`;
`cluster` = a 3-node nats-server cluster vs `jetsim serve --servers 3`.
Every non-cluster case runs on both pairs, cluster cases on `cluster` only.
Exit status 1 if a case fails and is not in known-differences.toml, if a
listed case now passes, if the list names an unknown case, if the oracle
itself errors, or if anything was not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import tempfile
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import (CASES, JetsimTarget, NatsServerTarget, TargetDown, normalise, first_difference,  # noqa: E402
                     all_differences, run_case)
import cases_streams  # noqa: E402,F401
import cases_consumers  # noqa: E402,F401
import cases_cluster  # noqa: E402,F401
import test_natspy_client  # noqa: E402,F401

PAIRS = ("single", "cluster")


def load_known(path: str) -> dict:
    """{(case, pair): reason}. Errors name the entry."""
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    known = {}
    for i, d in enumerate(doc.get("difference", [])):
        where = f"{os.path.basename(path)} [[difference]] #{i + 1}"
        case, pairs, reason = d.get("case"), d.get("pairs"), d.get("reason")
        if not isinstance(case, str) or not case:
            raise SystemExit(f"{where}: 'case' must be a case name")
        if not isinstance(pairs, list) or not pairs or any(p not in PAIRS for p in pairs):
            raise SystemExit(f"{where} ({case}): 'pairs' must be a non-empty list of {PAIRS}")
        if not isinstance(reason, str) or not reason.strip():
            raise SystemExit(f"{where} ({case}): 'reason' is required")
        flaky = d.get("flaky", False)
        if not isinstance(flaky, bool):
            raise SystemExit(f"{where} ({case}): 'flaky' must be true or false")
        for p in pairs:
            if (case, p) in known:
                raise SystemExit(f"{where}: ({case}, {p}) listed twice")
            # A flaky entry: jetsim sometimes agrees, sometimes not (the reason
            # must say why); a pass is then reported as 'flaky', not 'fixed'.
            known[(case, p)] = (FLAKY_MARK + reason.strip()) if flaky else reason.strip()
    return known


FLAKY_MARK = "(flaky: jetsim passes sometimes) "


def classify(oracle: dict, jet: dict, oracle_target, jet_target, known_reason):
    """-> (status, diff, normalised oracle obs, normalised jetsim obs)."""
    gen_o, gen_j = oracle["generated"], jet["generated"]
    a = normalise(oracle["obs"], oracle_target.servers, oracle_target.n > 1, gen_o)
    b = normalise(jet["obs"], jet_target.servers, jet_target.n > 1, gen_j)
    if oracle["exception"]:
        return "error", f"the case failed on nats-server: {oracle['exception'].splitlines()[0]}", a, b
    diff = first_difference(a, b)
    if diff is None:
        if known_reason and known_reason.startswith(FLAKY_MARK):
            return "flaky", None, a, b
        return ("fixed" if known_reason else "pass"), None, a, b
    return ("known" if known_reason else "fail"), diff, a, b


async def run_pair(pair: str, cases, args, workroot, known, results, log):
    n = 1 if pair == "single" else 3
    oracle = NatsServerTarget(n, os.path.join(workroot, f"nats-{n}"), args.nats_server)
    if args.against_oracle:
        # Self-test mode: a second, independent nats-server set stands in for
        # jetsim; every case must then pass (normalisation and determinism check).
        jet = NatsServerTarget(n, os.path.join(workroot, f"nats2-{n}"), args.nats_server)
    else:
        jet = JetsimTarget(n, os.path.join(workroot, f"jetsim-{n}"), args.jetsim, seed=args.seed)
    for t in (oracle, jet):
        try:
            await t.start()
            log(f"[{pair}] {t.name} up: {' '.join(t.urls)}")
        except (TargetDown, Exception) as e:
            t.error = str(e) if isinstance(e, TargetDown) else f"{t.name}: {type(e).__name__}: {e}"
            log(f"[{pair}] {t.name} DOWN: {t.error}")
            await t.stop()
    try:
        for c in cases:
            t0 = time.monotonic()
            ro, rj = await asyncio.gather(run_case(oracle, c), run_case(jet, c))
            reason = known.get((c.name, pair))
            status, diff, a, b = classify(ro, rj, oracle, jet, reason)
            diffs = [{"label": l, "path": p, "nats_server": x, "jetsim": y}
                     for l, p, x, y in all_differences(a, b)] if diff else []
            results.append({
                "case": c.name, "pair": pair, "spec": c.spec, "status": status, "diff": diff,
                "differences": diffs,
                "known_reason": reason, "seconds": round(time.monotonic() - t0, 2),
                "nats_server": a, "jetsim": b,
            })
            mark = {"pass": "ok", "known": "known", "flaky": "flaky", "fail": "FAIL", "fixed": "FIXED",
                    "error": "ERROR"}[status]
            log(f"[{pair}] {mark:5} {c.name} ({time.monotonic() - t0:.1f}s)" + (f": {diff}" if diff and status != "known" else ""))
    finally:
        await oracle.stop()
        await jet.stop()


def table(results, known, total_expected) -> str:
    by = {}
    for r in results:
        by.setdefault(r["pair"], []).append(r)
    lines = ["| pair | cases | passing | known differences | failing |", "|---|---:|---:|---:|---:|"]
    for p in PAIRS:
        rs = by.get(p, [])
        cnt = lambda *s: sum(1 for r in rs if r["status"] in s)
        lines.append(f"| {p} (nats-server {'alone' if p == 'single' else '3-node cluster'} vs jetsim serve "
                     f"--servers {1 if p == 'single' else 3}) | {len(rs)} | {cnt('pass')} | {cnt('known')} | "
                     f"{cnt('fail', 'error', 'fixed')} |")
    names = sorted({r["case"] for r in results})
    lines.append("")
    lines.append(f"{len(names)} cases ({sum(1 for c in CASES if c.cluster)} cluster-only). Known differences:")
    lines.append("")
    kd = {}
    for r in results:
        if r["status"] in ("known", "flaky"):
            kd.setdefault((r["case"], r["known_reason"]), []).append(r["pair"])
    cell = lambda s, n=200: (s if len(s) <= n else s[: n - 1] + "…").replace("|", "\\|")
    if kd:
        lines.append("| case | pairs | reason (full text in known-differences.toml) |")
        lines.append("|---|---|---|")
        for (case, reason), pairs in sorted(kd.items()):
            lines.append(f"| `{case}` | {', '.join(pairs)} | {cell(reason)} |")
    else:
        lines.append("(none)")
    # The differences shared by most failing runs: where to look first.
    freq = {}
    for r in results:
        if r["status"] in ("known", "fail"):
            seen = set()
            for d in r.get("differences") or []:
                path = re.sub(r"\[\d+\]", "[]", d["path"])
                kind = ("jetsim adds" if d["nats_server"] == harness.MISSING else
                        "jetsim lacks" if d["jetsim"] == harness.MISSING else "differs:")
                key = f"{kind} `{path}`"
                if key not in seen:
                    seen.add(key)
                    freq[key] = freq.get(key, 0) + 1
    if freq:
        lines.append("")
        lines.append("Most frequent differences (number of differing case runs that show them):")
        lines.append("")
        for key, n in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:12]:
            lines.append(f"- {cell(key, 120)}: {n}")
    return "\n".join(lines) + "\n"


def update_readme(path: str, md: str):
    begin, end = "<!-- conformance-table:begin -->", "<!-- conformance-table:end -->"
    text = open(path).read()
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: no {begin} ... {end} markers")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    open(path, "w").write(head + begin + "\n" + md + end + tail)


def retable(args) -> int:
    """Recompute verdicts of a stored run against the current known list and
    rewrite table.md (and the README table); no servers are started."""
    doc = json.load(open(args.from_results))
    known = load_known(args.known)
    for r in doc["results"]:
        if r["status"] == "error":
            continue
        reason = known.get((r["case"], r["pair"]))
        differs = r["status"] in ("fail", "known")
        r["known_reason"] = reason
        flaky = bool(reason) and reason.startswith(FLAKY_MARK)
        r["status"] = (("known" if reason else "fail") if differs else
                       ("flaky" if flaky else "fixed" if reason else "pass"))
    results = doc["results"]
    ran = {(r["case"], r["pair"]) for r in results}
    stale = [f"{c} [{p}]" for (c, p) in known if (c, p) not in ran]
    md = table(results, known, len(results))
    doc["summary"] = {s: sum(1 for r in results if r["status"] == s)
                      for s in ("pass", "known", "flaky", "fail", "fixed", "error")}
    with open(args.from_results, "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(os.path.dirname(args.from_results), "table.md"), "w") as f:
        f.write(md)
    if args.readme and doc.get("full_run"):
        update_readme(args.readme, md)
    print(md)
    print(f"summary: {doc['summary']}")
    for s in stale:
        print(f"  PROBLEM: known-differences lists {s}, which the stored run did not run")
    bad = [r for r in results if r["status"] in ("fail", "fixed", "error")]
    return 1 if bad or stale or doc.get("problems") else 0


async def main_async(args):
    known = {} if args.against_oracle else load_known(args.known)
    names = {c.name for c in CASES}
    problems = []
    for (case, pair) in known:
        if case not in names:
            problems.append(f"known-differences lists unknown case {case!r}")
        elif pair == "single" and next(c for c in CASES if c.name == case).cluster:
            problems.append(f"known-differences lists cluster-only case {case!r} for pair 'single'")
    selected = [c for c in CASES if not args.only or any(s in c.name for s in args.only.split(","))]
    pairs = [p for p in args.pairs.split(",") if p]
    for p in pairs:
        if p not in PAIRS:
            raise SystemExit(f"--pairs: unknown pair {p!r} (pairs: {', '.join(PAIRS)})")
    workroot = tempfile.mkdtemp(prefix="jetsim-conformance-")
    results: list = []
    t0 = time.monotonic()

    def log(s):
        print(s, flush=True)

    tasks = []
    for p in pairs:
        cs = [c for c in selected if p == "cluster" or not c.cluster]
        tasks.append(run_pair(p, cs, args, workroot, known, results, log))
    await asyncio.gather(*tasks)

    # Everything expected ran?
    expected = {(c.name, p) for c in selected for p in pairs if p == "cluster" or not c.cluster}
    ran = {(r["case"], r["pair"]) for r in results}
    for (c, p) in sorted(expected - ran):
        problems.append(f"{c} [{p}] did not run")
    full_run = not args.only and set(pairs) == set(PAIRS)
    if not full_run:
        problems.append(f"partial run (--only/--pairs): {len(expected)} of the suite's case runs")

    order = {c.name: i for i, c in enumerate(CASES)}
    results.sort(key=lambda r: (PAIRS.index(r["pair"]), order[r["case"]]))
    os.makedirs(args.out, exist_ok=True)
    md = table(results, known, len(expected))
    summary = {s: sum(1 for r in results if r["status"] == s) for s in ("pass", "known", "flaky", "fail", "fixed", "error")}
    doc = {
        "schema": 1, "nats_server": "2.12.8", "seconds": round(time.monotonic() - t0, 1),
        "full_run": full_run, "summary": summary, "problems": problems,
        "normalisation": [{"what": w, "why": y} for w, y in harness.NORMALISATION],
        "results": results,
    }
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(md)
    if args.readme and full_run and not args.against_oracle:
        update_readme(args.readme, md)
    print()
    print(md)
    print(f"summary: {summary} in {doc['seconds']}s; results in {args.out}/results.json")
    bad = [r for r in results if r["status"] in ("fail", "fixed", "error")]
    for r in bad:
        what = {"fail": "differs and is not a known difference",
                "fixed": "now passes: remove it from known-differences.toml",
                "error": "errors on nats-server (a case bug)"}[r["status"]]
        print(f"  {r['status'].upper()}: {r['case']} [{r['pair']}] {what}: {r['diff'] or ''}")
    for p in problems:
        print(f"  PROBLEM: {p}")
    return 1 if bad or problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nats-server", default="")
    ap.add_argument("--jetsim", default="")
    ap.add_argument("--against-oracle", action="store_true",
                    help="compare nats-server with a second nats-server (self-test of the cases and normalisation)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default="", help="comma-separated substrings of case names")
    ap.add_argument("--pairs", default="single,cluster")
    ap.add_argument("--known", default=os.path.join(HERE, "known-differences.toml"))
    ap.add_argument("--out", default="target/conformance")
    ap.add_argument("--readme", default="", help="README to update between the conformance-table markers")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--from-results", default="",
                    help="no run: re-judge a stored results.json against --known, rewrite table.md (and --readme)")
    args = ap.parse_args()
    if args.from_results:
        return retable(args)
    if not args.nats_server and not args.list:
        ap.error("--nats-server BIN is required")
    if not args.jetsim and not args.against_oracle and not args.list:
        ap.error("--jetsim BIN is required (or --against-oracle)")
    if args.list:
        for c in CASES:
            print(f"{c.name:48} {'cluster ' if c.cluster else ''}{c.spec}")
        print(f"{len(CASES)} cases")
        return 0
    def _term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _term)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
