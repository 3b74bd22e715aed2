// The playground's time machine: scrub back, step back, fork, URL sharing,
// keyboard shortcuts, files, presenter mode, no animation frames while paused.
//   scripts/build-web && node --test tests/e2e/time.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, clockNs, eventsDone, goTo, instrumentScript, openPlayground, pick, setSpeed, SPEED_10X, useBrowser } from './lib/playground.mjs';

const T = { timeout: 120_000 };
const env = useBrowser();

/** What the page states about the run: clock, events, servers with their
 * roles (leaders), the cluster view's leader badges, client counters, log. */
function stateText(page) {
  return page.evaluate(() => {
    const box = document.querySelector('.clock-box');
    const text = (el) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
    return {
      now: box.dataset.nowNs,
      events: box.dataset.events,
      servers: [...document.querySelectorAll('.fault-table tbody tr')].map((tr) => `${tr.dataset.server}: ${text(tr.querySelector('td.state'))}`),
      badges: [...document.querySelectorAll('svg.cluster-view g.server')].map((g) => `${g.dataset.server} ${g.dataset.state} ${g.dataset.metaLeader ?? ''}`),
      clients: [...document.querySelectorAll('.client-table tbody tr')].map(text),
      log: [...document.querySelectorAll('#log li')].map(text),
    };
  });
}

/** Play at 10× until the clock passes `ns`, then pause. */
async function playPast(page, ns) {
  await setSpeed(page, SPEED_10X);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction((t) => BigInt(document.querySelector('.clock-box').dataset.nowNs) > BigInt(t), String(ns), { timeout: 60_000 });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
}

/** The URL once the app has written the current moment into it. */
async function sharedUrl(page) {
  const now = await clockNs(page);
  await page.waitForFunction((t) => location.hash.includes(`&t=${t}`), String(now));
  return page.evaluate(() => location.href);
}

test('scrub back to t1 gives the same state; step back undoes a step', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  await playPast(page, 5_000_000_000n);
  const t1 = await clockNs(page);
  const s1 = await stateText(page);
  assert.ok(s1.badges.some((b) => b.endsWith(' 1')), `a meta leader is shown at t1: ${s1.badges}`);
  assert.ok(s1.log.length > 5);
  await playPast(page, t1 + 2_000_000_000n);
  const s2 = await stateText(page);
  assert.notDeepEqual(s2, s1, 'the run moved on');
  // The timeline's range is the recorded run; drag it back to t1.
  assert.equal(await page.getAttribute('#timeline', 'max'), s2.now);
  await page.fill('#timeline', String(t1));
  await page.waitForFunction((t) => document.querySelector('.clock-box').dataset.nowNs === t, String(t1));
  assert.match((await page.textContent('#status')) ?? '', /replayed from the start/);
  assert.deepEqual(await stateText(page), s1, 'same clock, events, leaders, counters and log at t1');
  // Forward again over the recorded run: the same state at t2.
  await page.fill('#timeline', s2.now);
  await page.waitForFunction((t) => document.querySelector('.clock-box').dataset.nowNs === t, s2.now);
  assert.deepEqual(await stateText(page), s2);

  // Step, then step back: exactly where we were.
  const before = await stateText(page);
  for (let i = 0; i < 3; i++) await page.click('#step');
  assert.equal(await eventsDone(page), Number(before.events) + 3);
  for (let i = 0; i < 3; i++) await page.click('#step-back');
  assert.equal(await eventsDone(page), Number(before.events));
  const back = await stateText(page);
  // Stepping back lands just after the previous event (the clock may have
  // been past it); everything else is as it was.
  assert.deepEqual({ ...back, now: '' }, { ...before, now: '' });
  await page.click('#to-start');
  assert.equal(await clockNs(page), 0n);
  assert.equal(await eventsDone(page), 0);
  console.log(`screenshot: ${await screenshot(page, 'time-scrubbed')}`);
  assertClean(log);
  await close();
});

test('fork at t1 with a kill: a different future, the old one is gone', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  await goTo(page, '5s');
  const t1 = await clockNs(page);
  await goTo(page, '12s');
  const original = await stateText(page);
  await page.fill('#timeline', String(t1));
  await page.waitForFunction((t) => document.querySelector('.clock-box').dataset.nowNs === t, String(t1));
  // Kill the meta leader in the past: this forks.
  const leader = await page.getAttribute('svg.cluster-view g.server[data-meta-leader="1"]', 'data-server');
  assert.ok(leader, 'a meta leader at t1');
  await page.getByRole('button', { name: `Kill ${leader}` }).click();
  assert.match((await page.textContent('#forked')) ?? '', /forked at 5\.000000s/);
  assert.equal(await page.getAttribute('#timeline', 'max'), String(t1), 'the old future is gone from the timeline');
  await goTo(page, '12s');
  const forked = await stateText(page);
  assert.equal(forked.now, original.now);
  assert.notDeepEqual(forked, original, 'a different future');
  assert.ok(forked.servers.some((s) => s.startsWith(`${leader}: down`)), forked.servers.join('\n'));
  assert.ok(forked.log.some((l) => l.includes(`fault: kill ${leader}`)));
  assert.ok(!original.log.some((l) => l.includes(`fault: kill ${leader}`)));
  // Scrubbing back within the new timeline keeps the kill.
  await page.fill('#timeline', String(t1 + 1_000_000_000n));
  await page.waitForFunction((t) => document.querySelector('.clock-box').dataset.nowNs === t, String(t1 + 1_000_000_000n));
  assert.equal(await page.getAttribute(`svg.cluster-view g.server[data-server="${leader}"]`, 'data-state'), 'down');
  // Fork from here (button) drops the recorded future without an input.
  assert.ok(await page.isEnabled('#fork'));
  await page.click('#fork');
  assert.match((await page.textContent('#status')) ?? '', /Forked at 6\.000000s/);
  assert.equal(await page.getAttribute('#timeline', 'max'), String(t1 + 1_000_000_000n));
  assert.ok(await page.isDisabled('#fork'));
  assertClean(log);
  await close();
});

test('a copied URL reproduces the same state in a fresh page', T, async () => {
  const a = await openPlayground(env.browser, env.server);
  await pick(a.page, 'r3-publish');
  await goTo(a.page, '3s');
  await a.page.getByRole('button', { name: 'Kill n3' }).click();
  await playPast(a.page, 6_000_000_000n);
  await a.page.click('#step');
  const want = await stateText(a.page);
  const href = await sharedUrl(a.page);
  assert.match(href, /#v=1&ex=[\w-]+&seed=1&n=\d+&t=\d+&in=.*&speed=10$/);
  const b = await openPlayground(env.browser, env.server, { hash: new URL(href).hash });
  assert.match((await b.page.textContent('#status')) ?? '', /Opened the link: seed 1, 1 recorded input/);
  assert.equal(await b.page.inputValue('#scenario'), 'r3-publish');
  // The speed travels too (playPast set 10×; the page's default is 1/500×).
  assert.equal(await b.page.inputValue('#speed'), String(SPEED_10X));
  assert.equal((await b.page.textContent('#speed-out'))?.trim(), '10×');
  assert.deepEqual(await stateText(b.page), want);
  assert.equal(new URL(await b.page.evaluate(() => location.href)).hash, new URL(href).hash);
  assertClean(a.log);
  assertClean(b.log);
  await a.close();
  await b.close();

  // Scenario text that is not an example travels compressed in the link.
  const c = await openPlayground(env.browser, env.server);
  await c.page.click('.scenario-text summary');
  const text = (await c.page.inputValue('#scenario-text')).replace(/^name .*$/m, 'name "my own run"');
  await c.page.fill('#scenario-text', text);
  await c.page.click('#load-text');
  await goTo(c.page, '700ms');
  const mine = await stateText(c.page);
  const link = await sharedUrl(c.page);
  assert.match(link, /#v=1&text=[\w-]+&seed=7/);
  const d = await openPlayground(env.browser, env.server, { hash: new URL(link).hash });
  assert.equal((await d.page.textContent('.scenario-name'))?.trim(), 'my own run');
  assert.deepEqual(await stateText(d.page), mine);
  assertClean(c.log);
  assertClean(d.log);
  await c.close();
  await d.close();
});

test('a broken link is a clear message, and the page still works', T, async () => {
  for (const [hash, want] of [
    ['#v=1&ex=nope', /could not be opened: ex: /],
    ['#v=1&ex=Y29yZS1wdWJzdWI&seed=x', /seed: "x" is not a whole number/],
    ['#v=1&ex=bm9wZQ', /names the example "nope"/],
    ['#v=1&ex=Y29yZS1wdWJzdWI&in=1.2.a2lsbCBuOQ', /input 1 \(kill n9\)/],
    ['#v=9&ex=YQ', /version "9"/],
  ]) {
    const { page, log, close } = await openPlayground(env.browser, env.server, { hash });
    assert.match((await page.textContent('#status .error')) ?? '', want, hash);
    assert.equal(await page.inputValue('#scenario'), 'core-pubsub');
    await page.click('#step');
    assert.equal(await eventsDone(page), 1);
    // A link pasted into the same tab (hashchange) opens too.
    await page.evaluate(() => { location.hash = '#v=1&ex=Y29yZS1wdWJzdWI&seed=3&t=500000000'; });
    await page.waitForFunction(() => document.querySelector('.clock-box').dataset.nowNs === '500000000');
    assert.equal(await page.inputValue('#seed'), '3');
    assert.match((await page.textContent('#status')) ?? '', /Opened the link: seed 3/);
    assertClean(log);
    await close();
  }
});

test('keyboard: space, arrows, + and -, Home, ?; not while typing', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.click('h2#view-h');
  // A key's effect reaches the DOM on the next render: wait for the count
  // (up to 5 s), then assert it exactly.
  const settled = (n) => page.waitForFunction((n) => document.querySelector('.clock-box')?.dataset.events === String(n), n, { timeout: 5_000 }).catch(() => {});
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await settled(2);
  assert.equal(await eventsDone(page), 2);
  await page.keyboard.press('ArrowLeft');
  await settled(1);
  assert.equal(await eventsDone(page), 1);
  const speed = Number(await page.inputValue('#speed'));
  await page.keyboard.press('+');
  assert.equal(Number(await page.inputValue('#speed')), speed + 1);
  await page.keyboard.press('-');
  await page.keyboard.press('-');
  assert.equal(Number(await page.inputValue('#speed')), speed - 1);
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'Pause', exact: true }).waitFor();
  await page.waitForFunction(() => BigInt(document.querySelector('.clock-box').dataset.nowNs) > 0n);
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  await page.keyboard.press('Home');
  assert.equal(await clockNs(page), 0n);
  // Scrolled to the bottom, `?` still opens the list where it can be seen.
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.keyboard.press('?');
  assert.match((await page.textContent('#keys-list')) ?? '', /Space.*play \/ pause.*←.*step back/s);
  const pop = await page.evaluate(() => {
    const r = document.querySelector('#keys-list').getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, h: window.innerHeight, scrolled: window.scrollY };
  });
  assert.ok(pop.scrolled > 500 && pop.top >= 0 && pop.bottom <= pop.h, `keys list in view: ${JSON.stringify(pop)}`);
  // Focus goes into the list (drawn at the end of <body>), and back to the Keys button when it closes.
  assert.equal(await page.evaluate(() => document.activeElement?.closest('#keys-list') !== null && document.activeElement.textContent), 'Close');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#keys-list').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'keys-help');
  // The button opens it too, and its Close button (in a portal under <body>) works.
  await page.click('#keys-help');
  await page.locator('#keys-list').getByRole('button', { name: 'Close' }).click();
  assert.equal(await page.locator('#keys-list').count(), 0);
  await page.keyboard.press('p');
  assert.equal(await page.getAttribute('#presenter', 'aria-pressed'), 'true');
  assert.ok(await page.locator('.playground.presenter').count());
  // The play button and the secondary (rem-sized) lines both grow.
  const sizes = () => page.evaluate(() => ['#play', '#timeline-info', '.scenario-desc', '.log'].map((s) =>
    parseFloat(getComputedStyle(document.querySelector(s)).fontSize)));
  const big = await sizes();
  console.log(`screenshot: ${await screenshot(page, 'time-presenter')}`);
  await page.click('#presenter');
  const normal = await sizes();
  big.forEach((b, i) => assert.ok(b > normal[i] * 1.2, `presenter text is bigger (${big} vs ${normal})`));
  // Typing in a field: keys are the field's.
  await page.click('#command');
  await page.keyboard.type('note a b');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.inputValue('#command'), 'note a b');
  assert.equal(await eventsDone(page), 0);
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  assertClean(log);
  await close();
});

test('no animation frames while paused after time travel, nor while hidden', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server, { initScript: instrumentScript });
  await goTo(page, '300ms');
  await page.click('#step-back');
  await page.fill('#timeline', '100000000');
  await page.waitForFunction(() => document.querySelector('.clock-box').dataset.nowNs === '100000000');
  const r0 = await page.evaluate(() => window.__rafCalls);
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__rafCalls), r0, 'no frames while paused');
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction((r) => window.__rafCalls > r, r0);
  await page.evaluate(() => window.__setHidden(true));
  await page.waitForTimeout(50);
  const r1 = await page.evaluate(() => window.__rafCalls);
  await page.waitForTimeout(400);
  assert.equal(await page.evaluate(() => window.__rafCalls), r1, 'no frames while hidden');
  await page.evaluate(() => window.__setHidden(false));
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  assertClean(log);
  await close();
});

test('save the scenario to a file and open one', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-file')]);
  assert.match(download.suggestedFilename(), /\.jetsim$/);
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const saved = readFileSync(path, 'utf8');
  assert.equal(saved, await page.inputValue('#scenario-text'));
  const mine = saved.replace(/^name .*$/m, 'name "from a file"');
  await page.setInputFiles('#load-file', { name: 'mine.jetsim', mimeType: 'text/plain', buffer: Buffer.from(mine) });
  await page.waitForFunction(() => /Loaded the scenario file mine\.jetsim/.test(document.querySelector('#status')?.textContent ?? ''));
  assert.equal((await page.textContent('.scenario-name'))?.trim(), 'from a file');
  assert.equal(await page.inputValue('#scenario'), 'custom');
  await page.setInputFiles('#load-file', { name: 'bad.jetsim', mimeType: 'text/plain', buffer: Buffer.from('jetsim 1\nbogus\n') });
  await page.waitForSelector('#load-error');
  assert.match((await page.textContent('#load-error')) ?? '', /bad\.jetsim: line 2/);
  assertClean(log);
  await close();
});
