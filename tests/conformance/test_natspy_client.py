"""nats.py's own JetStream client (code we did not write) driven through its
high-level API: add_stream, publish with ack, pull_subscribe + fetch + ack +
NAK/redelivery, and a push consumer via subscribe. Runs as a conformance
case, so the same program runs against nats-server and `jetsim serve` and
what the client reports is compared."""

import asyncio

from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig, StorageType

from harness import case


def md(m):
    """The client's parsed view of a delivered message."""
    x = m.metadata
    return {"subject": m.subject, "data": m.data.decode(), "stream": x.stream, "consumer": x.consumer,
            "num_delivered": x.num_delivered, "stream_seq": x.sequence.stream,
            "consumer_seq": x.sequence.consumer, "num_pending": x.num_pending}


@case("nats.py high-level JetStream client: stream, publish, pull + ack + NAK, push")
async def natspy_client(t):
    js = t.nc.jetstream(timeout=5)
    si = await js.add_stream(StreamConfig(name="PY", subjects=["py.>"], storage=StorageType.MEMORY))
    t.obs("add_stream", {"name": si.config.name, "subjects": si.config.subjects, "messages": si.state.messages})
    # On a cluster the stream leader's subject interest may reach our server
    # after the create reply (nats-server too): a STREAM.INFO, answered by the
    # leader over the same route, settles it (as Ctx.api does for raw requests).
    await js.stream_info("PY")
    acks = []
    for i in range(1, 6):
        a = await js.publish(f"py.{i}", f"hello {i}".encode(), headers={"N": str(i)})
        acks.append({"stream": a.stream, "seq": a.seq, "duplicate": a.duplicate})
    t.obs("publish acks", acks)
    a = await js.publish("py.1", b"dup", headers={"Nats-Msg-Id": "one"})
    b = await js.publish("py.1", b"dup", headers={"Nats-Msg-Id": "one"})
    t.obs("dedup", [(a.seq, a.duplicate), (b.seq, b.duplicate)])

    psub = await js.pull_subscribe("py.>", durable="WORKER",
                                   config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=2))
    await psub.consumer_info()  # the same settling for the consumer's MSG.NEXT interest
    msgs = await psub.fetch(3, timeout=3)
    t.obs("fetch 3", [md(m) for m in msgs])
    await msgs[0].ack_sync()
    await msgs[1].ack()
    await msgs[2].nak()
    await asyncio.sleep(0.3)  # nak() is fire-and-forget: let the server process it before the next fetch
    again = await psub.fetch(2, timeout=3)
    t.obs("after nak", [md(m) for m in again])
    for m in again:
        await m.ack_sync()
    ci = await psub.consumer_info()
    t.obs("consumer info", {"delivered": (ci.delivered.consumer_seq, ci.delivered.stream_seq),
                            "ack_floor": (ci.ack_floor.consumer_seq, ci.ack_floor.stream_seq),
                            "num_ack_pending": ci.num_ack_pending, "num_redelivered": ci.num_redelivered,
                            "num_pending": ci.num_pending})
    try:
        rest = await psub.fetch(10, timeout=1)
    except Exception as e:  # nats.py raises on timeout
        rest = []
        t.obs("fetch rest error", type(e).__name__)
    t.obs("fetch rest", [md(m) for m in rest])

    got = []
    done = asyncio.Event()

    async def cb(m):
        got.append(md(m))
        await m.ack()
        if len(got) >= 6:
            done.set()

    sub = await js.subscribe("py.>", durable="PUSHER", cb=cb, manual_ack=True)
    try:
        await asyncio.wait_for(done.wait(), 5)
    except asyncio.TimeoutError:
        pass
    t.obs("push deliveries", got)
    await sub.unsubscribe()
    si = await js.stream_info("PY")
    t.obs("stream state", {"messages": si.state.messages, "last_seq": si.state.last_seq,
                           "consumer_count": si.state.consumer_count})
    await js.delete_stream("PY")
