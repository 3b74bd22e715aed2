// The playground page: cluster view, time control, faults, log, themes.
//   scripts/build-web && node --test tests/e2e/
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import {
  SPEED_1X,
  SPEED_10X,
  assertClean,
  clockNs,
  eventsDone,
  instrumentScript,
  logLines,
  openPlayground,
  setSpeed,
  settle,
  useBrowser,
  waitForLogLine,
} from './lib/playground.mjs';

const T = { timeout: 90_000 };
const env = useBrowser();

test('the page loads clean and draws one node per server, with names', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const servers = await page.$$eval('svg.cluster-view g.server', (gs) =>
    gs.map((g) => ({ name: g.dataset.server, state: g.dataset.state, text: g.querySelector('.server-name')?.textContent })),
  );
  assert.deepEqual(
    servers,
    ['n1', 'n2', 'n3'].map((n) => ({ name: n, state: 'up', text: n })),
  );
  // Clients are drawn (after the first connections) next to their servers.
  await page.getByRole('button', { name: 'Step', exact: true }).click();
  const clients = await page.$$eval('svg.cluster-view g.client', (gs) => gs.map((g) => g.dataset.client));
  assert.deepEqual(clients, ['pub', 'sub', 'w1', 'w2', 'svc', 'asker']);
  // AZ bands, cluster box, route links with latency labels, legend.
  assert.equal(await page.locator('svg.cluster-view .zone').count(), 3);
  assert.match((await page.textContent('svg.cluster-view .cluster-label')) ?? '', /cluster east · region us-east/);
  assert.equal(await page.locator('svg.cluster-view line.route').count(), 3);
  assert.ok((await page.locator('svg.cluster-view .route-label').allTextContents()).includes('1ms–2ms'));
  assert.match((await page.textContent('.legend')) ?? '', /publish.*deliver.*route-msg.*route-sub/s);
  assert.equal(await page.title(), 'jetsim · NATS JetStream cluster simulator');
  console.log(`screenshot: ${await screenshot(page, 'playground')}`);
  assertClean(log);
  await close();
});

test('Play advances the virtual clock; Pause stops it and requests no more frames', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server, { initScript: instrumentScript });
  assert.equal(await clockNs(page), 0n);
  assert.equal(await page.evaluate(() => window.__rafCalls), 0, 'no frames requested before Play');
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction(() => BigInt(document.querySelector('.clock-box').dataset.nowNs) > 0n);
  await page.waitForTimeout(300);
  const playing = await clockNs(page);
  assert.ok(playing > 0n, 'the clock moved');
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  await page.waitForTimeout(50);
  const paused = await clockNs(page);
  const rafs = await page.evaluate(() => window.__rafCalls);
  await page.waitForTimeout(500);
  assert.equal(await clockNs(page), paused, 'clock unchanged 500 ms after Pause');
  assert.equal(await page.evaluate(() => window.__rafCalls), rafs, 'no animation frames requested while paused');
  // At the default speed (1/500×) half a second of play is about 1 ms of virtual time.
  assert.ok(paused < 5_000_000n, `default speed is slow (${paused} ns)`);
  assertClean(log);
  await close();
});

test('a hidden tab requests no animation frames and the clock waits', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server, { initScript: instrumentScript });
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction(() => BigInt(document.querySelector('.clock-box').dataset.nowNs) > 0n);
  await page.evaluate(() => window.__setHidden(true));
  await page.waitForTimeout(50);
  const t0 = await clockNs(page);
  const r0 = await page.evaluate(() => window.__rafCalls);
  await page.waitForTimeout(400);
  assert.equal(await page.evaluate(() => window.__rafCalls), r0, 'no frames while hidden');
  assert.equal(await clockNs(page), t0, 'clock waits while hidden');
  await page.evaluate(() => window.__setHidden(false));
  await page.waitForFunction((t) => BigInt(document.querySelector('.clock-box').dataset.nowNs) > BigInt(t), String(t0));
  assert.ok((await page.evaluate(() => window.__rafCalls)) > r0, 'frames again once visible');
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  assertClean(log);
  await close();
});

test('a publish on n1 crosses a route to the subscriber on n3 (core pub/sub)', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  assert.equal(await page.inputValue('#scenario'), 'core-pubsub');
  await setSpeed(page, SPEED_1X);
  assert.equal((await page.textContent('#speed-out'))?.trim(), '1×');
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await waitForLogLine(page, /^sub received orders\.new/);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const lines = await logLines(page);
  const published = lines.findIndex((l) => l.startsWith('pub published orders.new'));
  const received = lines.findIndex((l) => l.startsWith('sub received orders.new'));
  assert.ok(published >= 0 && published < received, `published before received:\n${lines.join('\n')}`);
  // pub is on n1 and sub on n3: the message crossed the n1-n3 route.
  assert.equal(await page.getAttribute('g.client[data-client="pub"]', 'data-server'), 'n1');
  assert.equal(await page.getAttribute('g.client[data-client="sub"]', 'data-server'), 'n3');
  const subRow = page.locator('.client-table tr[data-client="sub"] td');
  assert.ok(Number(await subRow.nth(2).textContent()) >= 1, 'sub counted a received message');

  // The console publishes too: paused, run a command, then play to delivery.
  await page.fill('#command', 'pub: nats pub orders.extra "hello from the console"');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  assert.match((await page.textContent('#command-result')) ?? '', /^Sent at .*pub: nats pub orders\.extra.*\. Paused: the message is published when time runs/);
  await setSpeed(page, SPEED_10X);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await waitForLogLine(page, /^sub received orders\.extra/);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  // A bad command is a message, not a crash.
  await page.fill('#command', 'kill n9');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  assert.match((await page.textContent('#command-result .error')) ?? '', /n9/);
  console.log(`screenshot: ${await screenshot(page, 'playground-pubsub')}`);
  assertClean(log);
  await close();
});

test('kill a server from the fault controls: shown down and logged; restart: up', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.getByRole('button', { name: 'Kill n2' }).click();
  const n2 = page.locator('svg.cluster-view g.server[data-server="n2"]');
  await settle(page, 'svg.cluster-view g.server[data-server="n2"][data-state="down"]');
  assert.equal(await n2.getAttribute('data-state'), 'down');
  assert.equal((await n2.locator('.server-state').textContent())?.trim(), 'down');
  assert.equal((await page.textContent('.fault-table tr[data-server="n2"] td.state'))?.trim(), 'down');
  await waitForLogLine(page, 'server n2 is down');
  assert.ok((await logLines(page)).includes('fault: kill n2'));
  assert.ok(await page.getByRole('button', { name: 'Kill n2' }).isDisabled());
  assert.equal(await page.getAttribute('svg.cluster-view line.route[data-route="n1-n2"]', 'data-state'), 'down');
  console.log(`screenshot: ${await screenshot(page, 'playground-killed')}`);

  await page.getByRole('button', { name: 'Restart n2' }).click();
  await settle(page, 'svg.cluster-view g.server[data-server="n2"][data-state="up"]');
  assert.equal(await n2.getAttribute('data-state'), 'up');
  await waitForLogLine(page, 'server n2 is up');

  // Pause and isolate, then heal all.
  await page.getByRole('button', { name: 'Pause n3' }).click();
  await settle(page, 'svg.cluster-view g.server[data-server="n3"][data-state="paused"]');
  assert.equal(await page.getAttribute('svg.cluster-view g.server[data-server="n3"]', 'data-state'), 'paused');
  await page.getByRole('button', { name: 'Resume n3' }).click();
  await page.getByRole('button', { name: 'Isolate n1' }).click();
  await settle(page, 'svg.cluster-view line.route[data-route="n1-n3"][data-state="cut"]');
  assert.equal(await page.getAttribute('svg.cluster-view line.route[data-route="n1-n3"]', 'data-state'), 'cut');
  assert.match((await page.textContent('.fault-table tr[data-server="n1"] td.state')) ?? '', /cut from n2, n3/);
  console.log(`screenshot: ${await screenshot(page, 'playground-isolated')}`);
  await page.getByRole('button', { name: 'Heal all partitions' }).click();
  await settle(page, 'svg.cluster-view line.route[data-route="n1-n3"][data-state="up"]');
  assert.equal(await page.getAttribute('svg.cluster-view line.route[data-route="n1-n3"]', 'data-state'), 'up');
  assertClean(log);
  await close();
});

test('Step advances exactly one event and says what it was; Reset starts again', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const step = page.getByRole('button', { name: 'Step', exact: true });
  for (let i = 0; i < 12; i++) {
    const before = await eventsDone(page);
    await step.click();
    assert.equal(await eventsDone(page), before + 1, `step ${i}`);
    assert.match((await page.textContent('#status')) ?? '', /^Stepped to \d+\.\d{6}s: /);
  }
  // The clock is the last event's time, not wall time.
  const next = await page.textContent('.clock-box');
  assert.match(next ?? '', /next at \d+\.\d{6}s/);
  // Reset: the same scenario and seed from the start.
  await page.getByRole('button', { name: 'Reset', exact: true }).click();
  assert.equal(await eventsDone(page), 0);
  assert.equal(await clockNs(page), 0n);
  assert.match((await page.textContent('#status')) ?? '', /Reset to the start/);
  await step.click();
  assert.equal(await eventsDone(page), 1);
  assertClean(log);
  await close();
});

test('scenario picker and seed rebuild the world; bad input is a clear message', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.selectOption('#scenario', 'regions');
  await page.waitForSelector('svg.cluster-view g.server[data-server="euw1"]');
  assert.equal(await page.inputValue('#seed'), '42', "the scenario's seed");
  assert.equal(await page.locator('svg.cluster-view g.server').count(), 4);
  assert.match((await page.textContent('.scenario-name')) ?? '', /two regions/);
  // Zones say their region when a cluster spans two.
  const zoneLabels = await page.$$eval('svg.cluster-view .zone-label-2', (gs) => gs.map((g) => g.textContent));
  assert.ok(zoneLabels.includes('euw-aeu-west'), `AZ and region: ${JSON.stringify(zoneLabels)}`);
  console.log(`screenshot: ${await screenshot(page, 'playground-regions')}`);

  await page.fill('#seed', '99');
  await page.press('#seed', 'Enter');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('seed 99'));
  assert.equal(await clockNs(page), 0n);

  await page.fill('#seed', 'twelve');
  await page.press('#seed', 'Enter');
  const seedErr = page.locator('#seed-error[role="alert"]');
  assert.match((await seedErr.textContent()) ?? '', /not a whole number/);
  assert.equal(await page.getAttribute('#seed', 'aria-invalid'), 'true');
  assert.equal(await page.locator('svg.cluster-view g.server').count(), 4, 'the run is still shown');

  await page.locator('details.scenario-text summary').click();
  await page.fill('#scenario-text', 'jetsim 1\nserver n1\nclient c server=nowhere\n');
  await page.getByRole('button', { name: 'Load this text' }).click();
  const loadErr = page.locator('#load-error[role="alert"]');
  assert.match((await loadErr.textContent()) ?? '', /line 3/);
  assert.equal(await page.locator('svg.cluster-view g.server').count(), 4, 'the previous run is still shown');

  // Untrusted text is shown as text.
  await page.fill('#scenario-text', 'jetsim 1\nname "<img src=x onerror=alert(1)>"\nserver n1\nserver n2\n');
  await page.getByRole('button', { name: 'Load this text' }).click();
  await page.waitForSelector('svg.cluster-view g.server[data-server="n2"]');
  assert.equal(await page.locator('svg.cluster-view g.server').count(), 2);
  assert.equal((await page.textContent('.scenario-name'))?.trim(), '<img src=x onerror=alert(1)>');
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.inputValue('#scenario'), 'custom');
  assertClean(log);
  await close();
});

test('reduced motion: frames are counted per link, never moved', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server, { reducedMotion: 'reduce' });
  const step = page.getByRole('button', { name: 'Step', exact: true });
  for (let i = 0; i < 40 && (await page.locator('svg.cluster-view .frame-count').count()) === 0; i++) await step.click();
  assert.ok((await page.locator('svg.cluster-view .frame-count').count()) > 0, 'frames in flight are counted');
  assert.equal(await page.getAttribute('svg.frames-overlay', 'data-drawn'), '0', 'no moving frames');
  assert.deepEqual(await page.$$eval('svg.frames-overlay path', (ps) => ps.map((p) => p.getAttribute('d')).filter(Boolean)), [], 'no frame paths');
  assert.match((await page.textContent('#frames-caption')) ?? '', /reduced motion/);
  console.log(`screenshot: ${await screenshot(page, 'playground-reduced-motion')}`);
  assertClean(log);
  await close();
});

test('usable at 768 px wide in dark and light themes', T, async () => {
  for (const colorScheme of ['dark', 'light']) {
    const { page, log, close } = await openPlayground(env.browser, env.server, {
      viewport: { width: 768, height: 1024 },
      colorScheme,
    });
    await setSpeed(page, SPEED_1X);
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await waitForLogLine(page, /received/);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (colorScheme === 'dark') assert.equal(bg, 'rgb(15, 23, 32)');
    else assert.equal(bg, 'rgb(246, 248, 250)');
    const box = await page.locator('svg.cluster-view').boundingBox();
    assert.ok(box && box.width > 500, `the cluster view is usable (${box?.width}px)`);
    console.log(`screenshot: ${await screenshot(page, `playground-768-${colorScheme}`)}`);
    assertClean(log);
    await close();
  }
});

test('every control is named and the page works from the keyboard', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const unnamed = await page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('button, input, select, textarea')) {
      const label =
        el.getAttribute('aria-label') ||
        (el.id && document.querySelector(`label[for="${el.id}"]`)?.textContent) ||
        (el.tagName === 'BUTTON' && el.textContent);
      if (!label || !label.trim()) bad.push(el.outerHTML.slice(0, 80));
    }
    return bad;
  });
  assert.deepEqual(unnamed, [], 'controls without an accessible name');
  // Tab to Play, press Enter: it plays; Space on the same button pauses.
  await page.focus('body');
  for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement?.id)) !== 'play'; i++) {
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'play', 'Play is reached by Tab');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => BigInt(document.querySelector('.clock-box').dataset.nowNs) > 0n);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'play', 'focus stays on the toggle');
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'Play', exact: true }).waitFor();
  // The speed slider moves with arrow keys.
  await page.focus('#speed');
  await page.keyboard.press('ArrowRight');
  assert.equal((await page.textContent('#speed-out'))?.trim(), '1/200×');
  // The log is a polite live region, an ordered list.
  assert.equal(await page.getAttribute('ol#log', 'aria-live'), 'polite');
  assertClean(log);
  await close();
});

test('JetStream: the meta and stream leaders are shown; a publish is acknowledged', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.selectOption('#scenario', 'r3-publish');
  await page.waitForSelector('svg.cluster-view g.server[data-server="n3"]');
  await setSpeed(page, SPEED_10X);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await waitForLogLine(page, /^c1 publish to orders\.new acknowledged: ORDERS seq 1 /, 30_000);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  assert.equal(await page.locator('svg.cluster-view g.server[data-meta-leader="1"]').count(), 1, 'one meta leader');
  assert.equal(await page.locator('svg.cluster-view g.server .badge-g.stream').count(), 1, 'one stream leader');
  assert.match((await page.textContent('.fault-table')) ?? '', /meta leader/);
  assert.match((await page.textContent('.fault-table')) ?? '', /leads ORDERS/);
  // Raft traffic has its own colours in the legend.
  assert.match((await page.textContent('.legend')) ?? '', /raft-append.*raft-vote/s);
  assert.ok(await page.getByRole('button', { name: 'Power loss n1' }).isEnabled());
  console.log(`screenshot: ${await screenshot(page, 'playground-jetstream')}`);
  assertClean(log);
  await close();
});

test('nine servers and twelve clients stay readable (nothing overlaps)', T, async () => {
  const servers = Array.from({ length: 9 }, (_, i) => `server n${i + 1} az=az${(i % 3) + 1}`);
  const clients = Array.from({ length: 12 }, (_, i) => `client app${i + 1} server=n${(i % 5) + 1}`);
  const text = [
    'jetsim 1',
    'name "Nine servers, twelve clients"',
    'cluster big region=eu-central',
    ...servers,
    ...clients,
    'link az:az1 az:az2 latency=3ms',
    'at 0s app1: nats sub demo.>',
    'at 10ms app12: nats pub demo.x hi --count 3 --sleep 1ms',
  ].join('\n');
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.locator('details.scenario-text summary').click();
  await page.fill('#scenario-text', text);
  await page.getByRole('button', { name: 'Load this text' }).click();
  await page.waitForSelector('svg.cluster-view g.server[data-server="n9"]');
  await setSpeed(page, SPEED_1X);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await waitForLogLine(page, /^app1 received demo\.x/);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const boxes = await page.$$eval('svg.cluster-view g.server circle.server-body, svg.cluster-view g.client rect', (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { id: e.parentElement.dataset.server ?? e.parentElement.dataset.client, x: r.x, y: r.y, w: r.width, h: r.height };
    }),
  );
  assert.equal(boxes.length, 21);
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) overlaps.push(`${a.id}/${b.id}`);
    }
  }
  assert.deepEqual(overlaps, [], 'overlapping nodes');
  // 36 routes: only the unusual latencies are labelled, the rest is said once.
  assert.equal(await page.locator('svg.cluster-view line.route').count(), 36);
  assert.match((await page.textContent('svg.cluster-view .cluster-caption')) ?? '', /routes 1ms unless labelled/);
  // The az1-az2 routes (3 x 3) are labelled, or said to be left out for room.
  const shown = await page.locator('svg.cluster-view .route-label').count();
  const left = Number(((await page.textContent('#frames-caption')) ?? '').match(/(\d+) latency labels? left out/)?.[1] ?? 0);
  assert.equal(shown + left, 9, `${shown} shown + ${left} left out`);
  assert.ok(shown >= 6, `most are shown (${shown})`);
  console.log(`screenshot: ${await screenshot(page, 'playground-9-servers')}`);
  assertClean(log);
  await close();
});
