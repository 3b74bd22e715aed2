// Metrics, guarantees, causal trace, sequence diagram and the console
// (src/playground/metrics.rs, causal.rs, sequence.rs, console.rs), on the
// r3-publish scenario (c1 on n1; ORDERS led by n3 with seed 1; 1 ms links).
// Screenshots in tests/artifacts/panels*.png.
//   scripts/build-web && node --test tests/e2e/panels.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, goTo, openPlayground, pick, setSpeed, SPEED_1X, useBrowser } from './lib/playground.mjs';

const T = { timeout: 180_000 };
const env = useBrowser();

/** r3-publish, run with "Next step" to its last narration step (8 s: 20 PubAcks). */
async function openR3AtEnd() {
  const pg = await openPlayground(env.browser, env.server);
  const { page } = pg;
  await page.selectOption('#scenario', 'r3-publish');
  await page.waitForFunction(() => document.querySelector('.clock-box')?.dataset.nowNs === '0');
  for (let i = 0; i < 3; i++) {
    const step = Number(await page.getAttribute('#guide-progress', 'data-step'));
    await page.getByRole('button', { name: /^Next step/ }).click();
    await page.waitForFunction((s) => Number(document.querySelector('#guide-progress')?.dataset.step) > s, step);
  }
  assert.equal(await page.getAttribute('#guide-progress', 'data-step'), '4');
  return pg;
}

test('metrics: PubAck latency percentiles, histogram and elections, as text', T, async () => {
  const { page, log, close } = await openR3AtEnd();
  const m = page.locator('#metrics-text');
  assert.equal(await m.getAttribute('data-acked'), '20');
  assert.equal(await m.getAttribute('data-p50'), '6000000');
  assert.equal(await m.getAttribute('data-p99'), '6000000');
  assert.equal(await m.getAttribute('data-elections'), '2', 'the meta group and ORDERS each elected once');
  assert.equal(await m.getAttribute('data-leader-changes'), '0');
  const text = (await m.textContent()) ?? '';
  assert.match(text, /20 sent · 20 acknowledged · 0 timed out · 0 errors/);
  assert.match(text, /p50 6ms · p90 6ms · p99 6ms · min 6ms · max 6ms \(20 PubAcks\)/);
  assert.match(text, /2 won \(meta 1, streams 1, consumers 0\) · 0 stream leader changes/);
  assert.equal(await page.locator('.histogram rect.bar').count(), 1, 'every latency in one bin');
  assert.match((await page.textContent('#hist-cap')) ?? '', /6ms–6ms 20/);
  // Guarantees: nothing broken; every one is checked (tests/e2e/guarantees.test.mjs goes further).
  assert.equal(await page.getAttribute('section.guarantees', 'data-broken'), 'false');
  assert.equal(await page.getAttribute('li[data-guarantee="acked-kept"]', 'data-state'), 'ok');
  assert.equal(await page.getAttribute('li[data-guarantee="raft-safety"]', 'data-state'), 'ok');
  assert.equal(await page.getAttribute('li[data-guarantee="no-duplicates"]', 'data-state'), 'ok');
  assertClean(log);
  await close();
});

test('causal trace: a PubAck\'s path, its quorum and each hop\'s latency', T, async () => {
  const { page, log, close } = await openR3AtEnd();
  // The ten most recent PubAcks are offered; pick seq 15.
  assert.equal(await page.locator('.ack-pick').count(), 10);
  await page.locator('.ack-pick', { hasText: 'ORDERS seq 15 ' }).click();
  assert.equal(await page.getAttribute('.ack-pick[aria-pressed="true"]', 'data-trace-seq'), await page.locator('.ack-pick', { hasText: 'ORDERS seq 15 ' }).getAttribute('data-trace-seq'));
  const path = page.locator('#causal-path');
  assert.equal(await path.getAttribute('data-seq'), '15');
  assert.equal(await path.getAttribute('data-client'), 'c1');
  assert.equal(await path.getAttribute('data-leader'), 'n3');
  assert.equal(await path.getAttribute('data-latency-ns'), '6000000');
  const quorum = (await path.getAttribute('data-quorum')).split(',');
  assert.equal(quorum.length, 2);
  assert.ok(quorum.includes('n3'));
  const text = (await page.textContent('#causal-text')) ?? '';
  assert.match(
    text,
    /^c1 orders\.new → ORDERS seq 15: publish c1 → n1 1ms, route n1 → n3 1ms, append n3 → n\d 1ms, .*append ack n\d → n3 1ms.*puback route n3 → n1 1ms, puback n1 → c1 1ms; quorum n\d, n\d \(2 of 3\) at \+4ms; PubAck after 6ms\.$/,
  );
  const hops = Number(await path.getAttribute('data-hops'));
  assert.ok(hops >= 6, `hops ${hops}`);
  assert.equal(await page.locator('#causal-path g.hop').count(), hops);
  assert.equal(await page.locator('#causal-path line.quorum-mark').count(), 1);
  assert.equal(await page.locator('#causal-path .warn').count(), 0, 'no frame missing from the trace');
  // A PubAck in the event log is a link to its causal trace.
  await page.locator('#log button.ack-link', { hasText: /ORDERS seq 18 after/ }).click();
  assert.equal(await page.getAttribute('#causal-path', 'data-seq'), '18');
  await page.locator('section.causal').scrollIntoViewIfNeeded();
  console.log(`screenshot: ${await screenshot(page, 'panels-causal')}`);
  assertClean(log);
  await close();
});

test('sequence diagram: lanes, the last 24 frames with Lamport timestamps, as text too', T, async () => {
  const { page, log, close } = await openR3AtEnd();
  const lanes = await page.$$eval('svg.sequence-svg g.lane', (gs) => gs.map((g) => g.dataset.lane));
  assert.ok(['n1', 'n2', 'n3'].every((n) => lanes.includes(n)), lanes.join(','));
  const items = await page.$$eval('#sequence-list li', (ls) => ls.map((l) => ({ from: l.dataset.from, to: l.dataset.to, kind: l.dataset.kind, text: l.textContent })));
  assert.equal(items.length, 24);
  assert.equal(await page.locator('svg.sequence-svg g.seq-arrow').count(), 24);
  for (const it of items) {
    const m = /\(L(\d+)(?: → L(\d+))?\)/.exec(it.text);
    assert.ok(m, it.text);
    if (m[2]) assert.ok(Number(m[2]) > Number(m[1]), `receive after send: ${it.text}`);
  }
  assert.ok(items.some((i) => i.kind === 'k-raft-append'), 'Raft appends are among the frames');
  assertClean(log);
  await close();
});

test('console: nats CLI commands with CLI-shaped output, history and completion', T, async () => {
  const { page, log, close } = await openR3AtEnd();
  const input = page.locator('#command');
  // Tab completes the stream name.
  await input.fill('nats stream info O');
  await input.press('Tab');
  assert.equal(await input.inputValue(), 'nats stream info ORDERS ');
  await input.press('Enter');
  // Paused: the status says the reply comes once time runs.
  await page.waitForFunction(() => /^Sent at 8\.0+s: c1: nats stream info ORDERS\. Paused: the reply arrives when time runs: press Play or Step \(→\)\.$/.test(document.querySelector('#command-result')?.textContent ?? ''));
  assert.equal(await input.inputValue(), '', 'cleared after running');
  const run = async (cmd) => {
    await input.fill(cmd);
    await input.press('Enter');
    await page.waitForFunction((cmd) => (document.querySelector('#command-result')?.textContent ?? '').includes(`c1: ${cmd}. Paused: `), cmd);
    await page.waitForFunction(() => document.querySelector('#command').value === '');
  };
  await run('nats pub orders.x hi --jetstream --count 2');
  // Run the simulation a little for the replies.
  const playUntil = async (text) => {
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await page.waitForFunction((t) => (document.querySelector('#console-out')?.textContent ?? '').includes(t), text, { timeout: 30_000 });
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
  };
  await setSpeed(page, SPEED_1X);
  await playUntil('Sequence: 22');
  await run('nats stream info NOPE');
  await playUntil('stream not found');
  const entries = await page.$$eval('#console-out .console-entry', (es) => es.map((e) => ({ input: e.dataset.input, text: e.textContent, error: e.classList.contains('error') })));
  const info = entries.find((e) => e.input === 'nats stream info ORDERS');
  assert.ok(info, JSON.stringify(entries));
  for (const want of ['Information for Stream ORDERS created', '          Subjects: orders.>', '          Replicas: 3', 'Cluster Information:', '            Leader: n3', '           Replica: n', 'State:', '          Messages: 20']) {
    assert.ok(info.text.includes(want), `${want} in\n${info.text}`);
  }
  const pub = entries.find((e) => e.input.startsWith('nats pub'));
  assert.match(pub.text, /\d\d:\d\d:\d\d\.\d{3} Stored in Stream: ORDERS Sequence: 21\n\d\d:\d\d:\d\d\.\d{3} Stored in Stream: ORDERS Sequence: 22/);
  const bad = entries.find((e) => e.input === 'nats stream info NOPE');
  assert.ok(bad.error);
  assert.match(bad.text, /nats: error: stream not found \(10059\)/);
  // History: ↑ brings back the last command, ↑ again the one before.
  await input.fill('');
  await input.press('ArrowUp');
  assert.equal(await input.inputValue(), 'nats stream info NOPE');
  await input.press('ArrowUp');
  assert.equal(await input.inputValue(), 'nats pub orders.x hi --jetstream --count 2');
  await input.press('ArrowDown');
  assert.equal(await input.inputValue(), 'nats stream info NOPE');
  // Suggestions for names (the datalist).
  await input.fill('kill n');
  await page.waitForFunction(() => document.querySelectorAll('#command-completions option').length === 3);
  assert.deepEqual(await page.$$eval('#command-completions option', (os) => os.map((o) => o.value)), ['kill n1', 'kill n2', 'kill n3']);
  // Scenario actions still work, and a bad one is a clear error.
  await input.fill('kill n9');
  await input.press('Enter');
  await page.waitForSelector('#command-result .error');
  assert.match((await page.textContent('#command-result')) ?? '', /n9/);
  await page.locator('section.faults').scrollIntoViewIfNeeded();
  console.log(`screenshot: ${await screenshot(page, 'panels-console')}`);
  assertClean(log);
  await close();
});

test('the event log shows its newest line when scrolled into view after changing off screen', T, async () => {
  // The log panel is content-visibility: auto: off screen its lines are not
  // laid out, so scrolling it to the bottom then did nothing (UX audit: an
  // example picked, then Go to, with the log below the fold).
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'kill-leader');
  await goTo(page, '3s');
  const top = await page.evaluate(() => document.querySelector('.log-panel').getBoundingClientRect().top);
  assert.ok(top > 900, `the log starts off screen (top ${top}px)`);
  await page.evaluate(() => document.querySelector('.log-panel').scrollIntoView({ block: 'center' }));
  await page.waitForFunction(() => {
    const el = document.querySelector('.log-scroll');
    return el.scrollHeight > el.clientHeight + 50 && el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
  }, null, { timeout: 5_000 }).catch(() => {});
  const s = await page.evaluate(() => {
    const el = document.querySelector('.log-scroll');
    return { top: el.scrollTop, client: el.clientHeight, height: el.scrollHeight };
  });
  assert.ok(s.height > s.client + 50, `the log overflows its box (${JSON.stringify(s)})`);
  assert.ok(s.top + s.client >= s.height - 8, `the newest line is in view (${JSON.stringify(s)})`);
  assertClean(log);
  await close();
});
