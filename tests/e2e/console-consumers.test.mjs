// The console's `nats consumer ...` commands and `nats sub` on a push
// consumer's deliver subject (src/playground/console.rs), on the
// pull-consumer example: `next` prints natscli's per-message lines and
// "Acknowledged message" and the ack floor in the Stream info panel moves;
// `info` prints natscli's sections with the numbers the panel shows; `add`
// of a push consumer then `nats sub` shows each delivery's $JS.ACK reply
// and metadata; `rm` then `info` gives natscli's error.
//   scripts/build-web && node --test tests/e2e/console-consumers.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, clockNs, goTo, openPlayground, setSpeed, SPEED_1X, useBrowser } from './lib/playground.mjs';

const T = { timeout: 240_000 };
const env = useBrowser();

/** Run a console line (`line` as the status line echoes it; paused, a "Paused: ..." note follows). */
async function run(page, cmd, line) {
  const input = page.locator('#command');
  await input.fill(cmd);
  await input.press('Enter');
  await page.waitForFunction((l) => {
    const t = document.querySelector('#command-result')?.textContent ?? '';
    return t.endsWith(l) || t.includes(`: ${l}. Paused: `);
  }, line);
  await page.waitForFunction(() => document.querySelector('#command').value === '');
}

/** Play until the newest console entry for `input` contains `text`, then pause. */
async function playUntil(page, input, text) {
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page
    .waitForFunction(
      ({ input, text }) => [...document.querySelectorAll('#console-out .console-entry')].some((e) => e.dataset.input === input && e.textContent.includes(text)),
      { input, text },
      { timeout: 30_000 },
    )
    .catch(async (err) => {
      const es = await page.$$eval('#console-out .console-entry', (es) => es.map((e) => `${e.dataset.input}: ${e.textContent}`));
      const status = await page.textContent('#status');
      throw new Error(`${err.message}\nwaiting for "${text}" in "${input}"; status: ${status}; entries:\n${es.join('\n---\n')}`);
    });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
}

async function entry(page, input) {
  const es = await page.$$eval('#console-out .console-entry', (es) => es.map((e) => ({ input: e.dataset.input, text: e.querySelector('pre').textContent, error: e.classList.contains('error') })));
  const e = es.find((x) => x.input === input);
  assert.ok(e, `no entry for ${input}: ${JSON.stringify(es)}`);
  return e;
}

/** Delivered and ack floor of `workers` as the Stream info panel shows them. */
async function panel(page) {
  const text = (await page.textContent('pre.consumer-info[data-stream="JOBS"]')) ?? '';
  const pair = (k) => {
    const m = new RegExp(`${k}: consumer seq (\\d+), stream seq (\\d+)`).exec(text);
    return m ? [Number(m[1]), Number(m[2])] : null;
  };
  const num = (k) => Number(new RegExp(`${k}: (\\d+)`).exec(text)?.[1] ?? 'NaN');
  return { text, delivered: pair('Delivered'), ackFloor: pair('Ack floor'), pending: num('Pending acks'), redelivered: num('Redelivered'), unprocessed: num('Unprocessed') };
}

test('pull-consumer: nats consumer next/info/add/rm and nats sub on a push consumer', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.selectOption('#scenario', 'pull-consumer');
  await page.waitForFunction(() => document.querySelector('.clock-box')?.dataset.nowNs === '0');
  await setSpeed(page, SPEED_1X);

  // 6s: the first two batches (20) are delivered and acknowledged.
  await goTo(page, 6000);
  const before = await panel(page);
  assert.deepEqual(before.ackFloor, [20, 20], before.text);
  // Completion knows the consumer.
  const input = page.locator('#command');
  await input.fill('worker1: nats consumer next JOBS w');
  await input.press('Tab');
  assert.equal(await input.inputValue(), 'worker1: nats consumer next JOBS workers ');
  const next = 'worker1: nats consumer next JOBS workers --count 2';
  await run(page, next, next);
  await playUntil(page, next, 'str seq: 22');
  await page.waitForFunction((n) => [...document.querySelectorAll('#console-out .console-entry')].some((e) => e.dataset.input === n && (e.textContent.match(/Acknowledged message/g) ?? []).length === 2), next);
  const n = await entry(page, next);
  assert.ok(!n.error, n.text);
  assert.match(n.text, /\n\[\d\d:\d\d:\d\d\.\d{3}\] subj: jobs\.new \/ tries: 1 \/ cons seq: 21 \/ str seq: 21 \/ pending: 19\n\njob 21\n\nAcknowledged message\n/, n.text);
  assert.match(n.text, /cons seq: 22 \/ str seq: 22 \/ pending: 18\n\njob 22\n\nAcknowledged message/, n.text);
  const moved = await panel(page);
  assert.ok(moved.ackFloor[1] >= 22, `the ack floor moved past 22: ${moved.text}`);

  // 13s: everything is delivered; info prints what the panel shows.
  await goTo(page, 13000);
  await run(page, 'nats consumer info JOBS workers', 'producer: nats consumer info JOBS workers');
  await playUntil(page, 'nats consumer info JOBS workers', 'Unprocessed Messages');
  const p = await panel(page);
  const info = await entry(page, 'nats consumer info JOBS workers');
  assert.ok(!info.error, info.text);
  assert.match(info.text, /Information for Consumer JOBS > workers created \d{4}-\d\d-\d\dT/);
  for (const want of [
    'Configuration:',
    '                    Name: workers',
    '               Pull Mode: true',
    '              Ack Policy: Explicit',
    '                Ack Wait: 2.00s',
    'Cluster Information:',
    'State:',
    `  Last Delivered Message: Consumer sequence: ${p.delivered[0]} Stream sequence: ${p.delivered[1]}`,
    `    Acknowledgment Floor: Consumer sequence: ${p.ackFloor[0]} Stream sequence: ${p.ackFloor[1]}`,
    `        Outstanding Acks: ${p.pending} out of maximum 1,000`,
    `    Redelivered Messages: ${p.redelivered}`,
    `    Unprocessed Messages: ${p.unprocessed}`,
  ]) {
    assert.ok(info.text.includes(want), `${want}\nin\n${info.text}\npanel:\n${p.text}`);
  }
  assert.ok(p.delivered[1] >= 40, p.text);

  // A push consumer, then nats sub on its deliver subject.
  const add = 'nats consumer add JOBS pusher --target out.jobs --ack explicit --deliver all';
  await run(page, add, `producer: ${add}`);
  await playUntil(page, add, 'Active Interest');
  const a = await entry(page, add);
  assert.ok(!a.error, a.text);
  assert.match(a.text, /Information for Consumer JOBS > pusher created /);
  assert.ok(a.text.includes('        Delivery Subject: out.jobs'), a.text);
  const sub = 'worker2: nats sub out.jobs --count 3';
  await run(page, sub, sub);
  await playUntil(page, sub, '[#3] Received');
  const s = await entry(page, sub);
  assert.match(s.text, /Subscribing on out\.jobs\n\[#1\] Received on "jobs\.new" with reply "\$JS\.ACK\.JOBS\.pusher\.1\.1\.1\.\d+\.39"\n  JetStream: stream: JOBS consumer: pusher \/ tries: 1 \/ cons seq: 1 \/ str seq: 1 \/ pending: 39\njob 1\n/, s.text);
  assert.match(s.text, /\[#3\] Received on "jobs\.new" with reply "\$JS\.ACK\.JOBS\.pusher\.1\.3\.3\./, s.text);
  assert.equal((s.text.match(/Received on/g) ?? []).length, 3, s.text);
  await page.locator('form.console').scrollIntoViewIfNeeded();
  console.log(`screenshot: ${await screenshot(page, 'console-consumers')}`);

  // rm, then info: natscli's error.
  await run(page, 'nats consumer rm JOBS pusher -f', 'producer: nats consumer rm JOBS pusher -f');
  // Forward from now (never back: that would drop the rm, a later input).
  await goTo(page, Number((await clockNs(page)) / 1_000_000n) + 500);
  await run(page, 'nats consumer info JOBS pusher', 'producer: nats consumer info JOBS pusher');
  await playUntil(page, 'nats consumer info JOBS pusher', 'nats: error');
  const gone = await entry(page, 'nats consumer info JOBS pusher');
  assert.ok(gone.error, gone.text);
  assert.match(gone.text, /nats: error: could not load Consumer JOBS > pusher: consumer not found \(10014\)/);
  assertClean(log);
  await close();
});
