// The Raft lens (src/playground/lens.rs): per Raft group, the members with
// role, term and vote, their logs (committed vs not), the leader's entries
// with their acks and quorum, and the PubAcks; faults from the page and the
// new leader taking over. Assertions read the lens's text (its table and
// lists), not the strip drawing.
//   scripts/build-web && node --test tests/e2e/lens.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, screenshot } from './lib/harness.mjs';
import { assertClean, command, logLines, openPlayground, setSpeed, SPEED_1X, SPEED_10X, useBrowser, waitForLogLine } from './lib/playground.mjs';

const T = { timeout: 180_000 };
const env = useBrowser();

/**
 * scenarios/r3-publish.jetsim, with the client allowed to reconnect to any
 * server (so killing any leader leaves it a way to publish) and a longer end.
 */
function r3Text() {
  const text = readFileSync(join(ROOT, 'scenarios', 'r3-publish.jetsim'), 'utf8');
  const out = text.replace('client c1 server=n1', 'client c1 servers=n1,n2,n3').replace(/^until .*$/m, 'until 300s');
  assert.notEqual(out, text);
  return out;
}

/** Open the page on the R3 scenario, play at 10x until `acks` publishes are acknowledged, pause. */
async function openR3(acks = 5) {
  const pg = await openPlayground(env.browser, env.server);
  const { page } = pg;
  await page.locator('details.scenario-text summary').click();
  await page.fill('#scenario-text', r3Text());
  await page.getByRole('button', { name: 'Load this text' }).click();
  await page.waitForSelector('svg.cluster-view g.server[data-server="n3"]');
  await page.waitForSelector('section.lens');
  await setSpeed(page, SPEED_10X);
  await play(page);
  await waitForLogLine(page, new RegExp(`^c1 publish to orders\\.new acknowledged: ORDERS seq ${acks} `), 60_000);
  await pause(page);
  return pg;
}

const play = (page) => page.getByRole('button', { name: 'Play', exact: true }).click();
const pause = (page) => page.getByRole('button', { name: 'Pause', exact: true }).click();

/**
 * The lens of one stream (or of the meta group, stream ''), read from its
 * text: the headline, and per member row the server, role, term, voted-for,
 * last/commit/applied and the leader's match.
 */
function lens(page, stream) {
  return page.evaluate((stream) => {
    const g = [...document.querySelectorAll('section.lens .raft-group')].find(
      (s) => (s.querySelector('.group-title')?.firstChild?.textContent ?? '') === (stream || 'Meta group'),
    );
    if (!g) return null;
    const num = (s) => (s === undefined ? null : Number(s));
    const members = [...g.querySelectorAll('tbody tr')].map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent.trim());
      const log = /^last (\d+)(?: on disk)?(?: · commit (\d+) · applied (\d+))?/.exec(cells[3]) ?? [];
      return {
        server: tr.querySelector('th').textContent.trim(),
        roleText: cells[0],
        role: cells[0].split(' ')[0],
        term: Number(cells[1]),
        votedFor: cells[2],
        last: num(log[1]),
        commit: num(log[2]),
        applied: num(log[3]),
        match: cells[4],
      };
    });
    const headline = g.querySelector('.group-status').textContent;
    const leader = /^Leader (\S+) in term (\d+), commit (\d+)/.exec(headline);
    return {
      headline,
      leader: leader ? leader[1] : null,
      term: leader ? Number(leader[2]) : null,
      commit: leader ? Number(leader[3]) : null,
      members,
      proposals: [...g.querySelectorAll('ol.proposals li')].map((li) => li.textContent),
      election: g.querySelector('.election')?.textContent ?? '',
      frames: g.querySelector('.frames-line')?.textContent ?? '',
      pubacks: g.querySelector('.pubacks')?.textContent ?? '',
      // The strips (one SVG per member) carry their cell counts.
      cells: {
        committed: [...g.querySelectorAll('svg.strip')].reduce((n, e) => n + Number(e.dataset.committed), 0),
        uncommitted: [...g.querySelectorAll('svg.strip')].reduce((n, e) => n + Number(e.dataset.uncommitted), 0),
        drawn: [...g.querySelectorAll('svg.strip path.cells.committed')].reduce((n, p) => n + (p.getAttribute('d').match(/M/g) ?? []).length, 0),
      },
    };
  }, stream);
}

/** Poll the lens of `stream` until `pred(state)` holds (the page keeps playing). */
async function waitLens(page, stream, what, pred, timeout = 60_000) {
  const t0 = Date.now();
  let last = null;
  while (Date.now() - t0 < timeout) {
    last = await lens(page, stream);
    if (last && pred(last)) return last;
    await page.waitForTimeout(100);
  }
  assert.fail(`timed out waiting for: ${what}; lens was ${JSON.stringify(last, null, 1)}`);
}

const member = (l, name) => l.members.find((m) => m.server === name);

test('Raft lens: stream leader, three members, committed entries and quorum acks; meta group too', T, async () => {
  const { page, log, close } = await openR3(5);
  const l = await lens(page, 'ORDERS');
  assert.ok(l, 'the lens shows the ORDERS group');
  assert.ok(l.leader, `a leader: ${l.headline}`);
  assert.equal(l.members.length, 3);
  assert.deepEqual(l.members.map((m) => m.server).sort(), ['n1', 'n2', 'n3']);
  assert.equal(l.members.filter((m) => m.role === 'leader').length, 1);
  assert.equal(l.members.filter((m) => m.role === 'follower').length, 2);
  const lead = member(l, l.leader);
  assert.equal(lead.role, 'leader');
  assert.match(lead.roleText, /won [23]\/3 votes/);
  assert.equal(lead.match, 'is the leader');
  assert.ok(lead.commit >= 6, `5 publishes and the no-op committed: ${lead.commit}`);
  for (const m of l.members) assert.equal(m.term, l.term, `${m.server} in the leader's term`);
  assert.ok(l.cells.committed >= 3 * 6, `committed cells: ${l.cells.committed}`);
  assert.equal(l.cells.drawn, l.cells.committed, 'one committed cell drawn per committed entry');
  // The leader's last entries: publishes, each with a quorum of acks.
  assert.ok(l.proposals.length >= 3);
  assert.ok(l.proposals.some((p) => /publish to orders\.new · acks [23]\/3 quorum/.test(p)), l.proposals.join('\n'));
  assert.ok(l.proposals.some((p) => /committed, applied → PubAck sent/.test(p)));
  assert.match(l.frames, /Last quorum: entry \d+ at \S+ \([23]\/3: n\d, n\d/);
  assert.match(l.pubacks, /c1 got PubAck seq \d+ at/);
  // The meta group: three members, one leader, the stream assignment committed.
  const meta = await lens(page, '');
  assert.ok(meta?.leader, 'meta leader');
  assert.equal(meta.members.length, 3);
  assert.ok(meta.proposals.some((p) => /add stream ORDERS/.test(p)), meta.proposals.join('\n'));
  // The legend tells the Raft frame kinds apart.
  assert.match((await page.textContent('.legend')) ?? '', /raft-append.*raft-heartbeat.*raft-ack.*raft-vote.*raft-reject.*puback/s);
  console.log(`screenshot: ${await screenshot(page, 'lens-r3')}`);

  // Step through a publish: an entry waits with 1/3, then reaches 2/3
  // quorum; AppendEntries and acks are in flight, then the PubAck.
  await command(page, 'c1: nats pub orders.new "stepped {{Count}}" --jetstream --count 3 --sleep 20ms');
  const seen = { waiting: false, quorum: false, append: false, ack: false, puback: false };
  // The cluster view draws the same frames with their fine kind (on the
  // frames overlay, which lists the details it drew in data-details).
  const drawn = new Set();
  let shot = false;
  for (let i = 0; i < 400 && !(seen.waiting && seen.quorum && seen.append && seen.ack && seen.puback); i++) {
    await page.getByRole('button', { name: 'Step', exact: true }).click();
    const s = await lens(page, 'ORDERS');
    const stepped = s.proposals.filter((p) => /publish to orders\.new/.test(p));
    seen.waiting ||= stepped.some((p) => /acks 1\/3 \(\S+\) · waiting for a quorum of 2/.test(p));
    seen.quorum ||= stepped.some((p) => /acks 2\/3 quorum/.test(p));
    seen.append ||= /\d+ AppendEntries/.test(s.frames);
    seen.ack ||= /\d+ acks?\b/.test(s.frames);
    seen.puback ||= /PubAck seq \d+ \S+ → c1/.test(s.pubacks);
    for (const d of ((await page.getAttribute('svg.frames-overlay', 'data-details')) ?? '').split(' ').filter(Boolean)) drawn.add(d);
    if (seen.waiting && !shot) {
      shot = true;
      console.log(`screenshot: ${await screenshot(page, 'lens-r3-waiting')}`);
    }
  }
  assert.deepEqual(seen, { waiting: true, quorum: true, append: true, ack: true, puback: true });
  for (const d of ['append', 'ack', 'puback']) assert.ok(drawn.has(d), `a ${d} frame drawn in the cluster view: ${[...drawn]}`);
  assertClean(log);
  await close();
});

test('kill the stream leader from the page: a new leader in a higher term, acks resume; restart: it catches up', T, async () => {
  const { page, log, close } = await openR3(5);
  const before = await lens(page, 'ORDERS');
  const old = before.leader;
  await page.getByRole('button', { name: `Kill ${old}` }).click();
  // The click's render may land a frame later: wait for it, then assert.
  let l = await waitLens(page, 'ORDERS', `${old} shown offline`, (s) => member(s, old)?.role !== 'leader', 10_000);
  assert.equal(member(l, old).role, 'offline');
  assert.match(member(l, old).roleText, /offline \(down\)/);
  assert.equal(member(l, old).commit, null, 'commit index unknown while down');
  assert.ok(member(l, old).last >= before.commit, 'its disk keeps its log');

  await play(page);
  l = await waitLens(page, 'ORDERS', 'a new stream leader', (s) => s.leader && s.leader !== old && s.term > before.term);
  assert.ok(l.term > before.term, `term ${before.term} → ${l.term}`);
  assert.match(member(l, l.leader).roleText, /won 2\/3 votes/, 'elected by the two live members');
  await pause(page);
  console.log(`screenshot: ${await screenshot(page, 'lens-new-leader')}`);

  // Publishes are acknowledged again, through the new leader.
  // (By sequence number: while playing, the log draws only its newest lines.)
  const seqs = (lines) => lines.map((t) => / acknowledged: ORDERS seq (\d+)/.exec(t)).filter(Boolean).map((m) => Number(m[1]));
  const acked = Math.max(0, ...seqs(await logLines(page)));
  await command(page, 'c1: nats pub orders.new "after {{Count}}" --jetstream --count 3 --sleep 50ms --timeout 2s');
  await play(page);
  await page.waitForFunction(
    (n) =>
      [...document.querySelectorAll('#log li .what')]
        .map((e) => / acknowledged: ORDERS seq (\d+)/.exec(e.textContent ?? ''))
        .some((m) => m && Number(m[1]) >= n + 3),
    acked,
    { timeout: 60_000 },
  );
  l = await lens(page, 'ORDERS');
  assert.notEqual(l.leader, old);

  // Restart the old leader: it rejoins as a follower and its commit index
  // reaches the leader's.
  await page.getByRole('button', { name: `Restart ${old}` }).click();
  l = await waitLens(page, 'ORDERS', `${old} caught up`, (s) => {
    const m = member(s, old);
    return s.leader && s.leader !== old && m.role === 'follower' && m.commit !== null && m.commit === s.commit && m.last === member(s, s.leader).last;
  });
  assert.match(member(l, old).match, /\(in sync\)/);
  await pause(page);
  console.log(`screenshot: ${await screenshot(page, 'lens-restarted')}`);
  assertClean(log);
  await close();
});

test('pause a follower: it lags behind the leader, then catches up on resume', T, async () => {
  const { page, log, close } = await openR3(3);
  const l0 = await lens(page, 'ORDERS');
  // A follower the publisher is not connected to (a paused server holds its clients too).
  const via = (await page.textContent('.client-table tr[data-client="c1"] td'))?.trim();
  const f = l0.members.find((m) => m.role === 'follower' && m.server !== via).server;
  await page.getByRole('button', { name: `Pause ${f}` }).click();
  await command(page, 'c1: nats pub orders.new "while paused {{Count}}" --jetstream --count 5 --sleep 20ms');
  await play(page);
  let l = await waitLens(page, 'ORDERS', `${f} behind`, (s) => {
    const m = member(s, f);
    return s.commit >= l0.commit + 5 && m.commit !== null && m.commit < s.commit && /behind/.test(m.match);
  });
  const lagging = member(l, f);
  assert.match(lagging.roleText, /\(paused\)/);
  assert.ok(lagging.last < member(l, l.leader).last, 'its log is shorter');
  assert.equal(l.leader, l0.leader, 'a paused follower does not cost the quorum');
  await pause(page);
  console.log(`screenshot: ${await screenshot(page, 'lens-paused-follower')}`);

  await page.getByRole('button', { name: `Resume ${f}` }).click();
  await play(page);
  l = await waitLens(page, 'ORDERS', `${f} caught up`, (s) => {
    const m = member(s, f);
    return m.commit === s.commit && m.last === member(s, s.leader).last && /in sync/.test(m.match);
  });
  assert.equal(member(l, f).role, 'follower');
  await pause(page);
  assertClean(log);
  await close();
});

test('partition the leader away: the majority elects a new leader', T, async () => {
  const { page, log, close } = await openR3(3);
  const l0 = await lens(page, 'ORDERS');
  const old = l0.leader;
  const others = l0.members.map((m) => m.server).filter((s) => s !== old);
  await command(page, `partition ${old} | ${others.join(' ')}`);
  await play(page);
  // While the majority has no leader, someone campaigns (votes k/3).
  const l = await waitLens(page, 'ORDERS', 'a new leader on the majority side', (s) => s.leader && others.includes(s.leader) && s.term > l0.term);
  assert.ok(others.includes(l.leader));
  assert.match(member(l, l.leader).roleText, /won 2\/3 votes/);
  // The fault table says the old leader is cut off.
  assert.match((await page.textContent(`.fault-table tr[data-server="${old}"] td.state`)) ?? '', new RegExp(`cut from ${others.join(', ')}`));
  await pause(page);
  console.log(`screenshot: ${await screenshot(page, 'lens-partitioned')}`);
  assertClean(log);
  await close();
});

test('while playing, every Raft group in the lens is refreshed in its own turn, none starved', T, async () => {
  // Ten Raft groups (meta, THREE, S1..S8) whose logs grow all the time: with
  // the log, guide and other panels that is more refresh turns than a 200 ms
  // period has frames, so a fixed order would starve the last groups; the
  // longest waiting goes first (mod.rs Playground::turn).
  const streams = Array.from({ length: 8 }, (_, i) => `S${i + 1}`);
  const text = [
    'jetsim 1',
    'name "lens turns"',
    'seed 1',
    'until 600s',
    'server n1 jetstream=true',
    'server n2 jetstream=true',
    'server n3 jetstream=true',
    'client a servers=n1',
    'client b servers=n2',
    'link default latency=5ms',
    'at 3s   a: nats stream add THREE --subjects "three.>" --replicas 3 --storage memory',
    ...streams.map((n) => `+0s     b: nats stream add ${n} --subjects "${n.toLowerCase()}.>" --replicas 1 --storage memory`),
    'at 6s   a: nats pub three.x "t {{Count}}" --jetstream --count 100000 --sleep 20ms --timeout 3s',
    ...streams.map((n) => `+0s     b: nats pub ${n.toLowerCase()}.x "o {{Count}}" --jetstream --count 100000 --sleep 20ms --timeout 3s`),
  ].join('\n');
  const pg = await openPlayground(env.browser, env.server);
  const { page, log, close } = pg;
  await page.locator('details.scenario-text summary').click();
  await page.fill('#scenario-text', text);
  await page.getByRole('button', { name: 'Load this text' }).click();
  await page.waitForSelector('section.lens');
  await setSpeed(page, SPEED_10X);
  await play(page);
  const watched = ['THREE', 'S1', 'S8'];
  for (const s of watched) await waitLens(page, s, `${s} taking publishes`, (l) => l.commit > 3);
  assert.equal(await page.locator('section.lens .raft-group').count(), 10, 'meta, THREE and S1..S8');
  // Sample the leaders' last index of three streams (the first and the last
  // group among them) for 4 s of wall time while playing.
  const seen = Object.fromEntries(watched.map((s) => [s, []]));
  const t0 = Date.now();
  while (Date.now() - t0 < 4000) {
    for (const s of watched) {
      const l = await lens(page, s);
      const v = l && l.leader ? member(l, l.leader).last : null;
      const prev = seen[s].at(-1);
      if (v !== null && (!prev || prev.v !== v)) seen[s].push({ v, at: Date.now() });
    }
    await page.waitForTimeout(50);
  }
  await pause(page);
  for (const [s, xs] of Object.entries(seen)) {
    assert.ok(xs.length >= 3, `${s}'s section changed ${xs.length} times in 4 s of play: ${JSON.stringify(xs)}`);
    const gaps = xs.slice(1).map((x, i) => x.at - xs[i].at);
    assert.ok(Math.max(...gaps) < 2500, `${s}'s section went ${Math.max(...gaps)} ms without a refresh`);
    assert.ok(xs.every((x, i) => i === 0 || x.v > xs[i - 1].v), `${s}'s last index only grows: ${JSON.stringify(xs)}`);
  }
  // Paused, the pause itself rebuilt every section: another full rebuild
  // (a speed change) finds nothing to change.
  const before = await Promise.all(watched.map((s) => lens(page, s)));
  await setSpeed(page, SPEED_1X);
  await page.waitForTimeout(300);
  assert.deepEqual(await Promise.all(watched.map((s) => lens(page, s))), before, 'paused: the lens was already up to date');
  assertClean(log);
  await close();
});
