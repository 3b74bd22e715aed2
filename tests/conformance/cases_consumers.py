"""Consumer cases: create variants and errors, info/names/list/delete, pull
requests (batch, expires, no_wait, max_bytes, the 404/408/409 statuses), acks
(+ACK, -NAK, +WPI, +TERM, +NXT, ack-all, ack sync), redelivery, max_deliver,
backoff, max_ack_pending, deliver policies, filters, push consumers (flow
control, heartbeats, queue groups), interest and workqueue retention."""

import asyncio
import json

from harness import case, msg_view, status_of, ack_tokens


def acks_of(msgs):
    """The compared tokens of each delivered message's ack subject, plus its subject and data."""
    out = []
    for m in msgs:
        if isinstance(m, dict):
            out.append(m)
        elif status_of(m):
            out.append({"status": status_of(m), "description": m.headers.get("Description")})
        else:
            d = {"subject": m.subject, "data": m.data.decode(errors="replace")}
            d.update(ack_tokens(m.reply or ""))
            out.append(d)
    return out


async def setup(t, stream="CS", n=0, subjects=None, **cfg):
    await t.stream(stream, subjects=subjects or [f"{stream.lower()}.>"], **cfg)
    if n:
        await t.fill(f"{stream.lower()}.{{i}}", n)


# ---------------------------------------------------------------- create and errors

@case("§4.1 defaults; §2.2 consumer_create_response")
async def consumer_create_durable_pull_defaults(t):
    await setup(t, n=2)
    await t.consumer("CS", "D1", label="create", ack_policy="explicit")
    await t.cinfo("CS", "D1", "info")


@case("§4.1 ack_policy absent defaults to none; ephemeral legacy create gets a generated name")
async def consumer_create_ephemeral(t):
    await setup(t, n=1)
    r = await t.consumer("CS", None, label="ephemeral", deliver_policy="all")
    await t.apio("names", "CONSUMER.NAMES.CS")


@case("§4.1 named (non-durable) consumer via CONSUMER.CREATE.<s>.<c> with name")
async def consumer_create_named_ephemeral(t):
    await setup(t, n=1)
    await t.apio("create", "CONSUMER.CREATE.CS.EPH", {"stream_name": "CS", "config": {
        "name": "EPH", "ack_policy": "explicit", "inactive_threshold": 10_000_000_000}})


@case("§2.3 subject-form rules: 10017, 10020, 10131, 10132, 10056, stream not found")
async def consumer_create_subject_rules(t):
    await setup(t)
    await t.apio("durable differs from subject", "CONSUMER.CREATE.CS.A",
                 {"stream_name": "CS", "config": {"durable_name": "B", "ack_policy": "explicit"}})
    await t.apio("legacy with durable", "CONSUMER.CREATE.CS",
                 {"stream_name": "CS", "config": {"durable_name": "B", "ack_policy": "explicit"}})
    await t.apio("filter differs from subject", "CONSUMER.CREATE.CS.F.cs.a",
                 {"stream_name": "CS", "config": {"name": "F", "filter_subject": "cs.b", "ack_policy": "explicit"}})
    await t.apio("name differs from durable", "CONSUMER.CREATE.CS.N",
                 {"stream_name": "CS", "config": {"name": "N", "durable_name": "M", "ack_policy": "explicit"}})
    await t.apio("stream name mismatch", "CONSUMER.CREATE.CS.S",
                 {"stream_name": "OTHER", "config": {"durable_name": "S", "ack_policy": "explicit"}})
    await t.apio("stream not found", "CONSUMER.CREATE.NOPE.X",
                 {"stream_name": "NOPE", "config": {"durable_name": "X", "ack_policy": "explicit"}})
    await t.apio("unknown field", "CONSUMER.CREATE.CS.U",
                 {"stream_name": "CS", "config": {"durable_name": "U", "bogus": True}})


@case("§2.3 filter in the create subject; DURABLE.CREATE legacy form")
async def consumer_create_subject_forms(t):
    await setup(t)
    await t.apio("filtered form", "CONSUMER.CREATE.CS.F.cs.a",
                 {"stream_name": "CS", "config": {"name": "F", "filter_subject": "cs.a", "ack_policy": "explicit"}})
    await t.apio("durable create", "CONSUMER.DURABLE.CREATE.CS.DUR",
                 {"stream_name": "CS", "config": {"durable_name": "DUR", "ack_policy": "explicit"}})
    await t.apio("durable create without durable", "CONSUMER.DURABLE.CREATE.CS.DUR2",
                 {"stream_name": "CS", "config": {"ack_policy": "explicit"}})


@case("§2.3 action create/update (10148/10149); §7 #47 TestJetStreamConsumerActionsViaAPI")
async def consumer_create_actions(t):
    await setup(t)
    await t.consumer("CS", "A", label="update missing", action="update", ack_policy="explicit")
    await t.consumer("CS", "A", label="create", action="create", ack_policy="explicit")
    await t.consumer("CS", "A", label="create same", action="create", ack_policy="explicit")
    await t.consumer("CS", "A", label="create different", action="create", ack_policy="explicit", max_deliver=5)
    await t.consumer("CS", "A", label="update", action="update", ack_policy="explicit", max_deliver=5)
    await t.consumer("CS", "A", label="bad action", action="upsert", ack_policy="explicit")


@case("§4.1 immutable fields on update")
async def consumer_update_immutable(t):
    await setup(t)
    await t.consumer("CS", "IM", ack_policy="explicit")
    await t.consumer("CS", "IM", label="ack policy", ack_policy="all")
    await t.consumer("CS", "IM", label="deliver policy", ack_policy="explicit", deliver_policy="new")
    await t.consumer("CS", "IM", label="to push", ack_policy="explicit", deliver_subject="push.im")
    await t.consumer("CS", "IM", label="mutable ack_wait", ack_policy="explicit", ack_wait=5_000_000_000)


@case("§4.1 config validation errors (10094, 10116, 10080, 10088, 10083, 10089, 10108, 10136, 10138)")
async def consumer_config_validation(t):
    await setup(t)
    await t.consumer("CS", "V1", label="by_start_sequence without seq", ack_policy="explicit",
                     deliver_policy="by_start_sequence")
    await t.consumer("CS", "V2", label="opt_start_seq with deliver all", ack_policy="explicit", opt_start_seq=3)
    await t.consumer("CS", "V3", label="backoff longer than max_deliver", ack_policy="explicit",
                     max_deliver=2, backoff=[1_000_000_000, 2_000_000_000, 3_000_000_000])
    await t.consumer("CS", "V4", label="push with max_waiting", ack_policy="explicit",
                     deliver_subject="push.v4", max_waiting=10)
    await t.consumer("CS", "V5", label="pull with idle_heartbeat", ack_policy="explicit",
                     idle_heartbeat=1_000_000_000)
    await t.consumer("CS", "V6", label="heartbeat < 100ms", ack_policy="explicit",
                     deliver_subject="push.v6", idle_heartbeat=50_000_000)
    await t.consumer("CS", "V7", label="pull with flow_control", ack_policy="explicit", flow_control=True)
    await t.consumer("CS", "V8", label="flow_control without heartbeat", ack_policy="explicit",
                     deliver_subject="push.v8", flow_control=True)
    await t.consumer("CS", "V9", label="filter_subject and filter_subjects", ack_policy="explicit",
                     filter_subject="cs.a", filter_subjects=["cs.b"])
    await t.consumer("CS", "V10", label="overlapping filter_subjects", ack_policy="explicit",
                     filter_subjects=["cs.*", "cs.a"])
    await t.consumer("CS", "V11", label="last_per_subject without filter", ack_policy="explicit",
                     deliver_policy="last_per_subject")
    await t.consumer("CS", "V12", label="deliver_subject with wildcard", ack_policy="explicit",
                     deliver_subject="push.*")
    await t.consumer("CS", "V13", label="negative ack_wait", ack_policy="explicit", ack_wait=-1)
    await t.consumer("CS", "V14", label="rate limit on pull", ack_policy="explicit", rate_limit_bps=1000)
    await t.consumer("CS", "V15", label="deliver_subject cycles into the stream", ack_policy="explicit",
                     deliver_subject="cs.loop")
    await t.apio("names (none created)", "CONSUMER.NAMES.CS")


@case("§2.2 CONSUMER.INFO/NAMES/LIST/DELETE and their errors")
async def consumer_info_names_list_delete(t):
    await setup(t, n=3)
    for c in ["ZED", "ALF", "MID"]:
        await t.consumer("CS", c, ack_policy="explicit")
    await t.apio("names", "CONSUMER.NAMES.CS")
    r = await t.api("CONSUMER.LIST.CS")
    if isinstance(r.get("consumers"), list):
        r["consumers"] = sorted(r["consumers"], key=lambda c: c.get("name", ""))
    t.obs("list (sorted by name)", r)
    await t.apio("info with payload", "CONSUMER.INFO.CS.ALF", {"x": 1})
    await t.apio("info missing", "CONSUMER.INFO.CS.NOPE")
    await t.apio("info missing stream", "CONSUMER.INFO.NOPE.ALF")
    await t.apio("delete", "CONSUMER.DELETE.CS.MID")
    await t.apio("delete again", "CONSUMER.DELETE.CS.MID")
    await t.apio("names after delete", "CONSUMER.NAMES.CS")
    await t.info("CS", "stream info consumer_count")


# ---------------------------------------------------------------- pull

@case("§4.4 pull batch, acks, ConsumerInfo progress (§4.6)")
async def pull_basic_batch_and_ack(t):
    await setup(t, n=5)
    await t.consumer("CS", "P", ack_policy="explicit")
    msgs = await t.pull("CS", "P", {"batch": 3}, expect=3)
    t.obs("batch of 3", acks_of(msgs))
    t.obs("views", t.view(msgs))
    for m in msgs[:2]:
        await t.ack(m)
    await asyncio.sleep(0.2)
    await t.cinfo("CS", "P", "info after 2 acks")


@case("§4.4 empty payload = batch 1; integer payload = batch n")
async def pull_payload_forms(t):
    await setup(t, n=4)
    await t.consumer("CS", "P", ack_policy="none")
    t.obs("empty payload", acks_of(await t.pull("CS", "P", None, expect=1)))
    t.obs("integer 2", acks_of(await t.pull("CS", "P", 2, expect=2)))
    await t.cinfo("CS", "P", "info")


@case("§4.4 no_wait on an empty consumer → 404; §7 #39")
async def pull_no_wait_empty(t):
    await setup(t)
    await t.consumer("CS", "P", ack_policy="explicit")
    t.obs("no_wait", acks_of(await t.pull("CS", "P", {"batch": 5, "no_wait": True})))


@case("§4.4 no_wait ending at end of stream after deliveries → 404 (2.12.2+); §7 #45")
async def pull_no_wait_after_deliveries(t):
    await setup(t, n=2)
    await t.consumer("CS", "P", ack_policy="explicit")
    t.obs("no_wait batch 5", acks_of(await t.pull("CS", "P", {"batch": 5, "no_wait": True})))


@case("§4.4 expires → 408 with Nats-Pending-Messages/-Bytes; §7 #38 #39")
async def pull_expires_408(t):
    await setup(t, n=1)
    await t.consumer("CS", "P", ack_policy="explicit")
    msgs = await t.pull("CS", "P", {"batch": 3, "expires": 500_000_000}, wait=3)
    t.obs("deliveries", t.view(msgs))


@case("§4.4 max_bytes smaller than a message → 409 Message Size Exceeds MaxBytes; §7 #40")
async def pull_max_bytes_too_small(t):
    await setup(t)
    await t.pub("cs.a", "x" * 100)
    await t.consumer("CS", "P", ack_policy="explicit")
    t.obs("max_bytes 50", t.view(await t.pull("CS", "P", {"batch": 2, "max_bytes": 50})))
    await t.cinfo("CS", "P", "info")


@case("§4.4 batch done with bytes left → 409 Batch Completed; §7 #41")
async def pull_batch_completed(t):
    await setup(t, n=3)
    await t.consumer("CS", "P", ack_policy="explicit")
    t.obs("batch 2 max_bytes 10000", t.view(await t.pull("CS", "P", {"batch": 2, "max_bytes": 10000})))


@case("§4.4 request maximums max_batch/max_expires/max_bytes → 409; §7 #42")
async def pull_request_maximums(t):
    await setup(t, n=3)
    await t.consumer("CS", "P", ack_policy="explicit", max_batch=2, max_expires=1_000_000_000, max_bytes=1000,
                     label="create")
    t.obs("batch 3", t.view(await t.pull("CS", "P", {"batch": 3})))
    t.obs("expires 2s", t.view(await t.pull("CS", "P", {"batch": 1, "expires": 2_000_000_000})))
    t.obs("max_bytes 2000", t.view(await t.pull("CS", "P", {"batch": 1, "max_bytes": 2000})))


@case("§4.4 idle_heartbeat*2 > expires → 400; heartbeats while waiting; §7 #43")
async def pull_heartbeats(t):
    await setup(t)
    await t.consumer("CS", "P", ack_policy="explicit")
    t.obs("heartbeat too large", t.view(await t.pull("CS", "P", {"batch": 1, "expires": 1_000_000_000,
                                                                "idle_heartbeat": 800_000_000})))
    msgs = await t.pull("CS", "P", {"batch": 1, "expires": 1_300_000_000, "idle_heartbeat": 500_000_000}, wait=3)
    t.obs("heartbeats then 408", [{"status": status_of(m), "description": m.headers.get("Description")}
                                  if not isinstance(m, dict) else m for m in msgs])


@case("§4.4 a waiting request is served by a later publish; FIFO waiting requests; §7 #13")
async def pull_waiting_then_publish(t):
    await setup(t)
    await t.consumer("CS", "P", ack_policy="explicit")
    in1, in2 = t.inbox(), t.inbox()
    s1, s2 = await t.sub(in1), await t.sub(in2)
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 1}).encode(), reply=in1)
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 2}).encode(), reply=in2)
    await t.nc.flush()
    await asyncio.sleep(0.2)
    await t.cinfo("CS", "P", "info with 2 waiting")
    await t.fill("cs.{i}", 3)
    t.obs("first request", acks_of(await s1.collect(1)))
    t.obs("second request", acks_of(await s2.collect(2)))


@case("§4.4 max_waiting exceeded → 409 Exceeded MaxWaiting; §7 #16")
async def pull_max_waiting(t):
    await setup(t)
    await t.consumer("CS", "P", ack_policy="explicit", max_waiting=2)
    subs = []
    for _ in range(3):
        ib = t.inbox()
        subs.append(await t.sub(ib))
        await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 1, "expires": 2_000_000_000}).encode(),
                           reply=ib)
    await t.nc.flush()
    t.obs("third request", t.view(await subs[2].collect(1, timeout=1)))
    await t.cinfo("CS", "P", "info")


@case("§4.4 pull on a missing consumer → 503 no responders (2.10.10+)")
async def pull_missing_consumer(t):
    await setup(t, n=1)
    t.obs("missing consumer", await t.request("$JS.API.CONSUMER.MSG.NEXT.CS.NOPE", b"1", timeout=1))


@case("§4.4 step 7: deleting the consumer ends waiting requests with 409 Consumer Deleted")
async def pull_consumer_deleted(t):
    await setup(t)
    await t.consumer("CS", "P", ack_policy="explicit")
    ib = t.inbox()
    s = await t.sub(ib)
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 1, "expires": 5_000_000_000}).encode(),
                       reply=ib)
    await t.nc.flush()
    await asyncio.sleep(0.2)
    await t.apio("delete", "CONSUMER.DELETE.CS.P")
    t.obs("waiting request", t.view(await s.collect(1, timeout=2)))


@case("§4.4 step 8 max_ack_pending stops delivery; §7 #44")
async def pull_max_ack_pending(t):
    await setup(t, n=5)
    await t.consumer("CS", "P", ack_policy="explicit", max_ack_pending=2)
    msgs = await t.pull("CS", "P", {"batch": 5, "expires": 700_000_000}, wait=2)
    t.obs("batch 5 with max_ack_pending 2", acks_of(msgs))
    for m in msgs:
        if not isinstance(m, dict) and not status_of(m):
            await t.ack(m)
    t.obs("after acks", acks_of(await t.pull("CS", "P", {"batch": 5, "expires": 700_000_000}, wait=2)))


# ---------------------------------------------------------------- acks and redelivery

@case("§2.5 ack_wait redelivery with increasing delivery count and consumer seq; §7 #17 #23")
async def ack_wait_redelivery(t):
    await setup(t, n=1)
    await t.consumer("CS", "P", ack_policy="explicit", ack_wait=600_000_000)
    ib = t.inbox()
    s = await t.sub(ib)
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 3, "expires": 2_500_000_000}).encode(),
                       reply=ib)
    msgs = await s.collect(3, timeout=2.5, data_only=True)
    t.obs("three deliveries of seq 1", acks_of(msgs))
    await t.cinfo("CS", "P", "info")


@case("§2.5 -NAK redelivers the same stream seq next; §7 #18")
async def ack_nak_redelivery(t):
    await setup(t, n=2)
    await t.consumer("CS", "P", ack_policy="explicit")
    m1 = await t.pull("CS", "P", {"batch": 1}, expect=1)
    t.obs("first", acks_of(m1))
    # As a request: the reply comes once the NAK is processed. A plain publish
    # can be overtaken by the next pull on a cluster (nats-server too).
    t.obs("nak reply", await t.ack_sync(m1[0], "-NAK"))
    m2 = await t.pull("CS", "P", {"batch": 2}, expect=2)
    t.obs("after nak", acks_of(m2))
    await t.cinfo("CS", "P", "info")


@case("§2.5 -NAK with a delay; §7 #31 TestJetStreamNakRedeliveryWithNoWait")
async def ack_nak_delay(t):
    await setup(t, n=1)
    await t.consumer("CS", "P", ack_policy="explicit")
    m1 = await t.pull("CS", "P", {"batch": 1}, expect=1)
    await t.ack(m1[0], '-NAK {"delay": 800000000}')
    t.obs("no_wait right away", acks_of(await t.pull("CS", "P", {"batch": 1, "no_wait": True})))
    await asyncio.sleep(1.2)
    t.obs("after the delay", acks_of(await t.pull("CS", "P", {"batch": 1, "no_wait": True}, wait=1)))


@case("§2.5 +WPI postpones redelivery; §7 #19")
async def ack_wpi(t):
    await setup(t, n=1)
    await t.consumer("CS", "P", ack_policy="explicit", ack_wait=1_000_000_000)
    m = (await t.pull("CS", "P", {"batch": 1}, expect=1))[0]
    for _ in range(3):
        await asyncio.sleep(0.5)
        await t.ack(m, "+WPI")
    t.obs("no redelivery after 1.5s", acks_of(await t.pull("CS", "P", {"batch": 1, "no_wait": True})))
    await t.ack(m)
    await asyncio.sleep(0.1)
    await t.cinfo("CS", "P", "info")


@case("§2.5 +TERM stops redelivery; §7 #20")
async def ack_term(t):
    await setup(t, n=2)
    await t.consumer("CS", "P", ack_policy="explicit", ack_wait=500_000_000)
    adv = await t.sub("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.CS.P")
    m = (await t.pull("CS", "P", {"batch": 1}, expect=1))[0]
    await t.ack(m, "+TERM bad payload")
    await asyncio.sleep(0.8)
    t.obs("next", acks_of(await t.pull("CS", "P", {"batch": 2, "no_wait": True})))
    a = await adv.next(2)
    if a:
        d = json.loads(a.data)
        t.obs("advisory", {k: d.get(k) for k in ("type", "stream", "consumer", "consumer_seq", "stream_seq",
                                                "deliveries", "reason")})
    else:
        t.obs("advisory", None)
    await t.cinfo("CS", "P", "info")


@case("§4.5 ack_policy all acks everything below; redelivers the unacked range in order; §7 #21")
async def ack_all_policy(t):
    await setup(t, n=5)
    await t.consumer("CS", "P", ack_policy="all", ack_wait=700_000_000)
    msgs = await t.pull("CS", "P", {"batch": 5}, expect=5)
    await t.ack(msgs[1])
    await asyncio.sleep(0.2)
    await t.cinfo("CS", "P", "after acking the 2nd")
    ib = t.inbox()
    s = await t.sub(ib)
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 3, "expires": 1_500_000_000}).encode(),
                       reply=ib)
    t.obs("redelivered range", acks_of(await s.collect(3, timeout=1.5, data_only=True)))


@case("§2.5 the pending token and num_pending track publishes, purges, deletes; §7 #22")
async def ack_reply_pending(t):
    await setup(t, n=4)
    await t.consumer("CS", "P", ack_policy="explicit")
    t.obs("first", acks_of(await t.pull("CS", "P", {"batch": 1}, expect=1)))
    await t.api("STREAM.MSG.DELETE.CS", {"seq": 3})
    t.obs("second", acks_of(await t.pull("CS", "P", {"batch": 1}, expect=1)))
    await t.fill("cs.more{i}", 2)
    await t.cinfo("CS", "P", "info")
    await t.api("STREAM.PURGE.CS")
    await t.cinfo("CS", "P", "info after purge")


@case("§2.5 NAK of an already acked seq is ignored; §7 #24")
async def ack_nak_after_ack(t):
    await setup(t, n=2)
    await t.consumer("CS", "P", ack_policy="explicit")
    m = (await t.pull("CS", "P", {"batch": 1}, expect=1))[0]
    await t.ack(m)
    await t.ack(m, "-NAK")
    await asyncio.sleep(0.2)
    t.obs("next", acks_of(await t.pull("CS", "P", {"batch": 2, "no_wait": True})))
    await t.cinfo("CS", "P", "info")


@case("§2.5 +NXT acks and asks for more on the ack's reply subject; §7 #25")
async def ack_next(t):
    await setup(t, n=4)
    await t.consumer("CS", "P", ack_policy="explicit")
    m = (await t.pull("CS", "P", {"batch": 1}, expect=1))[0]
    ib = t.inbox()
    s = await t.sub(ib)
    await t.nc.publish(m.reply, b"+NXT", reply=ib)
    got = await s.collect(1)
    t.obs("+NXT", acks_of(got))
    await t.nc.publish(got[0].reply, b"+NXT 2", reply=ib)
    got2 = await s.collect(2)
    t.obs("+NXT 2", acks_of(got2))
    await asyncio.sleep(0.2)
    await t.cinfo("CS", "P", "info")


@case("§2.5 ack sync: an ack sent as a request gets an empty reply")
async def ack_sync_reply(t):
    await setup(t, n=1)
    await t.consumer("CS", "P", ack_policy="explicit")
    m = (await t.pull("CS", "P", {"batch": 1}, expect=1))[0]
    t.obs("ack reply", await t.ack_sync(m))
    await t.cinfo("CS", "P", "info")


@case("§4.5 max_deliver stops redelivery; advisory")
async def max_deliver(t):
    await setup(t, n=1)
    await t.consumer("CS", "P", ack_policy="explicit", ack_wait=400_000_000, max_deliver=2)
    adv = await t.sub("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.CS.P")
    ib = t.inbox()
    s = await t.sub(ib)
    # expires well past the info below, so num_waiting does not race the expiry
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 5, "expires": 6_000_000_000}).encode(),
                       reply=ib)
    t.obs("deliveries", acks_of(await s.collect(3, timeout=1.2, data_only=True)))
    a = await adv.next(1)
    t.obs("advisory", {k: json.loads(a.data).get(k) for k in ("type", "stream", "consumer", "stream_seq", "deliveries")}
          if a else None)
    await t.cinfo("CS", "P", "info")


@case("§4.1 backoff sets ack_wait and spaces redeliveries; §7 #46")
async def backoff(t):
    await setup(t, n=1)
    await t.consumer("CS", "P", label="create", ack_policy="explicit", max_deliver=4,
                     backoff=[300_000_000, 900_000_000])
    ib = t.inbox()
    s = await t.sub(ib)
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.CS.P", json.dumps({"batch": 4, "expires": 2_600_000_000}).encode(),
                       reply=ib)
    # Backoff 300ms then 900ms: deliveries at ~0, 0.3, 1.2, 2.1 s.
    t.obs("deliveries", acks_of(await s.collect(4, timeout=2.7, data_only=True)))


# ---------------------------------------------------------------- deliver policies and filters

@case("§4.2 deliver policies all, last, new, by_start_sequence")
async def deliver_policies(t):
    await setup(t, n=5)
    for name, cfg in [("ALL", {}), ("LAST", {"deliver_policy": "last"}), ("NEW", {"deliver_policy": "new"}),
                      ("SEQ", {"deliver_policy": "by_start_sequence", "opt_start_seq": 4})]:
        await t.consumer("CS", name, ack_policy="none", **cfg)
    await t.pub("cs.6", "m6")
    for name in ["ALL", "LAST", "NEW", "SEQ"]:
        t.obs(name, acks_of(await t.pull("CS", name, {"batch": 10, "no_wait": True})))
        await t.cinfo("CS", name, f"{name} info")


@case("§4.2 last_per_subject delivers the latest per subject in seq order; §7 #30")
async def deliver_last_per_subject(t):
    await setup(t)
    for s in ["cs.a", "cs.b", "cs.a", "cs.c", "cs.b", "cs.a"]:
        await t.pub(s, s)
    await t.consumer("CS", "L", ack_policy="none", deliver_policy="last_per_subject", filter_subject="cs.*",
                     label="create")
    t.obs("deliveries", acks_of(await t.pull("CS", "L", {"batch": 10, "no_wait": True})))


@case("§4.1 filter_subject and filter_subjects select messages; num_pending counts matches")
async def consumer_filters(t):
    await setup(t)
    for s in ["cs.a", "cs.b", "cs.c", "cs.a.x", "cs.b", "cs.a"]:
        await t.pub(s, s)
    await t.consumer("CS", "ONE", ack_policy="none", filter_subject="cs.a")
    await t.consumer("CS", "MANY", ack_policy="none", filter_subjects=["cs.b", "cs.a.>"])
    await t.cinfo("CS", "ONE", "one info")
    await t.cinfo("CS", "MANY", "many info")
    t.obs("one", acks_of(await t.pull("CS", "ONE", {"batch": 10, "no_wait": True})))
    t.obs("many", acks_of(await t.pull("CS", "MANY", {"batch": 10, "no_wait": True})))


@case("§4.1 headers_only delivers headers plus Nats-Msg-Size and no body")
async def consumer_headers_only(t):
    await setup(t)
    await t.pub("cs.a", "hello world", headers={"X-A": "1"})
    await t.consumer("CS", "H", ack_policy="none", headers_only=True)
    t.obs("delivery", t.view(await t.pull("CS", "H", {"batch": 1}, expect=1)))


# ---------------------------------------------------------------- push

@case("§4.3 push consumer delivers with the original subject and ack reply; push_bound")
async def push_basic(t):
    await setup(t, n=3)
    s = await t.sub("push.basic")
    await t.consumer("CS", "PUSH", ack_policy="explicit", deliver_subject="push.basic", label="create")
    msgs = await s.collect(3)
    t.obs("deliveries", acks_of(msgs))
    for m in msgs:
        await t.ack(m)
    await t.pub("cs.4", "m4")
    more = await s.collect(1)
    t.obs("live delivery", acks_of(more))
    await t.ack(more[0])
    await asyncio.sleep(0.2)
    await t.cinfo("CS", "PUSH", "info")


@case("§4.3 push with ack none and a deliver_group (queue)")
async def push_ack_none_queue_group(t):
    await setup(t, n=4)
    s = await t.sub("push.q", queue="workers")
    await t.consumer("CS", "Q", ack_policy="none", deliver_subject="push.q", deliver_group="workers")
    t.obs("deliveries", acks_of(await s.collect(4)))
    await asyncio.sleep(0.2)
    await t.cinfo("CS", "Q", "info")


@case("§4.3 push consumer redelivers after ack_wait")
async def push_redelivery(t):
    await setup(t, n=1)
    s = await t.sub("push.rd")
    await t.consumer("CS", "RD", ack_policy="explicit", deliver_subject="push.rd", ack_wait=500_000_000)
    msgs = await s.collect(2, timeout=1.5)
    t.obs("delivery and redelivery", acks_of(msgs))
    await t.ack(msgs[-1])
    await asyncio.sleep(0.2)
    await t.cinfo("CS", "RD", "info")


@case("§4.3 idle heartbeats on an idle push consumer; §7 #33")
async def push_idle_heartbeat(t):
    await setup(t, n=1)
    s = await t.sub("push.hb")
    await t.consumer("CS", "HB", ack_policy="none", deliver_subject="push.hb", idle_heartbeat=300_000_000)
    first = await s.collect(1)
    t.obs("message", acks_of(first))
    hbs = await s.quiet(1.0)
    t.obs("heartbeats seen", len(hbs) >= 2)
    t.obs("heartbeat shape", t.view(hbs[:1]))


@case("§4.3 flow control request appears and delivery resumes after the reply; §7 #32")
async def push_flow_control(t):
    await setup(t)
    big = "z" * 60_000
    for i in range(40):
        await t.pub("cs.big", big)
    s = await t.sub("push.fc")
    await t.consumer("CS", "FC", ack_policy="none", deliver_subject="push.fc", flow_control=True,
                     idle_heartbeat=1_000_000_000)
    data, fcs = 0, 0
    while data < 40:
        m = await s.next(3)
        if m is None:
            break
        if status_of(m) == "100" and m.reply:
            fcs += 1
            await t.nc.publish(m.reply, b"")
        elif not status_of(m):
            data += 1
    t.obs("all 40 delivered", data)
    t.obs("at least one flow control request", fcs >= 1)


# ---------------------------------------------------------------- retention

@case("§3.2 interest retention: removed when every interested consumer acked; §7 #26")
async def interest_retention(t):
    await setup(t, retention="interest")
    await t.consumer("CS", "A", ack_policy="explicit")
    await t.consumer("CS", "B", ack_policy="explicit")
    await t.fill("cs.{i}", 3)
    ma = await t.pull("CS", "A", {"batch": 3}, expect=3)
    for m in ma:
        await t.ack_sync(m)
    await t.info("CS", "after A acked")
    mb = await t.pull("CS", "B", {"batch": 3}, expect=3)
    await t.ack_sync(mb[0])
    await t.info("CS", "after B acked one")
    await t.apio("delete B", "CONSUMER.DELETE.CS.B")
    await asyncio.sleep(0.2)
    await t.info("CS", "after B deleted")


@case("§3.2 interest retention with filtered consumers; §7 #27")
async def interest_retention_filtered(t):
    await setup(t, retention="interest")
    await t.consumer("CS", "A", ack_policy="explicit", filter_subject="cs.a")
    t.obs("acks", [await t.pub("cs.a", "1"), await t.pub("cs.b", "2"), await t.pub("cs.a", "3")])
    await t.info("CS", "only cs.a stored")
    for m in await t.pull("CS", "A", {"batch": 2}, expect=2):
        await t.ack_sync(m)
    await t.info("CS", "after acks")


@case("§3.2 workqueue: each message once, removed on ack; §7 #13")
async def workqueue_basic(t):
    await setup(t, n=4, retention="workqueue")
    await t.consumer("CS", "W", ack_policy="explicit")
    msgs = await t.pull("CS", "W", {"batch": 2}, expect=2)
    t.obs("first batch", acks_of(msgs))
    for m in msgs:
        await t.ack_sync(m)
    await t.info("CS", "after 2 acks")
    t.obs("rest", acks_of(await t.pull("CS", "W", {"batch": 5, "no_wait": True})))


@case("§3.2 workqueue consumer restrictions 10098 10101 10099 10100 10084; §7 #14 #48")
async def workqueue_restrictions(t):
    await setup(t, retention="workqueue")
    await t.consumer("CS", "ACKNONE", label="pull ack none", ack_policy="none")
    await t.consumer("CS", "ACKNONEP", label="push ack none", ack_policy="none", deliver_subject="wq.push")
    await t.consumer("CS", "LAST", label="deliver last", ack_policy="explicit", deliver_policy="last")
    await t.consumer("CS", "U1", label="unfiltered", ack_policy="explicit")
    await t.consumer("CS", "U2", label="second unfiltered", ack_policy="explicit")
    await t.apio("delete U1", "CONSUMER.DELETE.CS.U1")
    await t.consumer("CS", "FA", label="filter cs.a", ack_policy="explicit", filter_subject="cs.a")
    await t.consumer("CS", "FSTAR", label="overlapping filter", ack_policy="explicit", filter_subject="cs.*")
    await t.consumer("CS", "FB", label="disjoint filter", ack_policy="explicit", filter_subject="cs.b")


@case("§4.5 purge resets consumer floors and drops pending; re-published messages are delivered; §7 #10 #11")
async def purge_with_consumer(t):
    await setup(t, n=5)
    await t.consumer("CS", "P", ack_policy="explicit")
    msgs = await t.pull("CS", "P", {"batch": 3}, expect=3)
    await t.ack(msgs[0])
    await asyncio.sleep(0.1)
    await t.apio("purge", "STREAM.PURGE.CS")
    await t.cinfo("CS", "P", "after purge")
    await t.fill("cs.new{i}", 2)
    t.obs("after republish", acks_of(await t.pull("CS", "P", {"batch": 5, "no_wait": True})))


@case("§2.4 step 10 rollup then a new consumer's num_pending; §7 #9")
async def rollup_consumer_pending(t):
    await setup(t, allow_rollup_hdrs=True)
    for i in range(5):
        await t.pub("cs.k", f"v{i}")
    await t.pub("cs.j", "other")
    await t.pub("cs.k", "final", headers={"Nats-Rollup": "sub"})
    await t.consumer("CS", "R", ack_policy="explicit", label="create")
    t.obs("deliveries", acks_of(await t.pull("CS", "R", {"batch": 10, "no_wait": True})))


@case("§2.5 +NXT with a JSON pull request; §7 #25")
async def ack_next_json(t):
    await setup(t, n=5)
    await t.consumer("CS", "P", ack_policy="explicit")
    m = (await t.pull("CS", "P", {"batch": 1}, expect=1))[0]
    ib = t.inbox()
    s = await t.sub(ib)
    await t.nc.publish(m.reply, b'+NXT {"batch": 3}', reply=ib)
    t.obs("+NXT {batch 3}", acks_of(await s.collect(3)))


@case("§7 #15 TestJetStreamWorkQueueRequestBatch: one request for 50 gets 50")
async def workqueue_request_batch(t):
    await setup(t, retention="workqueue")
    await t.consumer("CS", "W", ack_policy="explicit")
    await t.fill("cs.{i}", 60)
    msgs = await t.pull("CS", "W", {"batch": 50}, expect=50)
    got = acks_of(msgs)
    t.obs("count", len(got))
    t.obs("first and last", [got[0], got[-1]] if got else None)
    await t.cinfo("CS", "W", "info")


@case("§3.2 a message that hit max_deliver stays in an interest stream until another consumer acks; §7 #28")
async def interest_max_deliver_reached(t):
    await setup(t, retention="interest")
    await t.consumer("CS", "A", ack_policy="explicit", max_deliver=1, ack_wait=300_000_000)
    await t.consumer("CS", "B", ack_policy="explicit")
    await t.pub("cs.a", "x")
    await t.pull("CS", "A", {"batch": 1}, expect=1)
    await asyncio.sleep(0.8)
    t.obs("A again", acks_of(await t.pull("CS", "A", {"batch": 1, "no_wait": True})))
    await t.info("CS", "kept after A's max deliveries")
    for m in await t.pull("CS", "B", {"batch": 1}, expect=1):
        await t.ack_sync(m)
    await asyncio.sleep(0.2)
    await t.info("CS", "after B acked")


@case("§4.1 inactive_threshold deletes an idle ephemeral consumer")
async def consumer_inactive_threshold(t):
    await setup(t, n=1)
    await t.apio("create", "CONSUMER.CREATE.CS.IDLE", {"stream_name": "CS", "config": {
        "name": "IDLE", "ack_policy": "explicit", "inactive_threshold": 500_000_000}})
    await asyncio.sleep(2.0)
    await t.apio("info after 2s", "CONSUMER.INFO.CS.IDLE")


@case("§3.1 limits→interest update with a consumer: acked messages are then removed; §7 #12")
async def limits_to_interest_with_consumer(t):
    await setup(t, n=3)
    await t.consumer("CS", "C", ack_policy="explicit")
    await t.apio("to interest", "STREAM.UPDATE.CS", {"name": "CS", "subjects": ["cs.>"], "storage": "memory",
                                                    "retention": "interest"})
    for m in await t.pull("CS", "C", {"batch": 2}, expect=2):
        await t.ack_sync(m)
    await asyncio.sleep(0.2)
    await t.info("CS", "after acking 2")
    await t.cinfo("CS", "C", "consumer")


@case("§4.1 mutable fields on update are applied and shown")
async def consumer_update_mutable(t):
    await setup(t)
    await t.consumer("CS", "MU", ack_policy="explicit", filter_subject="cs.a")
    await t.consumer("CS", "MU", label="update", ack_policy="explicit", filter_subject="cs.b", ack_wait=5_000_000_000,
                     max_deliver=7, max_ack_pending=10, description="updated", metadata={"k": "v"})
    await t.pub("cs.a", "a")
    await t.pub("cs.b", "b")
    t.obs("deliveries", acks_of(await t.pull("CS", "MU", {"batch": 2, "no_wait": True})))


@case("§2.2 CONSUMER.PAUSE (2.11+): a paused consumer delivers nothing until resumed")
async def consumer_pause(t):
    await setup(t, n=2)
    await t.consumer("CS", "PZ", ack_policy="explicit")
    r = await t.api("CONSUMER.PAUSE.CS.PZ", {"pause_until": "2099-01-01T00:00:00Z"})
    r.pop("pause_remaining", None)  # time left until 2099: wall clock
    t.obs("pause", r)
    t.obs("pull while paused", acks_of(await t.pull("CS", "PZ", {"batch": 1, "expires": 500_000_000}, wait=1.5)))
    r = await t.api("CONSUMER.INFO.CS.PZ")
    t.obs("paused in info", {k: r.get(k) for k in ("paused",)})
    await t.apio("resume", "CONSUMER.PAUSE.CS.PZ", {})
    # On a cluster the resume is applied through the meta layer after the reply.
    async def resumed():
        return not (await t.api("CONSUMER.INFO.CS.PZ")).get("paused")
    await t.until("the consumer is no longer paused", resumed, timeout=10)
    t.obs("pull after resume", acks_of(await t.pull("CS", "PZ", {"batch": 1}, expect=1)))


@case("§4.3 push_bound follows the deliver subject's interest; re-binding a bound durable")
async def push_bound(t):
    await setup(t)
    await t.consumer("CS", "PB", ack_policy="explicit", deliver_subject="push.pb")
    r = await t.api("CONSUMER.INFO.CS.PB")
    t.obs("unbound", r.get("push_bound"))
    s = await t.sub("push.pb")
    await asyncio.sleep(0.3)
    r = await t.api("CONSUMER.INFO.CS.PB")
    t.obs("bound", r.get("push_bound"))
    await s.unsubscribe()
    await t.nc.flush()
    await asyncio.sleep(0.3)
    r = await t.api("CONSUMER.INFO.CS.PB")
    t.obs("unbound again", r.get("push_bound"))
