"""Self-test of the conformance harness: it must fail when it should.

    python selftest.py --nats-server BIN

1. Normalisation and comparison on hand-made observations: volatile fields
   compare equal, everything else (payloads, order, headers, delivery counts,
   sequences, leader names outside the cluster, the zero time) differs.
2. Classification: a listed difference that now passes is 'fixed' (a
   failure), an oracle exception is 'error', an unlisted difference 'fail'.
3. Live: a few real cases against two independent nats-servers must agree;
   a case that behaves differently on the second server must fail; and every
   leaf of the real observations, mutated, must be detected unless the
   normaliser names it volatile (so a normaliser that hides too much fails).
"""

import argparse
import asyncio
import copy
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import Case, NatsServerTarget, normalise, first_difference, run_case  # noqa: E402
import suite  # noqa: E402

FAILS = []


def check(what, ok):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        FAILS.append(what)


def same(a, b, servers=("n1", "n2", "n3"), clustered=True, ga=(), gb=()):
    return first_difference(normalise(a, list(servers), clustered, list(ga)),
                            normalise(b, list(servers), clustered, list(gb))) is None


def unit_tests():
    print("normalisation and comparison")
    t1, t2 = "2026-11-26T15:00:00.123456789Z", "2026-11-26T16:30:01.5Z"
    si = lambda ts, leader, seq=3, data="m": [["info", {"created": ts, "state": {"last_ts": ts, "last_seq": seq},
                                                       "cluster": {"leader": leader, "replicas": [
                                                           {"name": "n2", "current": True, "active": 123}]}}],
                                             ["msg", {"subject": "a", "data": data}]]
    check("timestamps and leader names are volatile", same(si(t1, "n1"), si(t2, "n3")))
    check("a leader outside the cluster differs", not same(si(t1, "n1"), si(t1, "n9")))
    check("a sequence differs", not same(si(t1, "n1"), si(t1, "n1", seq=4)))
    check("a payload differs", not same(si(t1, "n1"), si(t1, "n1", data="x")))
    check("the zero time is not a timestamp", not same([["t", {"first_ts": harness.ZERO_TIME}]], [["t", {"first_ts": t1}]]))
    check("a non-time string in a time field differs", not same([["t", {"ts": "yesterday"}]], [["t", {"ts": t1}]]))
    check("single-server leader names are compared",
          not same([["c", {"cluster": {"leader": "n1"}}]], [["c", {"cluster": {"leader": "n2"}}]], clustered=False))
    ack = lambda dc, ts, sseq=5: [["d", {"reply": f"$JS.ACK.S.C.{dc}.{sseq}.7.{ts}.0"}]]
    check("the ack timestamp token is volatile", same(ack(1, 1764000000000000000), ack(1, 1764000000999999999)))
    check("the delivery count token is compared", not same(ack(1, 1), ack(2, 1)))
    check("the stream sequence token is compared", not same(ack(1, 1, 5), ack(1, 1, 6)))
    d = lambda *subjects: [["deliveries", [{"subject": s, "data": s} for s in subjects]]]
    check("delivery order is compared", not same(d("a", "b"), d("b", "a")))
    check("a missing delivery is detected", not same(d("a", "b"), d("a")))
    h = lambda v: [["m", {"headers": {"Status": "408", "Nats-Pending-Messages": v}}]]
    check("status headers are compared", not same(h("2"), h("3")))
    check("Nats-Time-Stamp is volatile", same([["m", {"headers": {"Nats-Time-Stamp": t1}}]],
                                              [["m", {"headers": {"Nats-Time-Stamp": t2}}]]))
    check("an extra observation is detected", not same(d("a"), d("a") + [["x", 1]]))
    check("labels are compared", not same([["a", 1]], [["b", 1]]))
    g = lambda names: [["names", names], ["ack", f"$JS.ACK.S.{names[0]}.1.1.1.5.0"]]
    check("generated names map by first appearance", same(g(["AbC", "xYz"]), g(["QqQ", "RrR"]),
                                                          ga=["AbC", "xYz"], gb=["QqQ", "RrR"]))
    check("generated names swapped between roles differ",
          not same([["a", "AbC"], ["b", "xYz"]], [["a", "RrR"], ["b", "QqQ"]], ga=["AbC", "xYz"], gb=["QqQ", "RrR"]))
    check("undeclared random names are not normalised", not same([["n", "AbC"]], [["n", "QqQ"]]))
    api = lambda total, streams: [["i", {"api": {"total": total, "errors": 0, "level": 3}, "streams": streams}]]
    check("API counters are volatile", same(api(10, 1), api(99, 1)))
    check("account stream counts are compared", not same(api(10, 1), api(10, 2)))
    usage = lambda m: [["i", {"type": "io.nats.jetstream.api.v1.account_info_response", "memory": m}]]
    check("account usage is compared on a single server", not same(usage(0), usage(44), clustered=False))
    check("account usage is cluster timing on 3 servers", same(usage(0), usage(44), clustered=True))
    check("usage-named fields elsewhere are compared", not same([["s", {"memory": 0}]], [["s", {"memory": 44}]]))

    print("classification")
    o = {"obs": [["a", 1]], "generated": [], "exception": None}
    j_same = {"obs": [["a", 1]], "generated": [], "exception": None}
    j_diff = {"obs": [["a", 2]], "generated": [], "exception": None}
    tg = NatsServerTarget(1, "/nonexistent", "nats-server")
    check("equal and unlisted → pass", suite.classify(o, j_same, tg, tg, None)[0] == "pass")
    check("equal but listed → fixed (fails the run)", suite.classify(o, j_same, tg, tg, "reason")[0] == "fixed")
    check("different and listed → known", suite.classify(o, j_diff, tg, tg, "reason")[0] == "known")
    check("different and unlisted → fail", suite.classify(o, j_diff, tg, tg, None)[0] == "fail")
    check("equal and listed as flaky → flaky (not a failure)",
          suite.classify(o, j_same, tg, tg, suite.FLAKY_MARK + "reason")[0] == "flaky")
    check("different and listed as flaky → known",
          suite.classify(o, j_diff, tg, tg, suite.FLAKY_MARK + "reason")[0] == "known")
    o_exc = dict(o, exception="KeyError: x")
    check("an oracle exception → error even if listed", suite.classify(o_exc, j_same, tg, tg, "reason")[0] == "error")

    print("known-differences file")
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write('[[difference]]\ncase = "x"\npairs = ["single", "nowhere"]\nreason = "r"\n')
    try:
        suite.load_known(f.name)
        check("an unknown pair is refused", False)
    except SystemExit as e:
        check("an unknown pair is refused, naming the entry", "#1" in str(e) and "pairs" in str(e))
    with open(f.name, "w") as g2:
        g2.write('[[difference]]\ncase = "x"\npairs = ["single"]\n')
    try:
        suite.load_known(f.name)
        check("a missing reason is refused", False)
    except SystemExit as e:
        check("a missing reason is refused", "reason" in str(e))
    os.unlink(f.name)


LEAVES_VOLATILE = {"created", "ts", "first_ts", "last_ts", "time", "last_active", "leader_since", "Nats-Time-Stamp"}


def leaves(v, path=()):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, path + (i,))
    else:
        yield path, v


def mutate(v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, str):
        return v + "~"
    if v is None:
        return 0
    return "~"


def set_path(root, path, value):
    x = root
    for p in path[:-1]:
        x = x[p]
    x[path[-1]] = value


async def live_tests(nats_bin):
    print("live: two independent nats-servers")
    work = tempfile.mkdtemp(prefix="jetsim-conformance-selftest-")
    a = NatsServerTarget(1, os.path.join(work, "a"), nats_bin)
    b = NatsServerTarget(1, os.path.join(work, "b"), nats_bin)
    await a.start()
    await b.start()
    try:
        import cases_streams, cases_consumers  # noqa: F401
        names = ["stream_create_defaults", "stream_msg_get", "stream_direct_get", "pull_basic_batch_and_ack",
                 "pull_expires_408", "consumer_create_ephemeral", "ack_wait_redelivery", "account_info"]
        picked = [c for c in harness.CASES if c.name in names]
        check(f"the {len(names)} chosen cases exist", len(picked) == len(names))
        all_obs = []
        for c in picked:
            ra, rb = await asyncio.gather(run_case(a, c), run_case(b, c))
            st, diff, na, nb = suite.classify(ra, rb, a, b, None)
            check(f"{c.name}: two nats-servers agree ({diff or 'equal'})", st == "pass")
            all_obs.append((c.name, na))

        # A case whose behaviour depends on the target must fail.
        async def sabotaged(t):
            await t.stream("SAB", subjects=["sab.>"])
            await t.pubo("ack", "sab.a", "payload" if t.target is a else "PAYLOAD")
            await t.apio("get", "STREAM.MSG.GET.SAB", {"seq": 1})
        c = Case("sabotaged", sabotaged, "selftest", False)
        ra, rb = await asyncio.gather(run_case(a, c), run_case(b, c))
        st, diff, _, _ = suite.classify(ra, rb, a, b, None)
        check(f"a target-dependent payload is caught ({diff})", st == "fail" and "'get'" in (diff or ""))

        async def extra_redelivery(t):
            await t.stream("SAB", subjects=["sab.>"])
            await t.pub("sab.a", "x")
            await t.consumer("SAB", "C", ack_policy="explicit", ack_wait=300_000_000)
            msgs = await t.pull("SAB", "C", {"batch": 1}, expect=1)
            if t.target is b:  # nak on one side only: a redelivery count differs
                await t.ack(msgs[0], "-NAK")
                await asyncio.sleep(0.1)
            t.obs("next", t.view(await t.pull("SAB", "C", {"batch": 1, "no_wait": True})))
        c = Case("extra_redelivery", extra_redelivery, "selftest", False)
        ra, rb = await asyncio.gather(run_case(a, c), run_case(b, c))
        st, diff, _, _ = suite.classify(ra, rb, a, b, None)
        check(f"a redelivery on one side only is caught ({diff})", st == "fail")

        print("live: every non-volatile leaf, mutated, is detected")
        total = detected = 0
        missed = []
        for name, obs in all_obs:
            for i, (label, value) in enumerate(obs):
                for path, leaf in leaves(value):
                    if isinstance(leaf, str) and leaf.startswith("<") and leaf.endswith(">"):
                        continue  # already a placeholder: volatile by a named rule
                    if any(p in LEAVES_VOLATILE for p in path if isinstance(p, str)) and leaf == harness.ZERO_TIME:
                        pass  # the zero time is compared: mutate it too
                    total += 1
                    m = copy.deepcopy(obs)
                    if path:
                        set_path(m[i][1], path, mutate(leaf))
                    else:
                        m[i][1] = mutate(leaf)
                    # Re-normalise the mutated side as the harness would.
                    if first_difference(obs, normalise(m, ["n1"], False, [])) is not None:
                        detected += 1
                    else:
                        missed.append(f"{name}/{label}/{'.'.join(map(str, path))}")
        check(f"{detected}/{total} mutations detected" + (f"; missed: {missed[:5]}" if missed else ""),
              total > 100 and detected == total)
    finally:
        await a.stop()
        await b.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nats-server", required=True)
    args = ap.parse_args()
    unit_tests()
    asyncio.run(live_tests(args.nats_server))
    if FAILS:
        print(f"selftest: {len(FAILS)} check(s) failed")
        return 1
    print("selftest: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
