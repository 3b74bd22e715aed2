// Guided scenarios (src/playground/guide.rs): each walks from its first
// narration step to its end with "Next step", and what the guide says the
// view shows (meta leader, stream leader, replicas up, quorum, PubAcks, the
// transcript) is checked at key moments. Screenshots in tests/artifacts/guide-*.png.
//   scripts/build-web && node --test tests/e2e/guides.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, clockNs, openPlayground, setSpeed, SPEED_10X, useBrowser } from './lib/playground.mjs';

const T = { timeout: 180_000 };
const env = useBrowser();

async function openGuide(id) {
  const pg = await openPlayground(env.browser, env.server);
  await pg.page.selectOption('#scenario', id);
  await pg.page.waitForSelector('section.guide #guide-progress');
  await pg.page.waitForFunction(() => document.querySelector('.clock-box')?.dataset.nowNs === '0');
  return pg;
}

/** The guide's step counter: [current step, steps]. */
async function progress(page) {
  const el = page.locator('#guide-progress');
  return [Number(await el.getAttribute('data-step')), Number(await el.getAttribute('data-steps'))];
}

/** Press "Next step" and wait until the guide is on the next step. Returns its text. */
async function next(page) {
  const [step] = await progress(page);
  await page.getByRole('button', { name: /^Next step/ }).click();
  await page.waitForFunction(
    (step) => Number(document.querySelector('#guide-progress')?.dataset.step) > step,
    step,
    { timeout: 60_000 },
  );
  assert.match((await page.textContent('#status')) ?? '', /^(Ran|Replayed the run) to /);
  return (await page.textContent('.guide-steps li[aria-current="step"]')) ?? '';
}

/** Next step until the narration step containing `text` is current. */
async function nextUntil(page, text) {
  for (let i = 0; i < 40; i++) {
    const cur = await next(page);
    if (cur.includes(text)) return cur;
  }
  throw new Error(`no narration step with "${text}"`);
}

/** What the guide states now: meta leader and, per stream, its numbers. */
function now(page) {
  return page.evaluate(() => {
    const ul = document.querySelector('#guide-now');
    const streams = {};
    for (const li of ul.querySelectorAll('li.stream-now')) {
      const d = li.dataset;
      streams[d.stream] = {
        leader: d.leader,
        replicas: Number(d.replicas),
        up: Number(d.up),
        quorum: Number(d.quorum),
        acked: Number(d.acked),
        lastQuorum: d.lastQuorum ? d.lastQuorum.split(',') : [],
        text: li.textContent,
      };
    }
    return { meta: ul.dataset.metaLeader, streams };
  });
}

const transcript = (page) => page.$$eval('#transcript li', (ls) => ls.map((l) => l.textContent ?? ''));

/** After the last step: no Next, then play to the scenario's end. */
async function playToEnd(page) {
  const [step, steps] = await progress(page);
  assert.equal(step, steps, 'on the last narration step');
  assert.ok(await page.locator('#guide-next').isDisabled(), 'no next step after the last');
  await setSpeed(page, SPEED_10X);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction(() => /the scenario's end/.test(document.querySelector('#status')?.textContent ?? ''), null, {
    timeout: 60_000,
  });
}

test('r3-publish: the quorum of an R3 stream and each PubAck', T, async () => {
  const { page, log, close } = await openGuide('r3-publish');
  assert.deepEqual(await progress(page), [1, 4], 'the first note is at 0s');
  await nextUntil(page, 'ORDERS gets 3 replicas');
  await nextUntil(page, 'Each publish goes client');
  let n = await now(page);
  assert.equal(n.meta, 'n3');
  assert.deepEqual(
    { leader: n.streams.ORDERS.leader, replicas: n.streams.ORDERS.replicas, up: n.streams.ORDERS.up, quorum: n.streams.ORDERS.quorum },
    { leader: 'n3', replicas: 3, up: 3, quorum: 2 },
  );
  assert.match(n.streams.ORDERS.text, /Stream ORDERS \(R3\): leader n3 · 3 of 3 replicas up, quorum 2/);
  await nextUntil(page, '20 publishes, 20 PubAcks');
  n = await now(page);
  assert.equal(n.streams.ORDERS.acked, 20);
  assert.equal(n.streams.ORDERS.lastQuorum.length, 2, 'a quorum of 2 held the last entry');
  assert.ok(n.streams.ORDERS.lastQuorum.includes('n3'), 'the leader is in it');
  const lines = await transcript(page);
  assert.ok(lines.some((l) => /Stream ORDERS: n3 is the leader \(term 1\)\. Replicas: n1, n2, n3\./.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /Stream ORDERS: entry \d+ is on a quorum, held by (n3, n\d|n\d, n3) \(2 of 3\)\./.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /c1 received a PubAck: ORDERS seq 1 after 6ms\./.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /c1 received a PubAck: ORDERS seq 20 after 6ms \(20 in a row\)\./.test(l)), lines.join('\n'));
  // The transcript is a polite live region.
  assert.equal(await page.getAttribute('#transcript', 'aria-live'), 'polite');
  await playToEnd(page);
  console.log(`screenshot: ${await screenshot(page, 'guide-r3-publish')}`);
  assertClean(log);
  await close();
});

test('kill-leader: the leader dies, a new one is elected, PubAcks resume', T, async () => {
  const { page, log, close } = await openGuide('kill-leader');
  await nextUntil(page, 'Publishes are acknowledged');
  assert.equal((await now(page)).streams.ORDERS.leader, 'n3');
  await nextUntil(page, 'Kill the stream leader n3');
  let n = await now(page);
  assert.equal(n.streams.ORDERS.leader, '', 'no leader right after the kill');
  assert.equal(n.streams.ORDERS.up, 2);
  assert.equal(await page.getAttribute('svg.cluster-view g.server[data-server="n3"]', 'data-state'), 'down');
  await nextUntil(page, 'A new leader was elected');
  n = await now(page);
  assert.ok(['n1', 'n2'].includes(n.streams.ORDERS.leader), `new leader ${n.streams.ORDERS.leader}`);
  const lines = await transcript(page);
  assert.ok(lines.some((l) => l.endsWith('Server n3 is down.')), 'the kill is narrated');
  assert.ok(
    lines.some((l) => new RegExp(`Stream ORDERS: new leader ${n.streams.ORDERS.leader} \\(term 2\\), replacing n3`).test(l)),
    lines.join('\n'),
  );
  assert.ok(lines.some((l) => /received a PubAck: ORDERS seq \d+ .*after \d+ failed publishes\./.test(l)), lines.join('\n'));
  // The stream info panel, as nats stream info prints it: n3 is offline.
  const info = (await page.textContent('pre.stream-info[data-stream="ORDERS"]')) ?? '';
  assert.match(info, new RegExp(`Leader: ${n.streams.ORDERS.leader}\n`));
  assert.match(info, /Replica: n3, outdated, OFFLINE/);
  console.log(`screenshot: ${await screenshot(page, 'guide-kill-leader')}`);
  await nextUntil(page, 'n3 comes back');
  await playToEnd(page);
  n = await now(page);
  assert.equal(n.streams.ORDERS.up, 3);
  assert.ok(n.streams.ORDERS.acked > 80, `acked ${n.streams.ORDERS.acked}`);
  assert.equal(await page.getAttribute('section.guarantees', 'data-broken'), 'false');
  assertClean(log);
  await close();
});

test('r1-r3-r5: each stream survives what its replicas allow', T, async () => {
  const { page, log, close } = await openGuide('r1-r3-r5');
  await nextUntil(page, 'ONE has 1 replica');
  await nextUntil(page, 'No failure');
  let n = await now(page);
  assert.deepEqual(
    ['ONE', 'THREE', 'FIVE'].map((s) => [n.streams[s].replicas, n.streams[s].quorum]),
    [[1, 1], [3, 2], [5, 3]],
  );
  await nextUntil(page, 'Second failure');
  n = await now(page);
  assert.equal(n.streams.ONE.acked, 6);
  assert.equal(n.streams.THREE.up, 1);
  assert.match(n.streams.THREE.text, /no leader|lost/);
  assert.equal(n.streams.FIVE.up, 3);
  assert.equal(n.streams.FIVE.leader, 'n3');
  await nextUntil(page, 'Third failure');
  n = await now(page);
  assert.equal(n.streams.THREE.acked, 6, 'THREE acknowledged nothing with 1 of 3');
  assert.equal(n.streams.FIVE.acked, 9, 'FIVE acknowledged with 3 of 5');
  await nextUntil(page, 'R1 survives no failure');
  n = await now(page);
  assert.deepEqual([n.streams.ONE.up, n.streams.FIVE.up], [0, 2]);
  assert.equal(n.streams.FIVE.acked, 9, 'FIVE stopped at 2 of 5');
  await playToEnd(page);
  console.log(`screenshot: ${await screenshot(page, 'guide-r1-r3-r5')}`);
  assertClean(log);
  await close();
});

test('az-unique-tag: one replica per AZ, and a whole AZ can fail', T, async () => {
  const { page, log, close } = await openGuide('az-unique-tag');
  await nextUntil(page, 'Publishing');
  let n = await now(page);
  assert.equal(n.streams.ORDERS.replicas, 3);
  const azOf = { a1: 'az1', a2: 'az1', b1: 'az2', b2: 'az2', c1: 'az3', c2: 'az3' };
  const replicaLine = (await transcript(page)).find((l) => /Stream ORDERS: \S+ is the leader/.test(l)) ?? '';
  const replicas = /Replicas: ([^.]+)\./.exec(replicaLine)?.[1].split(', ') ?? [];
  assert.deepEqual(replicas.map((r) => azOf[r]).sort(), ['az1', 'az2', 'az3'], replicaLine);
  await nextUntil(page, 'ORDERS lost at most one replica');
  n = await now(page);
  assert.equal(n.streams.ORDERS.up, 2);
  assert.ok(n.streams.ORDERS.leader, 'ORDERS has a leader with az1 down');
  assert.ok(n.streams.ORDERS.acked > 30, `acked ${n.streams.ORDERS.acked}`);
  await nextUntil(page, 'az1 is back');
  await playToEnd(page);
  assert.equal((await now(page)).streams.ORDERS.acked, 60);
  assert.equal(await page.getAttribute('li[data-guarantee="acked-kept"]', 'data-state'), 'ok');
  console.log(`screenshot: ${await screenshot(page, 'guide-az-unique-tag')}`);
  assertClean(log);
  await close();
});

test('regions-r3: a stretched cluster waits for the ocean on every PubAck', T, async () => {
  const { page, log, close } = await openGuide('regions-r3');
  await nextUntil(page, 'The same client publishes to LOCAL');
  const n = await now(page);
  assert.equal(n.streams.ORDERS.leader, 'use1');
  assert.equal(n.streams.ORDERS.acked, 20);
  // The causal trace of the last ORDERS PubAck: the quorum needed a follower abroad.
  await page.locator('.ack-pick', { hasText: 'ORDERS seq 20' }).click();
  const path = page.locator('#causal-path');
  assert.equal(await path.getAttribute('data-leader'), 'use1');
  assert.ok(Number(await path.getAttribute('data-latency-ns')) >= 200_000_000);
  const quorum = (await path.getAttribute('data-quorum')).split(',');
  assert.equal(quorum.length, 2);
  assert.ok(quorum.some((s) => !s.startsWith('use')), `a follower abroad: ${quorum}`);
  await nextUntil(page, 'Keep a cluster in one region');
  await playToEnd(page);
  console.log(`screenshot: ${await screenshot(page, 'guide-regions-r3')}`);
  assertClean(log);
  await close();
});

test('lose-quorum: no leader without a majority, back after the restarts', T, async () => {
  const { page, log, close } = await openGuide('lose-quorum');
  await nextUntil(page, 'Kill n1 and n2');
  await nextUntil(page, 'After the lost-quorum check');
  let n = await now(page);
  assert.equal(n.streams.ORDERS.leader, '');
  assert.deepEqual([n.streams.ORDERS.up, n.streams.ORDERS.quorum], [1, 2]);
  assert.match(n.streams.ORDERS.text, /lost: nothing can be acknowledged/);
  const lines = await transcript(page);
  assert.ok(lines.some((l) => /leader n3 stepped down from term 1 \(lost quorum\)/.test(l)), lines.join('\n'));
  const before = n.streams.ORDERS.acked;
  await nextUntil(page, 'n1 and n2 are back');
  await playToEnd(page);
  n = await now(page);
  assert.ok(n.streams.ORDERS.leader, 'a leader again');
  assert.ok(n.streams.ORDERS.acked > before, 'acknowledged again');
  console.log(`screenshot: ${await screenshot(page, 'guide-lose-quorum')}`);
  assertClean(log);
  await close();
});

test('lazy-fsync-power-loss: the guarantees panel lights up and leads to the cause', T, async () => {
  const { page, log, close } = await openGuide('lazy-fsync-power-loss');
  await nextUntil(page, '20 publishes');
  assert.equal(await page.getAttribute('section.guarantees', 'data-broken'), 'false');
  await nextUntil(page, 'The servers restart from their disks');
  await playToEnd(page);
  assert.equal(await page.getAttribute('section.guarantees', 'data-broken'), 'true');
  const row = page.locator('li[data-guarantee="acked-kept"]');
  assert.equal(await row.getAttribute('data-state'), 'broken');
  assert.match((await row.textContent()) ?? '', /20 acknowledged publishes missing \(seq 1\.\.20\).*after power-loss n\d/);
  console.log(`screenshot: ${await screenshot(page, 'guide-lazy-fsync')}`);
  // "Show 6.000s" replays the run to the power loss.
  await row.getByRole('button', { name: /^Show / }).click();
  await page.waitForFunction(() => /^Replayed the run to 6\.0+s/.test(document.querySelector('#status')?.textContent ?? ''));
  assert.equal(await clockNs(page), 6_000_000_000n);
  assert.equal(await page.getAttribute('svg.cluster-view g.server[data-server="n1"]', 'data-state'), 'down');
  assertClean(log);
  await close();
});
