// The consumers under each stream in the Stream info panel
// (src/playground/console.rs consumer_info_lines): on the pull-consumer
// example, delivered / ack floor / pending acks / waiting pulls before the
// stream (and so consumer) leader steps down, and after: a new leader that
// goes on from the same replicated state, matching what the scenario's own
// `nats consumer info` prints in the event log. Assertions read the panel's
// text.
//   scripts/build-web && node --test tests/e2e/consumers.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, goTo, logLines, openPlayground, useBrowser } from './lib/playground.mjs';

const T = { timeout: 180_000 };
const env = useBrowser();

/** The JOBS consumer panel, parsed: headline, per-row values, replica lines. */
async function consumers(page) {
  const text = (await page.textContent('pre.consumer-info[data-stream="JOBS"]')) ?? '';
  const rows = {};
  const replicas = [];
  for (const line of text.split('\n')) {
    const m = /^\s+([A-Za-z ]+): (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'Replica') replicas.push(m[2]);
    else rows[m[1]] = m[2];
  }
  const pair = (v) => {
    const m = /^consumer seq (\d+), stream seq (\d+)$/.exec(v ?? '');
    return m ? { consumer: Number(m[1]), stream: Number(m[2]) } : null;
  };
  return {
    text,
    rows,
    replicas,
    leader: rows.Leader,
    delivered: pair(rows.Delivered),
    ackFloor: pair(rows['Ack floor']),
    pendingAcks: rows['Pending acks'] === undefined ? null : Number(rows['Pending acks'].split(':')[0]),
    redelivered: rows.Redelivered === undefined ? null : Number(rows.Redelivered),
    waiting: rows['Waiting pulls'] === undefined ? null : Number(rows['Waiting pulls']),
  };
}

test('pull-consumer: the consumer panel before and after the leader steps down', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.selectOption('#scenario', 'pull-consumer');
  await page.waitForFunction(() => document.querySelector('.clock-box')?.dataset.nowNs === '0');

  // Before the consumer exists: the stream is there, no consumers.
  await goTo(page, 2500);
  assert.equal((await page.textContent('pre.consumer-info[data-stream="JOBS"]'))?.trim(), 'No consumers');

  // Just before the step-down: both first batches (2 x 10) were delivered,
  // worker1's pull of 30 waits for the rest.
  await goTo(page, 6900);
  const b = await consumers(page);
  assert.match(b.text, /^workers \(pull, explicit ack, durable\)$/m, b.text);
  assert.match(b.text, new RegExp(`as the consumer leader ${b.leader} sees them`), b.text);
  assert.ok(['n1', 'n2', 'n3'].includes(b.leader), b.text);
  assert.ok(b.delivered && b.delivered.stream >= 20 && b.delivered.stream <= 40, b.text);
  assert.ok(b.delivered.consumer >= b.delivered.stream, b.text);
  assert.ok(b.ackFloor.stream <= b.delivered.stream && b.ackFloor.consumer <= b.delivered.consumer, b.text);
  // Pending acks are the delivered messages above the ack floor at most.
  assert.ok(b.pendingAcks <= b.delivered.consumer - b.ackFloor.consumer, b.text);
  assert.ok(b.waiting >= 1, `worker1's pull waits: ${b.text}`);
  assert.equal(b.replicas.length, 2, b.text);
  const info = (await page.textContent('pre.stream-info[data-stream="JOBS"]')) ?? '';
  assert.match(info, /Active Consumers: 1\n/);
  // The consumer leader (its own Raft group's) is one of the stream's members.
  assert.match(info, new RegExp(`(Leader|Replica): ${b.leader}[\n,]`));

  // After the step-down: another leader, carrying (at least) the same
  // delivered and ack state; every replica holds the same copy.
  await goTo(page, 9500);
  const a = await consumers(page);
  assert.notEqual(a.leader, b.leader, `${b.text}\n---\n${a.text}`);
  assert.ok(a.delivered.stream >= b.delivered.stream && a.delivered.consumer >= b.delivered.consumer, `${b.text}\n---\n${a.text}`);
  assert.ok(a.ackFloor.stream >= b.ackFloor.stream, `${b.text}\n---\n${a.text}`);
  assert.deepEqual(a.replicas.map((r) => r.replace(/^n\d /, '')), ['same state', 'same state'], a.text);
  assert.ok(!a.replicas.some((r) => r.startsWith(`${a.leader} `)), 'the leader is not listed as a replica');
  const lines = await logLines(page);
  assert.ok(lines.some((l) => /409/.test(l) && /Leadership Change/i.test(l)), 'the waiting pull got 409 Leadership Change');

  // At the end: the scenario's own `nats consumer info` (12s) in the log
  // says the same as the panel.
  await goTo(page, 12500);
  const e = await consumers(page);
  const said = (await logLines(page))
    .map((l) => /consumer workers: delivered (\d+), ack floor (\d+), (\d+) pending, (\d+) unacked/.exec(l))
    .filter(Boolean)
    .pop();
  assert.ok(said, 'the log has the consumer info answer');
  assert.equal(e.delivered.stream, Number(said[1]), e.text);
  assert.equal(e.ackFloor.stream, Number(said[2]), e.text);
  assert.equal(Number(e.rows.Unprocessed), Number(said[3]), e.text);
  assert.equal(e.pendingAcks, Number(said[4]), e.text);
  assert.equal(e.delivered.stream, 40, 'all 40 jobs were delivered');
  // No message delivered twice (the scenario's claim): nothing redelivered,
  // so the consumer sequence is the stream sequence.
  assert.equal(e.redelivered, 0, e.text);
  assert.equal(e.delivered.consumer, 40, e.text);
  assert.equal(e.pendingAcks, 0, e.text);
  console.log(`panel at 12.5s:\n${e.text}`);
  await page.locator('pre.consumer-info[data-stream="JOBS"]').scrollIntoViewIfNeeded();
  console.log(`screenshot: ${await screenshot(page, 'consumers')}`);
  assertClean(log);
  await close();
});
