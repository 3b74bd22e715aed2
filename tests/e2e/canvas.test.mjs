// Faults and the causal path on the cluster drawing (src/playground/canvas.rs,
// view.rs; issue #5): a server's fault menu (mouse and keyboard only), drags
// that cut / heal a link or isolate a server (mouse and touch), the latency
// editor on a link's label, the split-by-AZ/region buttons, the causal path
// highlighted on the drawing, and a canvas-made fault kept by the URL.
//   scripts/build-web && node --test tests/e2e/canvas.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, clockNs, command, goTo, logLines, openPlayground, pick, setSpeed, SPEED_10X, useBrowser, waitForLogLine } from './lib/playground.mjs';

const T = { timeout: 180_000 };
const env = useBrowser();

const srv = (name) => `svg.cluster-view g.server[data-server="${name}"]`;
const route = (a, b) => `svg.cluster-view line.route[data-route="${a}-${b}"]`;
const stateOf = (page, name) => page.getAttribute(srv(name), 'data-state');
const routeState = (page, a, b) => page.getAttribute(route(a, b), 'data-state');

/** Centre of a server's circle, in viewport px (the drawing scrolled into view). */
async function centre(page, name) {
  await page.locator('svg.cluster-view').scrollIntoViewIfNeeded();
  const b = await page.locator(`${srv(name)} circle.server-body`).boundingBox();
  assert.ok(b, `server ${name} is drawn`);
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Drag with the mouse from server `a` to a point (a server's name or {x, y}). */
async function drag(page, a, to) {
  const p = await centre(page, a);
  const q = typeof to === 'string' ? await centre(page, to) : to;
  await page.mouse.move(p.x, p.y);
  await page.mouse.down();
  await page.mouse.move(q.x, q.y, { steps: 10 });
  const hint = await page.textContent('svg.cluster-view .drag-hint');
  await page.mouse.up();
  return hint;
}

/** Open a server's menu with a click and choose an item. */
async function menu(page, name, item) {
  await page.click(srv(name));
  const m = page.locator(`#cv-menu[data-server="${name}"]`);
  await m.waitFor();
  await m.getByRole('menuitem', { name: item, exact: true }).click();
  await m.waitFor({ state: 'detached' });
}

/** Which menu items are enabled, for server `name` (menu opened and closed with Escape). */
async function enabledItems(page, name) {
  await page.click(srv(name));
  await page.locator('#cv-menu').waitFor();
  const items = await page.$$eval('#cv-menu [role=menuitem]', (bs) => bs.filter((b) => !b.disabled).map((b) => b.textContent));
  // Focus moves into the menu once it is drawn; Escape is the menu's key.
  await page.waitForFunction(() => document.activeElement?.closest('#cv-menu') != null);
  await page.keyboard.press('Escape');
  await page.locator('#cv-menu').waitFor({ state: 'detached' });
  return items;
}

test('the server menu kills, restarts, pauses, resumes, power-loses, isolates and heals', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  await goTo(page, '3s');
  // The server is a button with an accessible name and a menu.
  const n2 = page.getByRole('button', { name: /^server n2: up · cluster/ });
  assert.equal(await n2.getAttribute('aria-haspopup'), 'menu');
  assert.equal(await n2.getAttribute('aria-expanded'), 'false');
  await n2.click();
  const m = page.getByRole('menu', { name: 'Faults for n2' });
  await m.waitFor();
  assert.equal(await n2.getAttribute('aria-expanded'), 'true');
  assert.deepEqual(
    await m.getByRole('menuitem').allTextContents(),
    ['Kill', 'Restart', 'Pause', 'Resume', 'Power loss', 'Isolate', 'Heal', 'Link latency…', 'Cut link to n1', 'Cut link to n3'],
  );
  // The menu sits next to its server.
  const mb = await m.boundingBox();
  const c = await centre(page, 'n2');
  assert.ok(mb.y <= c.y + 30 && mb.y + mb.height >= c.y - 30 && Math.abs(mb.x - c.x) < 260, `menu ${JSON.stringify(mb)} beside n2 ${JSON.stringify(c)}`);
  await screenshot(page, 'canvas-menu');
  await m.getByRole('menuitem', { name: 'Kill' }).click();
  await m.waitFor({ state: 'detached' });
  assert.equal(await stateOf(page, 'n2'), 'down');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.server), 'n2', 'focus returns to the server');
  await waitForLogLine(page, 'fault: kill n2');
  assert.deepEqual(await enabledItems(page, 'n2'), ['Restart', 'Link latency…', 'Cut link to n1', 'Cut link to n3']);

  await menu(page, 'n2', 'Restart');
  assert.equal(await stateOf(page, 'n2'), 'up');
  await waitForLogLine(page, 'fault: restart n2');
  await menu(page, 'n2', 'Pause');
  assert.equal(await stateOf(page, 'n2'), 'paused');
  assert.deepEqual(await enabledItems(page, 'n2'), ['Kill', 'Resume', 'Power loss', 'Isolate', 'Link latency…', 'Cut link to n1', 'Cut link to n3']);
  await menu(page, 'n2', 'Resume');
  assert.equal(await stateOf(page, 'n2'), 'up');
  await menu(page, 'n2', 'Power loss');
  assert.equal(await stateOf(page, 'n2'), 'down');
  await waitForLogLine(page, 'fault: power-loss n2');
  await menu(page, 'n2', 'Restart');
  await menu(page, 'n2', 'Isolate');
  await waitForLogLine(page, 'fault: isolate n2');
  assert.equal(await routeState(page, 'n1', 'n2'), 'cut');
  assert.equal(await routeState(page, 'n2', 'n3'), 'cut');
  assert.equal(await routeState(page, 'n1', 'n3'), 'up');
  assert.ok((await enabledItems(page, 'n2')).includes('Heal'));
  await menu(page, 'n2', 'Heal');
  await waitForLogLine(page, 'fault: heal n2 *');
  assert.equal(await routeState(page, 'n1', 'n2'), 'up');
  assert.equal(await routeState(page, 'n2', 'n3'), 'up');
  // The faults panel agrees (same world, same path).
  assert.match((await page.textContent('.fault-table tr[data-server="n2"] td.state')) ?? '', /^up/);
  // A press outside closes the menu.
  await page.click(srv('n1'));
  await page.locator('#cv-menu[data-server="n1"]').waitFor();
  await page.mouse.click(5, 5);
  await page.locator('#cv-menu').waitFor({ state: 'detached' });
  assertClean(log);
  await close();
});

test('the drawing works with the keyboard alone: menu and latency editor', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  // Tab from the scenario picker to the first server.
  await page.focus('#scenario');
  let id = '';
  for (let k = 0; k < 80 && id !== 'cv-server-0'; k++) {
    await page.keyboard.press('Tab');
    id = await page.evaluate(() => document.activeElement?.id ?? '');
  }
  assert.equal(id, 'cv-server-0', 'Tab reaches the first server');
  await page.keyboard.press('Enter');
  await page.locator('#cv-menu[data-server="n1"]').waitFor();
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-kill');
  // ↓ skips the disabled Restart: Pause.
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-pause');
  await page.keyboard.press('Enter');
  await page.locator('#cv-menu').waitFor({ state: 'detached' });
  assert.equal(await stateOf(page, 'n1'), 'paused');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-server-0');
  // Space opens it too; End goes to the last enabled item; Escape closes and changes nothing.
  await page.keyboard.press(' ');
  await page.locator('#cv-menu').waitFor();
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-kill');
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-link-2');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-kill', null, { timeout: 5000 });
  await page.keyboard.press('Escape');
  await page.locator('#cv-menu').waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.id === 'cv-server-0');
  assert.equal(await stateOf(page, 'n1'), 'paused');
  // Resume with the keyboard: Enter, ↓ ↓ (Kill → Resume).
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-kill');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-resume');
  await page.keyboard.press('Enter');
  await page.locator('#cv-menu').waitFor({ state: 'detached' });
  assert.equal(await stateOf(page, 'n1'), 'up');
  // One link from the keyboard (what a drag does): End is "Cut link to n3".
  await page.waitForFunction(() => document.activeElement?.id === 'cv-server-0');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-kill');
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.activeElement?.textContent === 'Cut link to n3');
  await page.keyboard.press('Enter');
  await waitForLogLine(page, 'fault: partition n1 | n3');
  assert.equal(await routeState(page, 'n1', 'n3'), 'cut');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-server-0');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-kill');
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.activeElement?.textContent === 'Heal link to n3');
  await page.keyboard.press('Enter');
  await waitForLogLine(page, 'fault: heal n1 n3');
  assert.equal(await routeState(page, 'n1', 'n3'), 'up');

  // The latency labels are buttons too: the n1–n3 link (2ms, jitter) → 40 ms.
  const label = page.getByRole('button', { name: /^Latency n1 ↔ n3: .*Edit$/ });
  await label.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-lat-input');
  // A bad value is refused with a message naming the field.
  await page.keyboard.press('Control+A');
  await page.keyboard.type('-5');
  await page.keyboard.press('Enter');
  assert.match((await page.textContent('#cv-lat-error')) ?? '', /^Latency: type a number of milliseconds/);
  await page.keyboard.press('Escape');
  await page.locator('#cv-latency').waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.id === 'cv-rl-0-2');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-lat-input');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('40');
  // The link's jitter (2ms jitter=500us) is shown next to it: set it to none.
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-jitter-input');
  assert.equal(await page.inputValue('#cv-jitter-input'), '0.5');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('0');
  await page.keyboard.press('Enter');
  await page.locator('#cv-latency').waitFor({ state: 'detached' });
  await waitForLogLine(page, 'fault: latency n1 n3 40ms');
  assert.equal((await page.textContent('#cv-rl-0-2 .route-label'))?.trim(), '40ms');
  assertClean(log);
  await close();
});

test('every link from the keyboard: the menu opens the latency editor with a peer picker; a cut client link heals from the menu', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.locator(srv('n1')).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-menu-kill');
  for (let k = 0; k < 10; k++) {
    if (await page.evaluate(() => document.activeElement?.id === 'cv-menu-latency')) break;
    await page.keyboard.press('ArrowDown');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Link latency…');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'cv-lat-input');
  // The first peer, then n3 picked: its latency and jitter fill the fields.
  assert.equal(await page.inputValue('#cv-lat-peer'), '1');
  assert.equal(await page.getAttribute('#cv-latency', 'data-route'), 'n1-n2');
  assert.equal(await page.inputValue('#cv-lat-input'), '1.5', 'uniform(1ms,2ms) is 1.5 ± 0.5');
  await page.selectOption('#cv-lat-peer', '2');
  await page.locator('#cv-latency[data-route="n1-n3"]').waitFor();
  assert.equal(await page.inputValue('#cv-lat-input'), '2');
  assert.equal(await page.inputValue('#cv-jitter-input'), '0.5');
  await page.fill('#cv-lat-input', '30');
  await page.fill('#cv-jitter-input', '5');
  await page.press('#cv-jitter-input', 'Enter');
  await page.locator('#cv-latency').waitFor({ state: 'detached' });
  await waitForLogLine(page, 'fault: latency n1 n3 25ms–35ms');
  // Focus goes back to the server the menu belonged to.
  await page.waitForFunction(() => document.activeElement?.id === 'cv-server-0');
  // A client's link cut from the console: the menu offers its heal.
  await command(page, 'partition pub | n1');
  await waitForLogLine(page, 'fault: partition pub | n1');
  await page.locator(srv('n1')).focus();
  await page.keyboard.press('Enter');
  const heal = page.getByRole('menuitem', { name: 'Heal link to pub' });
  await heal.waitFor();
  assert.equal(await page.getByRole('menuitem', { name: 'Heal', exact: true }).isDisabled(), true, 'Heal is for routes');
  await heal.click();
  await waitForLogLine(page, 'fault: heal n1 pub');
  await page.locator(srv('n1')).focus();
  await page.keyboard.press('Enter');
  await page.locator('#cv-menu').waitFor();
  assert.equal(await page.getByRole('menuitem', { name: 'Heal link to pub' }).count(), 0);
  assertClean(log);
  await close();
});

test('a latency edit on the drawing slows the next PubAck', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  await goTo(page, '3s');
  // Seed 1: c1 on n1, the ORDERS leader is n3; each PubAck takes 6 ms over 1 ms links.
  assert.equal((await page.textContent('#cv-rl-0-2 .route-label'))?.trim(), '1ms');
  await page.click('#cv-rl-0-2');
  await page.locator('#cv-latency[data-route="n1-n3"]').waitFor();
  assert.equal(await page.inputValue('#cv-lat-input'), '1');
  await page.fill('#cv-lat-input', '25');
  await page.click('#cv-lat-apply');
  await page.locator('#cv-latency').waitFor({ state: 'detached' });
  assert.equal((await page.textContent('#cv-rl-0-2 .route-label'))?.trim(), '25ms');
  assert.match(await page.getAttribute(route('n1', 'n3'), 'data-state'), /up/);
  await setSpeed(page, SPEED_10X);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await waitForLogLine(page, /^c1 publish to orders\.new acknowledged: ORDERS seq 1\b/, 60_000);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  // Open that PubAck's causal trace: route there and back take 25 ms each.
  await page.locator('#log button.ack-link', { hasText: /ORDERS seq 1\b/ }).first().click();
  const path = page.locator('#causal-path');
  await path.waitFor();
  assert.equal(await path.getAttribute('data-seq'), '1');
  const ns = Number(await path.getAttribute('data-latency-ns'));
  assert.equal(ns, 54_000_000, 'client 1 + route 25 + append round trip 2 + route 25 + client 1 ms');
  assert.equal(await page.getAttribute('svg.cluster-view line.causal-hop[data-hop="route"]', 'data-latency'), '25ms');
  assertClean(log);
  await close();
});

const acked = async (page) => (await logLines(page)).filter((l) => /acknowledged: ORDERS/.test(l));

test('dragging cuts a link, dragging again heals it, dragging out isolates; publishes stall across the cut', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  await goTo(page, '3900ms');
  // While dragging, the hint says what releasing does.
  assert.equal(await drag(page, 'n1', 'n3'), 'release: cut n1 ↔ n3');
  await waitForLogLine(page, 'fault: partition n1 | n3');
  assert.equal(await routeState(page, 'n1', 'n3'), 'cut');
  assert.equal(await routeState(page, 'n1', 'n2'), 'up');
  assert.match((await page.textContent('#status')) ?? '', /Cut the route n1 ↔ n3/);
  // Cut n1 (c1's server) from n2 too: c1 publishes to ORDERS (led by n3) from 4s,
  // and nothing is acknowledged while n1 is cut from both.
  assert.equal(await drag(page, 'n1', 'n2'), 'release: cut n1 ↔ n2');
  await waitForLogLine(page, 'fault: partition n1 | n2');
  await screenshot(page, 'canvas-cut');
  await goTo(page, '5s');
  assert.deepEqual(await acked(page), [], 'no PubAck while n1 is cut off');
  // Drag again: heal both.
  assert.equal(await drag(page, 'n3', 'n1'), 'release: heal n3 ↔ n1');
  await waitForLogLine(page, 'fault: heal n3 n1');
  assert.equal(await routeState(page, 'n1', 'n3'), 'up');
  assert.equal(await drag(page, 'n2', 'n1'), 'release: heal n2 ↔ n1');
  await waitForLogLine(page, 'fault: heal n2 n1');
  assert.equal(await routeState(page, 'n1', 'n2'), 'up');
  await goTo(page, '6500ms');
  await command(page, 'nats pub orders.new again --jetstream');
  await goTo(page, '7s');
  assert.ok((await acked(page)).length > 0, 'publishes are acknowledged again once healed');
  // A drag that ends inside the ring does nothing.
  const n1 = await centre(page, 'n1');
  const n2 = await centre(page, 'n2');
  const n3 = await centre(page, 'n3');
  const mid = { x: (n1.x + n2.x + n3.x) / 3, y: (n1.y + n2.y + n3.y) / 3 };
  const before = (await logLines(page)).length;
  assert.match(await drag(page, 'n2', mid), /^release: nothing/);
  assert.match((await page.textContent('#status')) ?? '', /Nothing changed/);
  assert.equal((await logLines(page)).length, before);
  assert.equal(await routeState(page, 'n1', 'n2'), 'up');
  // Out of the ring (away from the centre, past n2): isolate n2.
  const out = { x: n2.x + (n2.x - mid.x) * 0.9, y: n2.y + (n2.y - mid.y) * 0.9 };
  assert.equal(await drag(page, 'n2', out), 'release: isolate n2');
  await waitForLogLine(page, 'fault: isolate n2');
  assert.equal(await routeState(page, 'n1', 'n2'), 'cut');
  assert.equal(await routeState(page, 'n2', 'n3'), 'cut');
  assertClean(log);
  await close();
});

test('a touch drag cuts a link too', T, async () => {
  const context = await env.browser.newContext({ viewport: { width: 800, height: 900 }, hasTouch: true, isMobile: false });
  const page = await context.newPage();
  await page.goto(env.server.url);
  await page.waitForSelector('svg.cluster-view g.server');
  await page.locator('svg.cluster-view').scrollIntoViewIfNeeded();
  const cdp = await context.newCDPSession(page);
  const a = await centre(page, 'n1');
  const b = await centre(page, 'n2');
  const touch = (type, p) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: p ? [{ x: p.x, y: p.y, id: 1 }] : [] });
  await touch('touchStart', a);
  for (let k = 1; k <= 8; k++) await touch('touchMove', { x: a.x + ((b.x - a.x) * k) / 8, y: a.y + ((b.y - a.y) * k) / 8 });
  await touch('touchEnd');
  await waitForLogLine(page, 'fault: partition n1 | n2');
  assert.equal(await routeState(page, 'n1', 'n2'), 'cut');
  // A tap opens the menu.
  await touch('touchStart', b);
  await touch('touchEnd');
  await page.locator('#cv-menu[data-server="n2"]').waitFor();
  await context.close();
});

test('split an AZ or a region from the rest in one click', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  // core-pubsub: n1, n2, n3 in az1, az2, az3, one region (no region buttons).
  assert.deepEqual(await page.$$eval('.split-buttons button', (bs) => bs.map((b) => b.dataset.split)), ['az:az1', 'az:az2', 'az:az3']);
  await page.getByRole('button', { name: 'Split AZ az1 from the rest' }).click();
  await waitForLogLine(page, 'fault: partition az:az1 | az:az2 az:az3');
  assert.equal(await routeState(page, 'n1', 'n2'), 'cut');
  assert.equal(await routeState(page, 'n1', 'n3'), 'cut');
  assert.equal(await routeState(page, 'n2', 'n3'), 'up');
  await page.click('#heal');
  await pick(page, 'regions');
  await page.getByRole('button', { name: 'Split region eu-west from the rest' }).click();
  await waitForLogLine(page, 'fault: partition region:eu-west | region:us-east');
  assert.equal(await routeState(page, 'use1', 'euw1'), 'cut');
  assert.equal(await routeState(page, 'euw1', 'euw2'), 'up');
  assertClean(log);
  await close();
});

test('an open causal trace is highlighted on the drawing until closed', T, async () => {
  for (const reducedMotion of ['no-preference', 'reduce']) {
    const { page, log, close } = await openPlayground(env.browser, env.server, { reducedMotion });
    await pick(page, 'r3-publish');
    await setSpeed(page, SPEED_10X);
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await waitForLogLine(page, /^c1 publish to orders\.new acknowledged: ORDERS seq 3\b/, 60_000);
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    // Nothing is highlighted before a PubAck is picked.
    assert.equal(await page.locator('#causal-overlay').count(), 0);
    await page.locator('#log button.ack-link', { hasText: /ORDERS seq 3\b/ }).first().click();
    const overlay = page.locator('#causal-overlay');
    await overlay.waitFor();
    const path = page.locator('#causal-path');
    assert.equal(await path.getAttribute('data-seq'), '3');
    // c1 → n1 → (route) n3, the leader → appends to n1 and n2 → quorum → back.
    assert.equal(await overlay.getAttribute('data-leader'), 'n3');
    assert.equal(await overlay.getAttribute('data-servers'), 'n1,n3,n2');
    assert.equal(await overlay.getAttribute('data-quorum'), await path.getAttribute('data-quorum'));
    const quorum = (await path.getAttribute('data-quorum')).split(',');
    assert.equal(quorum.length, 2);
    assert.ok(quorum.includes('n3'));
    assert.equal(await overlay.getAttribute('data-hops'), await path.getAttribute('data-hops'));
    const hops = await page.$$eval('svg.cluster-view line.causal-hop', (ls) => ls.map((l) => `${l.dataset.hop} ${l.dataset.from}→${l.dataset.to} ${l.dataset.latency}`));
    assert.equal(hops.length, Number(await path.getAttribute('data-hops')));
    assert.equal(hops[0], 'publish c1→n1 1ms');
    assert.equal(hops[1], 'route n1→n3 1ms');
    assert.equal(hops.at(-2), 'puback route n3→n1 1ms');
    assert.equal(hops.at(-1), 'puback n1→c1 1ms');
    assert.ok(hops.includes('append n3→n2 1ms') && hops.includes('append ack n2→n3 1ms'), hops.join('; '));
    const labels = await page.$$eval('svg.cluster-view .causal-label', (ts) => ts.map((t) => t.textContent));
    assert.ok(labels.includes('route 1ms') && labels.includes('publish 1ms'), labels.join('; '));
    // The quorum's servers are marked; a follower outside the quorum is not.
    for (const s of ['n1', 'n2', 'n3']) {
      const cls = await page.getAttribute(`g.causal-ring[data-server="${s}"]`, 'class');
      assert.equal(/\bquorum\b/.test(cls), quorum.includes(s), `${s}: ${cls}`);
    }
    // Motion: the highlight flows, unless the reader asked for reduced motion.
    const anim = await page.$eval('svg.cluster-view line.causal-hop', (l) => getComputedStyle(l).animationName);
    assert.equal(anim, reducedMotion === 'reduce' ? 'none' : 'cv-causal-flow');
    await screenshot(page, `canvas-causal-${reducedMotion}`);
    // Still highlighted after more time passes (the path is kept), gone when closed.
    await page.click('#step');
    await overlay.waitFor();
    await page.click('#causal-close');
    await overlay.waitFor({ state: 'detached' });
    assert.equal(await page.locator('svg.cluster-view line.causal-hop').count(), 0);
    assertClean(log);
    await close();
  }
});

test('a fault made on the drawing travels in the URL', T, async () => {
  const a = await openPlayground(env.browser, env.server);
  await pick(a.page, 'r3-publish');
  await goTo(a.page, '3s');
  await drag(a.page, 'n1', 'n2');
  await waitForLogLine(a.page, 'fault: partition n1 | n2');
  await menu(a.page, 'n3', 'Pause');
  await a.page.click('#cv-rl-0-2');
  await a.page.fill('#cv-lat-input', '7.5');
  await a.page.press('#cv-lat-input', 'Enter');
  await waitForLogLine(a.page, 'fault: latency n1 n3 7.5ms');
  const now = await clockNs(a.page);
  await a.page.waitForFunction((t) => location.hash.includes(`&t=${t}`) && location.hash.includes('&in='), String(now));
  const href = await a.page.evaluate(() => location.href);
  const b = await openPlayground(env.browser, env.server, { hash: new URL(href).hash });
  assert.match((await b.page.textContent('#status')) ?? '', /Opened the link: seed 1, 3 recorded inputs/);
  assert.equal(await routeState(b.page, 'n1', 'n2'), 'cut');
  assert.equal(await stateOf(b.page, 'n3'), 'paused');
  assert.equal((await b.page.textContent('#cv-rl-0-2 .route-label'))?.trim(), '7.5ms');
  assert.equal(await clockNs(b.page), now);
  assertClean(a.log);
  assertClean(b.log);
  await a.close();
  await b.close();
});
