// The guarantees panel (src/playground/metrics.rs, delivery_check.rs): every
// example run to its end with Raft safety, duplicate and order checks lit
// "holds", except lazy-fsync-power-loss, whose power loss loses acknowledged
// messages (and, as Raft assumes stable storage, committed meta entries) and
// whose Show button replays the run to the power loss.
//   scripts/build-web && node --test tests/e2e/guarantees.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, clockNs, goTo, openPlayground, useBrowser } from './lib/playground.mjs';

const T = { timeout: 300_000 };
const env = useBrowser();

const states = (page) => page.$$eval('li.guarantee', (ls) => Object.fromEntries(ls.map((l) => [l.dataset.guarantee, l.dataset.state])));

const ENDS = {
  'pull-consumer': 20000,
  'kill-leader': 30000,
  'r3-publish': 20000,
  'lose-quorum': 30000,
  partition: 5000,
  'r1-r3-r5': 22000,
};

test('the examples keep every guarantee', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const help = (await page.textContent('#guarantees-help')) ?? '';
  assert.match(help, /delivery count 1 twice/);
  assert.match(help, /Core NATS subscriptions are not checked/);
  for (const [id, end] of Object.entries(ENDS)) {
    await page.selectOption('#scenario', id);
    await page.waitForFunction(() => document.querySelector('.clock-box')?.dataset.nowNs === '0');
    await goTo(page, end, 120_000);
    const s = await states(page);
    assert.deepEqual(s, { 'acked-kept': 'ok', 'raft-safety': 'ok', 'no-duplicates': 'ok', 'in-order': 'ok' }, id);
    assert.equal(await page.getAttribute('section.guarantees', 'data-broken'), 'false', id);
  }
  assertClean(log);
  await close();
});

test('lazy-fsync-power-loss: acknowledged messages lost, Show replays to the power loss', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.selectOption('#scenario', 'lazy-fsync-power-loss');
  await page.waitForFunction(() => document.querySelector('.clock-box')?.dataset.nowNs === '0');
  await goTo(page, 5000, 120_000);
  assert.deepEqual(await states(page), { 'acked-kept': 'ok', 'raft-safety': 'ok', 'no-duplicates': 'ok', 'in-order': 'ok' });
  await goTo(page, 20000, 120_000);
  const s = await states(page);
  assert.equal(s['acked-kept'], 'broken');
  assert.equal(s['no-duplicates'], 'ok');
  assert.equal(s['in-order'], 'ok');
  // The power loss also takes committed meta entries from a majority: the
  // Raft checker reports it (leader completeness).
  assert.equal(s['raft-safety'], 'broken');
  assert.match((await page.textContent('li[data-guarantee="raft-safety"]')) ?? '', /LeaderCompleteness/);
  const row = page.locator('li[data-guarantee="acked-kept"]');
  assert.match((await row.textContent()) ?? '', /20 acknowledged publishes missing/);
  await row.getByRole('button', { name: /^Show / }).click();
  await page.waitForFunction(() => /^Replayed the run to 6\.0+s/.test(document.querySelector('#status')?.textContent ?? ''));
  assert.equal(await clockNs(page), 6_000_000_000n);
  assertClean(log);
  await close();
});
