"""Cluster cases (3 servers only): R3 streams and consumers, leader
step-downs, scaling, requests answered through any server. Leader names are
normalised (elections are random) but must be one of n1..n3."""

import asyncio
import json

from harness import case, status_of
from cases_consumers import acks_of


async def r3(t, name="R3S", **cfg):
    cfg.setdefault("num_replicas", 3)
    cfg.setdefault("storage", "file")
    return await t.stream(name, subjects=[f"{name.lower()}.>"], **cfg)


async def leader_of(t, stream):
    r = await t.api(f"STREAM.INFO.{stream}")
    return (r.get("cluster") or {}).get("leader")


@case("§3.4 cluster info of an R3 stream; §7 #49 TestJetStreamClusterMultiReplicaStreams", cluster=True)
async def cluster_r3_stream_info(t):
    await r3(t, label="create")
    t.obs("acks", await t.fill("r3s.{i}", 5))
    await asyncio.sleep(0.3)
    r = await t.info("R3S", "info")
    c = r.get("cluster") or {}
    t.obs("replica count", len(c.get("replicas") or []))
    t.obs("leader is not a replica", c.get("leader") not in [x.get("name") for x in c.get("replicas") or []])


@case("§5.1 the same stream info through every server", cluster=True)
async def cluster_info_via_each_server(t):
    await r3(t)
    await t.fill("r3s.{i}", 3)
    for i in range(3):
        nc = await t.connect(i)
        r = await t.api("STREAM.INFO.R3S", nc=nc)
        t.obs(f"via n{i + 1}", r.get("state"))
        t.obs(f"account info via n{i + 1}", {k: v for k, v in (await t.account_info(nc=nc)).items() if k != "api"})


@case("§2.2 stream leader step-down keeps data; §7 #55", cluster=True)
async def cluster_stream_leader_stepdown(t):
    await r3(t)
    await t.fill("r3s.{i}", 4)
    before = await leader_of(t, "R3S")
    await t.apio("stepdown", "STREAM.LEADER.STEPDOWN.R3S", timeout=10)
    after = None
    for _ in range(50):
        await asyncio.sleep(0.2)
        after = await leader_of(t, "R3S")
        if after and after != before:
            break
    t.obs("leader changed", bool(after) and after != before)
    await t.pubo("publish after stepdown", "r3s.x", "after", timeout=5)
    r = await t.info("R3S", "info")
    await t.apio("get 2", "STREAM.MSG.GET.R3S", {"seq": 2})


@case("§2.2 step-down of a missing stream; of an R1 stream", cluster=True)
async def cluster_stepdown_errors(t):
    await t.apio("missing", "STREAM.LEADER.STEPDOWN.NOPE")
    await t.stream("ONE", subjects=["one.>"], num_replicas=1)
    await t.apio("R1", "STREAM.LEADER.STEPDOWN.ONE")


@case("§4.1 a consumer on an R3 stream inherits R3; pull and ack; §7 #49", cluster=True)
async def cluster_r3_consumer(t):
    await r3(t)
    await t.fill("r3s.{i}", 3)
    await t.consumer("R3S", "C", label="create", ack_policy="explicit")
    msgs = await t.pull("R3S", "C", {"batch": 3}, expect=3)
    t.obs("deliveries", acks_of(msgs))
    for m in msgs:
        t.obs("ack sync", await t.ack_sync(m))
    r = await t.cinfo("R3S", "C", "info")
    c = r.get("cluster") or {}
    t.obs("consumer replica count", len(c.get("replicas") or []))


@case("§2.2 consumer leader step-down keeps delivered/ack state, no duplicate deliveries; §7 #51 #52 #55", cluster=True)
async def cluster_consumer_leader_stepdown(t):
    await r3(t)
    await t.fill("r3s.{i}", 4)
    await t.consumer("R3S", "C", ack_policy="explicit")
    msgs = await t.pull("R3S", "C", {"batch": 2}, expect=2)
    await t.ack_sync(msgs[0])
    await t.apio("stepdown", "CONSUMER.LEADER.STEPDOWN.R3S.C", timeout=10)
    await asyncio.sleep(1.0)
    r = await t.cinfo("R3S", "C", "info after stepdown")
    t.obs("rest", acks_of(await t.pull("R3S", "C", {"batch": 5, "no_wait": True}, wait=3)))


@case("§5.1 consumer groups: a consumer's own C-R<n> group; CONSUMER.LEADER.STEPDOWN moves only the consumer "
      "leader; num_replicas 1 and old-style ephemerals on a limits stream are R1", cluster=True)
async def cluster_consumer_groups(t):
    await r3(t)
    await t.consumer("R3S", "C", ack_policy="explicit")
    await asyncio.sleep(0.5)
    before = await t.api("CONSUMER.INFO.R3S.C")
    cb = before.get("cluster") or {}
    group = cb.get("raft_group") or ""
    t.obs("group kind", "-".join(group.split("-")[:2]))
    t.obs("cluster keys", sorted(cb.keys()))
    t.obs("replica count", len(cb.get("replicas") or []))
    stream_leader = await leader_of(t, "R3S")
    await t.apio("stepdown", "CONSUMER.LEADER.STEPDOWN.R3S.C", timeout=10)
    await asyncio.sleep(1.5)
    after = await t.api("CONSUMER.INFO.R3S.C")
    ca = after.get("cluster") or {}
    t.obs("a new consumer leader", bool(ca.get("leader")) and ca.get("leader") != cb.get("leader"))
    t.obs("same group", ca.get("raft_group") == group)
    t.obs("stream leader kept", await leader_of(t, "R3S") == stream_leader)
    await t.consumer("R3S", "ONE", label="R1 consumer", ack_policy="explicit", num_replicas=1)
    await t.apio("R1 stepdown", "CONSUMER.LEADER.STEPDOWN.R3S.ONE", timeout=5)
    r = await t.consumer("R3S", None, ack_policy="explicit")
    t.obs("old-style ephemeral cluster keys", sorted((r.get("cluster") or {}).keys()))
    await t.apio("R4 consumer", "CONSUMER.CREATE.R3S.FOUR",
                 {"stream_name": "R3S", "config": {"durable_name": "FOUR", "num_replicas": 4}})


@case("§4.4 step 7 waiting pull request gets 409 Leadership Change; §7 #57", cluster=True)
async def cluster_pull_leadership_change(t):
    await r3(t)
    await t.consumer("R3S", "C", ack_policy="explicit")
    ib = t.inbox()
    s = await t.sub(ib)
    await t.nc.publish("$JS.API.CONSUMER.MSG.NEXT.R3S.C", json.dumps({"batch": 1, "expires": 8_000_000_000}).encode(),
                       reply=ib)
    await t.nc.flush()
    await asyncio.sleep(0.3)
    await t.apio("stepdown", "CONSUMER.LEADER.STEPDOWN.R3S.C", timeout=10)
    t.obs("waiting request", t.view(await s.collect(1, timeout=4)))


@case("§3.1 scale an R1 stream to R3 and back by update", cluster=True)
async def cluster_scale_stream(t):
    await t.stream("SC", subjects=["sc.>"], num_replicas=1, storage="file")
    await t.fill("sc.{i}", 3)
    r = await t.api("STREAM.UPDATE.SC", {"name": "SC", "subjects": ["sc.>"], "storage": "file",
                                         "num_replicas": 3}, timeout=10)
    # The update reply is sent before the new group has elected a leader or
    # not, depending on timing: compare it without its cluster field.
    t.obs("to R3", {k: v for k, v in r.items() if k != "cluster"})
    await asyncio.sleep(1.0)
    r = await t.info("SC", "info R3")
    t.obs("replicas after scale up", len((r.get("cluster") or {}).get("replicas") or []))
    r = await t.api("STREAM.UPDATE.SC", {"name": "SC", "subjects": ["sc.>"], "storage": "file",
                                         "num_replicas": 1}, timeout=10)
    t.obs("to R1", {k: v for k, v in r.items() if k != "cluster"})
    await asyncio.sleep(0.5)
    r = await t.info("SC", "info R1")


@case("§5.5 placement errors: R5 on three servers; unknown cluster; unmatched tags", cluster=True)
async def cluster_placement_errors(t):
    await t.apio("R5", "STREAM.CREATE.R5", {"name": "R5", "num_replicas": 5})
    await t.apio("unknown cluster", "STREAM.CREATE.UC", {"name": "UC", "placement": {"cluster": "nowhere"}})
    await t.apio("tags", "STREAM.CREATE.TG", {"name": "TG", "placement": {"tags": ["ssd"]}})
    await t.apio("names", "STREAM.NAMES")


@case("§3.2 clustered interest and workqueue removal; §7 #53", cluster=True)
async def cluster_retention(t):
    await r3(t, "WQ", retention="workqueue")
    await r3(t, "IN", retention="interest")
    await t.consumer("WQ", "W", ack_policy="explicit")
    await t.consumer("IN", "I", ack_policy="explicit")
    await t.fill("wq.{i}", 3)
    await t.fill("in.{i}", 3)
    for m in await t.pull("WQ", "W", {"batch": 2}, expect=2):
        await t.ack_sync(m)
    for m in await t.pull("IN", "I", {"batch": 1}, expect=1):
        await t.ack_sync(m)
    await asyncio.sleep(0.3)
    await t.info("WQ", "workqueue")
    await t.info("IN", "interest")
    await t.apio("delete consumer", "CONSUMER.DELETE.IN.I")
    await asyncio.sleep(0.5)
    await t.info("IN", "interest after consumer delete")


@case("§2.4 R3 dedup and expected headers go through the leader", cluster=True)
async def cluster_r3_publish_headers(t):
    await r3(t)
    await t.pubo("id 1", "r3s.a", "1", headers={"Nats-Msg-Id": "x"})
    await t.pubo("id 1 again", "r3s.a", "1", headers={"Nats-Msg-Id": "x"})
    await t.pubo("expected last seq ok", "r3s.a", "2", headers={"Nats-Expected-Last-Sequence": "1"})
    await t.pubo("expected last seq wrong", "r3s.a", "3", headers={"Nats-Expected-Last-Sequence": "1"})


@case("§5.1 R3 push consumer through another server", cluster=True)
async def cluster_push_consumer_other_server(t):
    await r3(t)
    await t.fill("r3s.{i}", 3)
    nc3 = await t.connect(2)
    s = await t.sub("deliver.r3", nc=nc3)
    await t.consumer("R3S", "PUSH", ack_policy="explicit", deliver_subject="deliver.r3")
    msgs = await s.collect(3, timeout=3)
    t.obs("deliveries", acks_of(msgs))
    for m in msgs:
        await nc3.publish(m.reply, b"+ACK")
    await nc3.flush()
    await asyncio.sleep(0.5)
    r = await t.api("CONSUMER.INFO.R3S.PUSH")
    t.obs("progress", {k: r.get(k) for k in ("delivered", "ack_floor", "num_ack_pending", "num_pending", "push_bound")})


@case("§5.1 delete of an R3 stream through another server; names afterwards", cluster=True)
async def cluster_delete_via_other_server(t):
    await r3(t)
    nc2 = await t.connect(1)
    t.obs("delete via n2", await t.api("STREAM.DELETE.R3S", nc=nc2))
    t.obs("names via n3", await t.api("STREAM.NAMES", nc=await t.connect(2)))
    t.obs("publish", await t.pub("r3s.a", "x", timeout=1))


@case("§7 #50 TestJetStreamClusterStreamNormalCatchup: a replica offline during publishes and deletes catches up",
      cluster=True, timeout=60)
async def cluster_replica_catchup(t):
    await r3(t)
    await t.fill("r3s.{i}", 3)
    # Crash a follower that is not n1 (our connection): crashing the leader
    # would test the election instead (publishes get 503 until it is over).
    leader = await leader_of(t, "R3S")
    victim = 2 if leader != "n3" else 1
    name = f"n{victim + 1}"
    await t.kill(victim)
    await asyncio.sleep(0.3)
    t.obs("publishes while a follower is down", await t.fill("r3s.more{i}", 4))
    await t.apio("delete 2", "STREAM.MSG.DELETE.R3S", {"seq": 2})
    await t.restart(victim)

    async def victim_leads():
        await t.api("STREAM.LEADER.STEPDOWN.R3S", {"placement": {"preferred": name}}, timeout=5)
        await asyncio.sleep(0.5)
        return await leader_of(t, "R3S") == name
    await t.until("the restarted server becomes the stream leader", victim_leads, timeout=30, every=0.5)
    r = await t.api("STREAM.INFO.R3S", {"deleted_details": True})
    t.obs("state served by the restarted server", r.get("state"))
    await t.apio("get 7 from it", "STREAM.MSG.GET.R3S", {"seq": 7})


@case("§2.2 META.LEADER.STEPDOWN from a non-system account; §7 #55", cluster=True)
async def cluster_meta_stepdown_non_system(t):
    await t.apio("meta stepdown", "META.LEADER.STEPDOWN", timeout=2)
    await t.apio("account info still answers", "INFO")


@case("§5.4 quorum loss as a client sees it: 2 of 3 servers down; §7 #54 TestJetStreamClusterNoQuorumStepdown",
      cluster=True, timeout=120)
async def cluster_no_quorum(t):
    await r3(t)
    await t.fill("r3s.{i}", 2)
    # Make n1 (our connection) the stream leader, then crash the other two.
    async def n1_leads():
        if await leader_of(t, "R3S") == "n1":
            return True
        await t.api("STREAM.LEADER.STEPDOWN.R3S", {"placement": {"preferred": "n1"}}, timeout=5)
        await asyncio.sleep(0.5)
        return await leader_of(t, "R3S") == "n1"
    await t.until("n1 leads the stream", n1_leads, timeout=30, every=0.5)
    await t.kill(1)
    await t.kill(2)
    # nats-server: the stream leader steps down once it has not heard from a
    # quorum for lostQuorumInterval (10 s), noticed on a later check: at 13 s
    # some runs still had the leader (the publish timed out and was committed
    # after recovery), others not (503). Wait well past it.
    await asyncio.sleep(20)
    await t.pubo("publish without quorum", "r3s.x", "lost", timeout=2)
    # (Not compared: a meta request now. nats-server answers 503/10008 or stays
    # silent depending on whether n1 happened to be the meta leader, which a
    # client without the system account cannot choose.)
    r = await t.api("STREAM.INFO.R3S", timeout=3)
    t.obs("stream info without quorum", {k: r.get(k) for k in ("error", "state") if k in r})
    await t.restart(1)
    await t.restart(2)
    await t.until("the stream has a leader again", lambda: leader_of(t, "R3S"), timeout=40, every=0.5)
    await t.pubo("publish after recovery", "r3s.y", "back", timeout=5)


@case("§5.2 publishes through every server reach the R3 leader; acks and order", cluster=True)
async def cluster_publish_via_each_server(t):
    await r3(t)
    acks = []
    for i in (0, 1, 2, 1, 0):
        nc = t.nc if i == 0 else await t.connect(i)
        acks.append(await t.request(f"r3s.from{i + 1}", b"x", nc=nc))
    t.obs("acks", acks)
    r = await t.api("STREAM.INFO.R3S", {"subjects_filter": ">"})
    t.obs("subjects", (r.get("state") or {}).get("subjects"))
