"""Conformance harness: targets, the case context, normalisation, comparison.

A *case* is one async function taking a `Ctx`. It talks to a target through a
low-level nats-py connection (raw `$JS.API.*` JSON, `publish` with headers,
plain subscriptions) and records observations with `ctx.obs(label, value)`.
The same case runs against the oracle (a real nats-server 2.12.8) and against
`jetsim serve`; the observation lists are normalised (see NORMALISATION) and
must be equal.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import nats
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout

# --------------------------------------------------------------------------
# Case registry

@dataclass
class Case:
    name: str
    fn: Callable
    spec: str            # spec section(s) and §7 rows, e.g. "§3.1; §7 #2"
    cluster: bool        # needs a 3-server cluster (runs on the cluster pair only)
    timeout: float = 30.0


CASES: list[Case] = []


def case(spec: str, cluster: bool = False, timeout: float = 30.0):
    def deco(fn):
        name = fn.__name__
        if any(c.name == name for c in CASES):
            raise ValueError(f"duplicate case name {name}")
        CASES.append(Case(name, fn, spec, cluster, timeout))
        return fn
    return deco


# --------------------------------------------------------------------------
# Normalisation. Every rule says why the value is volatile; anything not
# listed here is compared exactly.

ZERO_TIME = "0001-01-01T00:00:00Z"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")

NORMALISATION = [
    ("time fields: created, ts, first_ts, last_ts, time, last_active, leader_since, "
     "Nats-Time-Stamp header",
     "wall-clock instants of the run; compared only as 'a valid RFC 3339 time' "
     "(the zero time 0001-01-01T00:00:00Z is kept, it is meaningful)"),
    ("the <timestamp ns> token (8th) of $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>",
     "delivery wall-clock time in ns; the other tokens (delivery count, sequences, pending) are compared"),
    ("cluster.leader, cluster.replicas[].name on 3-server targets, when the name is one of the target's servers",
     "Raft elections pick a leader at random; the name must still be one of n1..n3"),
    ("cluster.replicas[].active and .current normalised, .lag removed",
     "time since the peer was last heard from and catch-up progress: cluster timing "
     "(lag is omitempty, so even its presence depends on timing)"),
    ("cluster.raft_group",
     "the group name carries a random suffix (S-R3F-xxxxxxxx)"),
    ("$JS.API.INFO memory and storage on 3-server targets",
     "the account's usage is summed from per-server reports that arrive periodically and asynchronously: "
     "two nats-server clusters read at the same point of the same program give different sums (0 vs 44, 148 vs 333); "
     "compared exactly on single servers"),
    ("$JS.API.INFO api.total and api.errors",
     "account-wide API call counters: they count every earlier case and the harness's own readiness and cleanup requests"),
    ("names the server generates (ephemeral consumer names, declared by the case with ctx.generated)",
     "random 8-character names; every occurrence (JSON values, subject tokens) becomes <gen-N> by first appearance"),
]

TIME_KEYS = {"created", "ts", "first_ts", "last_ts", "time", "last_active", "leader_since"}


class Normaliser:
    def __init__(self, servers: list[str], clustered: bool, generated: list[str]):
        self.servers = set(servers)
        self.clustered = clustered
        self.gen: dict[str, str] = {}
        for g in generated:
            if g and g not in self.gen:
                self.gen[g] = f"<gen-{len(self.gen) + 1}>"

    def time(self, v):
        if isinstance(v, str) and v != ZERO_TIME and RFC3339.match(v):
            return "<time>"
        return v

    def server(self, v):
        if self.clustered and isinstance(v, str) and v in self.servers:
            return "<server>"
        return v

    def string(self, s: str) -> str:
        if s in self.gen:
            return self.gen[s]
        if s.startswith("$JS.ACK."):
            toks = s.split(".")
            if len(toks) == 9 and toks[7].isdigit():
                toks[7] = "<ts>"
            toks = [self.gen.get(t, t) for t in toks]
            return ".".join(toks)
        if self.gen and "." in s:
            toks = s.split(".")
            if any(t in self.gen for t in toks):
                return ".".join(self.gen.get(t, t) for t in toks)
        return s

    def cluster(self, c):
        if not isinstance(c, dict):
            return self.value(c)
        out = {}
        for k, v in c.items():
            if k == "leader":
                out[k] = self.server(v)
            elif k == "leader_since":
                out[k] = self.time(v)
            elif k == "raft_group" and isinstance(v, str) and v:
                out[k] = "<raft-group>"
            elif k == "replicas" and isinstance(v, list):
                reps = []
                for r in v:
                    if not isinstance(r, dict):
                        reps.append(self.value(r))
                        continue
                    rr = {}
                    for rk, rv in r.items():
                        if rk == "name":
                            rr[rk] = self.server(rv)
                        elif rk == "lag":
                            continue  # omitempty: present only while the peer lags
                        elif rk == "active" and isinstance(rv, int):
                            rr[rk] = "<ns>"
                        elif rk == "current" and isinstance(rv, bool):
                            rr[rk] = "<bool>"
                        elif rk == "peer" and isinstance(rv, str) and rv:
                            rr[rk] = "<peer-id>"
                        else:
                            rr[rk] = self.value(rv)
                    reps.append(rr)
                reps.sort(key=lambda x: json.dumps(x, sort_keys=True))
                out[k] = reps
            else:
                out[k] = self.value(v)
        return out

    def value(self, v, key: Optional[str] = None):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                k2 = self.string(k) if isinstance(k, str) else k
                if k in TIME_KEYS or k == "Nats-Time-Stamp":
                    out[k2] = self.time(x)
                elif k == "cluster":
                    out[k2] = self.cluster(x)
                elif (k in ("memory", "storage") and self.clustered and isinstance(x, int)
                      and v.get("type") == "io.nats.jetstream.api.v1.account_info_response"):
                    out[k2] = "<usage>"
                elif k == "api" and isinstance(x, dict):
                    out[k2] = {ak: ("<count>" if ak in ("total", "errors") and isinstance(av, int) else self.value(av))
                               for ak, av in x.items()}
                else:
                    out[k2] = self.value(x, k)
            return out
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, str):
            return self.string(v)
        return v


def normalise(obs: list, servers: list[str], clustered: bool, generated: list[str]) -> list:
    n = Normaliser(servers, clustered, generated)
    return [[label, n.value(v)] for label, v in obs]


def first_difference(a: list, b: list) -> Optional[str]:
    """None if equal, else a one-line description of the first difference."""
    for i in range(max(len(a), len(b))):
        if i >= len(a):
            return f"#{i} {b[i][0]!r}: only jetsim has it: {short(b[i][1])}"
        if i >= len(b):
            return f"#{i} {a[i][0]!r}: jetsim stops here; nats-server has {short(a[i][1])}"
        if a[i] != b[i]:
            if a[i][0] != b[i][0]:
                return f"#{i} label {a[i][0]!r} (nats-server) vs {b[i][0]!r} (jetsim)"
            return f"#{i} {a[i][0]!r}: {value_diff(a[i][1], b[i][1])}"
    return None


def all_differences(a: list, b: list, limit: int = 200) -> list:
    """Every differing leaf path: (label, path, nats-server value, jetsim value)."""
    out = []
    for i in range(max(len(a), len(b))):
        if i >= len(a) or i >= len(b) or a[i][0] != b[i][0]:
            la = a[i][0] if i < len(a) else None
            lb = b[i][0] if i < len(b) else None
            out.append((la or lb, "(observation)", la, lb))
            break  # the programs diverged: later observations do not align
        _leaf_diffs(a[i][1], b[i][1], "", a[i][0], out)
        if len(out) >= limit:
            break
    return out[:limit]


MISSING = "<missing>"


def _leaf_diffs(x, y, path, label, out):
    if isinstance(x, dict) and isinstance(y, dict):
        for k in list(x) + [k for k in y if k not in x]:
            _leaf_diffs(x.get(k, MISSING), y.get(k, MISSING), f"{path}.{k}", label, out)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            _leaf_diffs(p, q, f"{path}[{i}]", label, out)
    elif x != y:
        out.append((label, path or "value", x, y))


def value_diff(x, y, path="") -> str:
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(set(x) | set(y)):
            if k not in y:
                return f"{path}.{k}: nats-server {short(x[k])}, jetsim lacks it"
            if k not in x:
                return f"{path}.{k}: jetsim has {short(y[k])}, nats-server lacks it"
            if x[k] != y[k]:
                return value_diff(x[k], y[k], f"{path}.{k}")
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            if p != q:
                return value_diff(p, q, f"{path}[{i}]")
    return f"{path or 'value'}: nats-server {short(x)} != jetsim {short(y)}"


def short(v, n=160) -> str:
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= n else s[:n] + "…"


# --------------------------------------------------------------------------
# Targets

def _die_with_parent():
    """Linux: the child gets SIGTERM if the harness dies without cleaning up."""
    try:
        import ctypes, signal as _s
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, _s.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _quiet(e):
    """nats-py error callback that does not print (readiness polling expects refusals)."""


class TargetDown(Exception):
    pass


class Target:
    kind = "?"

    def __init__(self, n: int, workdir: str):
        self.n = n
        self.workdir = workdir
        self.urls: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.error: Optional[str] = None
        self.servers = [f"n{i + 1}" for i in range(n)]
        self.down: set[int] = set()   # servers crashed by a case and not restarted yet

    @property
    def name(self):
        return f"{self.kind}-{self.n}"

    async def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 5
        for p in self.procs:
            while p.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if p.poll() is None:
                p.kill()
                p.wait()
        self.procs = []

    async def wait_ready(self, timeout: float = 60.0):
        """Every server answers $JS.API.INFO without error; on a cluster an R3
        stream can be created (the meta leader knows every peer)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        for url in self.urls:
            while True:
                if time.monotonic() > deadline:
                    raise TargetDown(f"{self.name}: not ready after {timeout:.0f}s ({url}: {last})")
                self.check_alive()
                try:
                    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=1, error_cb=_quiet)
                    try:
                        r = json.loads((await nc.request("$JS.API.INFO", b"", timeout=1)).data)
                    finally:
                        await nc.close()
                    if "error" not in r:
                        break
                    last = json.dumps(r["error"])
                except Exception as e:  # not up yet
                    last = f"{type(e).__name__}: {e}"
                await asyncio.sleep(0.2)
        if self.n > 1:
            cfg = {"name": "READY_PROBE", "subjects": ["ready.probe"], "num_replicas": self.n, "storage": "memory"}
            while True:
                if time.monotonic() > deadline:
                    raise TargetDown(f"{self.name}: cannot create an R{self.n} stream ({last})")
                self.check_alive()
                try:
                    nc = await nats.connect(self.urls[0], allow_reconnect=False, connect_timeout=1, error_cb=_quiet)
                    try:
                        r = json.loads((await nc.request("$JS.API.STREAM.CREATE.READY_PROBE",
                                                         json.dumps(cfg).encode(), timeout=3)).data)
                        if "error" not in r:
                            await nc.request("$JS.API.STREAM.DELETE.READY_PROBE", b"", timeout=3)
                            return
                        last = json.dumps(r["error"])
                    finally:
                        await nc.close()
                except Exception as e:
                    last = f"{type(e).__name__}: {e}"
                await asyncio.sleep(0.3)

    async def kill(self, i: int):
        raise NotImplementedError

    async def restart(self, i: int):
        raise NotImplementedError

    async def wait_server(self, i: int, timeout: float = 30.0):
        """Server i answers $JS.API.INFO without error."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                nc = await nats.connect(self.urls[i], allow_reconnect=False, connect_timeout=1, error_cb=_quiet)
                try:
                    r = json.loads((await nc.request("$JS.API.INFO", b"", timeout=1)).data)
                finally:
                    await nc.close()
                if "error" not in r:
                    return
                last = json.dumps(r["error"])
            except Exception as e:
                last = f"{type(e).__name__}: {e}"
            await asyncio.sleep(0.2)
        raise TargetDown(f"{self.name}: n{i + 1} not back after {timeout:.0f}s ({last})")

    def check_alive(self):
        for p in self.procs:
            if p.poll() is not None:
                raise TargetDown(f"{self.name}: a server process exited with {p.returncode} (logs in {self.workdir})")


class NatsServerTarget(Target):
    kind = "nats"

    def __init__(self, n, workdir, binary):
        super().__init__(n, workdir)
        self.binary = binary
        self.confs: list[str] = []

    def spawn(self, i: int) -> subprocess.Popen:
        log = open(os.path.join(self.workdir, f"{self.servers[i]}.log"), "ab")
        return subprocess.Popen([self.binary, "-c", self.confs[i]], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

    async def kill(self, i: int):
        """A crash: SIGKILL (data written to the store files survives)."""
        p = self.procs[i]
        p.kill()
        while p.poll() is None:
            await asyncio.sleep(0.02)
        self.down.add(i)

    async def restart(self, i: int):
        self.procs[i] = self.spawn(i)
        self.down.discard(i)
        await self.wait_server(i)
        if self.n > 1 and not self.down:
            await self.wait_ready()

    async def start(self):
        """Start, retrying with fresh ports: a port picked by free_port() can
        be taken by another process before nats-server binds it."""
        for attempt in range(3):
            try:
                return await self._start_once()
            except TargetDown as e:
                bound = any("address already in use" in open(os.path.join(self.workdir, f"{n}.log"),
                                                             errors="replace").read()
                            for n in self.servers if os.path.exists(os.path.join(self.workdir, f"{n}.log")))
                await self.stop()
                if not bound or attempt == 2:
                    raise
                self.urls, self.confs, self.procs = [], [], []
                shutil.rmtree(self.workdir, ignore_errors=True)

    async def _start_once(self):
        os.makedirs(self.workdir, exist_ok=True)
        ports = [free_port() for _ in range(self.n)]
        cports = [free_port() for _ in range(self.n)]
        for i in range(self.n):
            name = self.servers[i]
            store = os.path.join(self.workdir, name, "js")
            os.makedirs(store, exist_ok=True)
            conf = [f"server_name: {name}", f"listen: 127.0.0.1:{ports[i]}",
                    f'jetstream {{ store_dir: "{store}" }}']
            if self.n > 1:
                routes = ", ".join(f"nats-route://127.0.0.1:{cports[j]}" for j in range(self.n) if j != i)
                conf.append(f"cluster {{ name: jetsim, listen: 127.0.0.1:{cports[i]}, routes: [{routes}] }}")
            path = os.path.join(self.workdir, f"{name}.conf")
            with open(path, "w") as f:
                f.write("\n".join(conf) + "\n")
            self.confs.append(path)
            self.procs.append(self.spawn(i))
            self.urls.append(f"nats://127.0.0.1:{ports[i]}")
        await self.wait_ready()


class JetsimTarget(Target):
    kind = "jetsim"

    def __init__(self, n, workdir, binary, seed=1):
        super().__init__(n, workdir)
        self.binary = binary
        self.seed = seed

    async def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        if not os.path.exists(self.binary):
            raise TargetDown(f"{self.name}: no jetsim binary at {self.binary}")
        log = open(os.path.join(self.workdir, "stderr.log"), "wb")
        # --port 0: jetsim picks free ports itself and prints them.
        cmd = [self.binary, "serve", "--servers", str(self.n), "--port", "0", "--seed", str(self.seed)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.PIPE,
                             preexec_fn=_die_with_parent)
        self.procs.append(p)
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + 60
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TargetDown(f"{self.name}: `{' '.join(cmd)}` printed no 'ready' within 60s")
            line = await asyncio.wait_for(loop.run_in_executor(None, p.stdout.readline), remaining)
            if not line:
                p.wait()
                err = open(os.path.join(self.workdir, "stderr.log"), errors="replace").read().strip()
                raise TargetDown(f"{self.name}: `{' '.join(cmd)}` exited with {p.returncode}: "
                                 f"{err.splitlines()[-1] if err else '(no stderr)'}")
            line = line.decode(errors="replace").strip()
            if line == "ready":
                break
            if line.startswith("nats://"):
                self.urls.append(line)
        if len(self.urls) != self.n:
            raise TargetDown(f"{self.name}: printed {len(self.urls)} URLs for {self.n} servers")
        # Drain what it prints from now on (answers to stdin commands).
        self.output: list[str] = []
        import threading

        def drain():
            for raw in p.stdout:
                self.output.append(raw.decode(errors="replace").rstrip())
        threading.Thread(target=drain, daemon=True).start()
        await self.wait_ready()

    async def command(self, line: str):
        p = self.procs[0]
        p.stdin.write((line + "\n").encode())
        p.stdin.flush()
        await asyncio.sleep(0.05)

    async def kill(self, i: int):
        await self.command(f"kill {self.servers[i]}")
        self.down.add(i)

    async def restart(self, i: int):
        await self.command(f"restart {self.servers[i]}")
        self.down.discard(i)
        await self.wait_server(i)
        if self.n > 1 and not self.down:
            await self.wait_ready()


# --------------------------------------------------------------------------
# The case context

def msg_view(m) -> dict:
    """What a client observes of a delivered message."""
    d: dict[str, Any] = {"subject": m.subject}
    if m.reply:
        d["reply"] = m.reply
    if m.headers:
        d["headers"] = dict(sorted(m.headers.items()))
    try:
        d["data"] = m.data.decode()
    except UnicodeDecodeError:
        d["data_b64"] = base64.b64encode(m.data).decode()
    return d


def status_of(m) -> Optional[str]:
    return (m.headers or {}).get("Status")


def ack_tokens(reply: str) -> dict:
    """The compared tokens of a v1 ack subject."""
    t = reply.split(".")
    if len(t) != 9 or t[0] != "$JS" or t[1] != "ACK":
        return {"bad_ack_subject": reply}
    return {"stream": t[2], "delivered": int(t[4]), "sseq": int(t[5]), "dseq": int(t[6]), "pending": int(t[8])}


class Sub:
    def __init__(self, ctx, sub, subject):
        self.ctx = ctx
        self.sub = sub
        self.subject = subject

    async def next(self, timeout: float = 2.0):
        try:
            return await self.sub.next_msg(timeout=timeout)
        except NatsTimeout:
            return None
        except asyncio.TimeoutError:
            return None

    async def collect(self, n: int, timeout: float = 2.0, data_only=False) -> list:
        """Up to n messages, each awaited at most `timeout` s."""
        out = []
        while len(out) < n:
            m = await self.next(timeout)
            if m is None:
                break
            if data_only and status_of(m):
                continue
            out.append(m)
        return out

    async def quiet(self, seconds: float) -> list:
        """Everything that arrives within `seconds`."""
        out = []
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return out
            m = await self.next(left)
            if m is None:
                return out
            out.append(m)

    async def unsubscribe(self):
        await self.sub.unsubscribe()


class Ctx:
    def __init__(self, target: Target, case: Case):
        self.target = target
        self.case = case
        self.observations: list = []
        self.generated_names: list[str] = []
        self.conns: list = []
        self.nc = None
        self._inbox = 0

    @property
    def clustered(self):
        return self.target.n > 1

    async def connect(self, server: int = 0):
        nc = await nats.connect(self.target.urls[server], allow_reconnect=False, connect_timeout=2, error_cb=_quiet,
                                dont_randomize=True, pending_size=64 * 1024 * 1024)
        self.conns.append(nc)
        return nc

    async def close(self):
        for nc in self.conns:
            try:
                await nc.close()
            except Exception:
                pass

    # -- observations
    def obs(self, label: str, value):
        self.observations.append([label, value])
        return value

    def generated(self, name: str):
        """Declare a server-generated name (normalised to <gen-N>)."""
        if isinstance(name, str) and name:
            self.generated_names.append(name)

    def inbox(self) -> str:
        self._inbox += 1
        return f"_CF.{self.case.name}.{self._inbox}"

    # -- API
    async def api(self, suffix: str, body=None, timeout: float = 3.0, nc=None):
        nc = nc or self.nc
        if body is None:
            payload = b""
        elif isinstance(body, (bytes, bytearray)):
            payload = bytes(body)
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = json.dumps(body).encode()
        subject = suffix if suffix.startswith("$JS.") else f"$JS.API.{suffix}"
        r = await self.request(subject, payload, timeout=timeout, nc=nc)
        if self.clustered and isinstance(r, dict) and "error" not in r and not any(k.startswith("$") for k in r):
            await self._settle(subject, r, nc)
        return r

    async def _settle(self, subject: str, r: dict, nc):
        """On a cluster a create/update reply can come from the meta leader
        before the stream or consumer leader's subscriptions (stream subjects,
        MSG.NEXT) have reached the server we are connected to, so a publish
        or pull right after it may get 503 no responders on nats-server too.
        An INFO request is answered by that leader after it subscribed, over
        the same ordered route, so once it is back the interest is here. Not
        recorded; the same program runs on both targets."""
        t = subject.split(".")
        if t[2:4] in (["STREAM", "CREATE"], ["STREAM", "UPDATE"]) and len(t) == 5:
            await self.request(f"$JS.API.STREAM.INFO.{t[4]}", b"", timeout=3, nc=nc)
        elif t[2:4] == ["CONSUMER", "CREATE"] or t[2:5] == ["CONSUMER", "DURABLE", "CREATE"]:
            stream, name = r.get("stream_name"), r.get("name")
            if stream and name:
                await self.request(f"$JS.API.CONSUMER.INFO.{stream}.{name}", b"", timeout=3, nc=nc)

    async def request(self, subject, payload=b"", headers=None, timeout: float = 3.0, nc=None):
        nc = nc or self.nc
        try:
            m = await nc.request(subject, payload, timeout=timeout, headers=headers)
        except NoRespondersError:
            return {"$no_responders": True}
        except (NatsTimeout, asyncio.TimeoutError):
            return {"$timeout": True}
        if status_of(m):
            return {"$status": msg_view(m)}
        try:
            return json.loads(m.data) if m.data else {"$empty": True}
        except ValueError:
            return {"$raw": m.data.decode(errors="replace")}

    async def apio(self, label: str, suffix: str, body=None, timeout: float = 3.0):
        """api() and record the response."""
        return self.obs(label, await self.api(suffix, body, timeout))

    async def pub(self, subject: str, data="", headers=None, timeout: float = 3.0):
        """A JetStream publish (a request); returns the parsed PubAck."""
        if isinstance(data, str):
            data = data.encode()
        return await self.request(subject, data, headers=headers, timeout=timeout)

    async def pubo(self, label, subject, data="", headers=None, timeout: float = 3.0):
        return self.obs(label, await self.pub(subject, data, headers, timeout))

    async def publish(self, subject: str, data="", headers=None, reply: str = ""):
        if isinstance(data, str):
            data = data.encode()
        await self.nc.publish(subject, data, reply=reply, headers=headers)
        await self.nc.flush()

    async def sub(self, subject: str, queue: str = "", nc=None) -> Sub:
        nc = nc or self.nc
        s = await nc.subscribe(subject, queue=queue)
        await nc.flush()
        return Sub(self, s, subject)

    # -- streams and consumers
    async def stream(self, name: str, label: Optional[str] = None, **cfg):
        cfg.setdefault("subjects", [f"{name.lower()}.>"])
        cfg.setdefault("storage", "memory")
        cfg["name"] = name
        r = await self.api(f"STREAM.CREATE.{name}", cfg)
        if label:
            self.obs(label, r)
        return r

    async def consumer(self, stream: str, name: Optional[str] = None, label: Optional[str] = None,
                       action: Optional[str] = None, **cfg):
        body: dict[str, Any] = {"stream_name": stream, "config": cfg}
        if action is not None:
            body["action"] = action
        if name:
            cfg.setdefault("durable_name", name)
            subject = f"CONSUMER.CREATE.{stream}.{name}"
        else:
            subject = f"CONSUMER.CREATE.{stream}"
        r = await self.api(subject, body)
        if not name and isinstance(r, dict):
            self.generated(r.get("name", ""))
        if label:
            self.obs(label, r)
        return r

    async def fill(self, subject_fmt: str, n: int, data_fmt: str = "m{i}", headers=None):
        """n JetStream publishes; returns the acks (not recorded)."""
        acks = []
        for i in range(1, n + 1):
            acks.append(await self.pub(subject_fmt.format(i=i), data_fmt.format(i=i), headers))
        return acks

    async def pull(self, stream, consumer, req=None, expect: Optional[int] = None, wait: float = 2.0,
                   nc=None) -> list:
        """One MSG.NEXT request on a fresh inbox. Collects until a 404/408/409
        status, `expect` data messages, or `wait` seconds of silence."""
        inbox = self.inbox()
        s = await self.sub(inbox, nc=nc)
        payload = b"" if req is None else (str(req).encode() if isinstance(req, int) else json.dumps(req).encode())
        await (nc or self.nc).publish(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}", payload, reply=inbox)
        out, ndata = [], 0
        while True:
            m = await s.next(wait)
            if m is None:
                out.append({"$quiet": True})
                break
            out.append(m)
            st = status_of(m)
            if st in ("404", "408", "409", "400"):
                break
            if not st:
                ndata += 1
                if expect is not None and ndata >= expect:
                    break
        await s.unsubscribe()
        return out

    def view(self, msgs) -> list:
        return [m if isinstance(m, dict) else msg_view(m) for m in msgs]

    async def pullo(self, label, stream, consumer, req=None, expect=None, wait=2.0):
        msgs = await self.pull(stream, consumer, req, expect, wait)
        self.obs(label, self.view(msgs))
        return [m for m in msgs if not isinstance(m, dict)]

    async def ack(self, m, body: str = "+ACK"):
        await self.nc.publish(m.reply, body.encode())
        await self.nc.flush()

    async def ack_sync(self, m, body: str = "+ACK", timeout=2.0):
        return await self.request(m.reply, body.encode(), timeout=timeout)

    async def info(self, stream: str, label: str, body=None):
        return await self.apio(label, f"STREAM.INFO.{stream}", body)

    async def cinfo(self, stream: str, consumer: str, label: str):
        return await self.apio(label, f"CONSUMER.INFO.{stream}.{consumer}")

    async def account_info(self, nc=None):
        """$JS.API.INFO (its usage numbers are normalised on clusters, see NORMALISATION)."""
        return await self.api("INFO", nc=nc)

    async def kill(self, i: int):
        """Crash server i (n1 is 0). The case's connection is to n1."""
        await self.target.kill(i)

    async def restart(self, i: int):
        await self.target.restart(i)

    async def until(self, what: str, fn, timeout: float = 20.0, every: float = 0.2):
        """Poll `fn()` (async, returns a truthy value when done) without
        recording; raises CaseCheck naming `what` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            v = await fn()
            if v:
                return v
            if time.monotonic() > deadline:
                raise CaseCheck(f"timed out waiting for {what}")
            await asyncio.sleep(every)

    def check(self, what: str, ok: bool):
        """A sanity check on the case itself; a failure on the oracle is a
        case bug (status 'error'), on jetsim an observation."""
        if not ok:
            raise CaseCheck(what)


class CaseCheck(Exception):
    pass


async def reset_target(target: Target):
    """Delete every stream (cases use unique names and clean up, but a failed
    case may leave some behind)."""
    nc = await nats.connect(target.urls[0], allow_reconnect=False, connect_timeout=2)
    try:
        for _ in range(3):
            r = json.loads((await nc.request("$JS.API.STREAM.NAMES", b"", timeout=3)).data)
            names = r.get("streams") or []
            if not names:
                break
            for s in names:
                await nc.request(f"$JS.API.STREAM.DELETE.{s}", b"", timeout=5)
        if target.n > 1:
            # The account's stream count in $JS.API.INFO follows deletions
            # asynchronously on a cluster: let it reach 0 before the next case.
            for _ in range(50):
                r = json.loads((await nc.request("$JS.API.INFO", b"", timeout=3)).data)
                if r.get("streams") == 0 and r.get("consumers") == 0:
                    break
                await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def run_case(target: Target, c: Case) -> dict:
    """Run one case on one target: {'obs': [...], 'generated': [...], 'exception': str|None}."""
    ctx = Ctx(target, c)
    exc = None
    try:
        if target.error:
            raise TargetDown(target.error)
        ctx.nc = await ctx.connect(0)
        await asyncio.wait_for(c.fn(ctx), c.timeout)
    except CaseCheck as e:
        exc = f"check failed: {e}"
    except TargetDown as e:
        exc = f"target down: {e}"
    except asyncio.TimeoutError:
        exc = f"case timed out after {c.timeout}s"
    except Exception as e:
        exc = f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exc(limit=4))
    finally:
        await ctx.close()
    if exc:
        ctx.observations.append(["$exception", exc.splitlines()[0]])
    for i in sorted(target.down):   # a case that failed midway leaves no server down
        try:
            await target.restart(i)
        except Exception as e:
            ctx.observations.append(["$restart_failed", f"n{i + 1}: {type(e).__name__}"])
    try:
        if not target.error:
            await asyncio.wait_for(reset_target(target), 20)
    except Exception as e:
        target.error = target.error  # keep going; the next case reports its own trouble
        ctx.observations.append(["$reset_failed", f"{type(e).__name__}"])
    return {"obs": ctx.observations, "generated": ctx.generated_names, "exception": exc}
