// Frames in flight (src/playground/frames.rs): drawn as a few <path>s in an
// overlay <svg> over the drawing, every frame in flight drawn (the caption's
// count), coloured by class, and named by a tip when hovered.
//   scripts/build-web && node --test tests/e2e/frames.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, openPlayground, pick, useBrowser } from './lib/playground.mjs';

const T = { timeout: 120_000 };
const env = useBrowser();

/** Step until frames are in flight; returns the caption's count. */
async function stepToFrames(page, min = 2) {
  const step = page.getByRole('button', { name: 'Step', exact: true });
  for (let i = 0; i < 200; i++) {
    const n = Number(/^(\d+) frames? in flight/.exec(((await page.textContent('#frames-caption')) ?? '').trim())?.[1] ?? 0);
    if (n >= min) return n;
    await step.click();
  }
  throw new Error('no frames in flight after 200 steps');
}

/** The centre, in screen px, of the first shape of the first non-empty path. */
function firstShape(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('svg.frames-overlay');
    const path = [...svg.querySelectorAll('path')].find((p) => (p.getAttribute('d') ?? '') !== '');
    if (!path) return null;
    const d = path.getAttribute('d');
    const m = /^M(-?[\d.]+) (-?[\d.]+)(a(-?[\d.]+)|h11|l6\.4)/.exec(d);
    if (!m) return { error: d.slice(0, 60) };
    let [x, y] = [Number(m[1]), Number(m[2])];
    if (m[4] !== undefined) x += Number(m[4]); // circle: starts at its left
    else if (m[3] === 'h11') [x, y] = [x + 5.5, y + 5.5]; // square: top left
    else y += 6.4; // diamond: top corner
    const p = new DOMPoint(x, y).matrixTransform(svg.getScreenCTM());
    return { x: p.x, y: p.y, cls: path.getAttribute('class') };
  });
}

test('every frame in flight is drawn in the overlay, by class, and hovering one names it', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  const inFlight = await stepToFrames(page);
  const overlay = page.locator('svg.frames-overlay');
  assert.equal(await overlay.getAttribute('aria-hidden'), 'true');
  // Same viewBox as the drawing, so the frames sit on its links.
  assert.equal(await overlay.getAttribute('viewBox'), await page.getAttribute('svg.cluster-view', 'viewBox'));
  assert.equal(Number(await overlay.getAttribute('data-drawn')), Math.min(inFlight, 300), 'every frame in flight is drawn');
  const classes = await page.$$eval('svg.frames-overlay path', (ps) => ps.filter((p) => p.getAttribute('d')).map((p) => p.getAttribute('class')));
  assert.ok(classes.length > 0);
  for (const c of classes) assert.match(c, /^frame (ring )?k-[a-z-]+$/);
  await page.evaluate(() => document.querySelector('.view-panel').scrollIntoView({ block: 'start' }));
  const shape = await firstShape(page);
  assert.ok(shape && shape.error === undefined, `a shape to hover: ${JSON.stringify(shape)}`);
  await page.mouse.move(shape.x, shape.y);
  await page.waitForFunction(() => (document.querySelector('.frame-tip')?.textContent ?? '') !== '', null, { timeout: 5_000 });
  const tip = (await page.textContent('.frame-tip')) ?? '';
  assert.match(tip, /^[a-z-]+( \([^)]*\))? \S+ → \S+/, `the tip names the frame: ${tip}`);
  assert.ok(await page.locator('.frame-tip').isVisible());
  console.log(`screenshot: ${await screenshot(page, 'frames-tip')}`);
  // Moving away clears it.
  await page.mouse.move(2, 2);
  await page.waitForFunction(() => (document.querySelector('.frame-tip')?.textContent ?? 'x') === '', null, { timeout: 5_000 });
  assert.equal(await page.locator('.frame-tip').isVisible(), false);
  assertClean(log);
  await close();
});

test('a frame just sent shows at its sender when stepping; the Raft details drawn are listed', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  const step = page.getByRole('button', { name: 'Step', exact: true });
  const details = new Set();
  let drawnEveryStep = true;
  for (let i = 0; i < 150 && !(details.has('append') && details.has('heartbeat')); i++) {
    await step.click();
    const n = Number(/^(\d+) frames? in flight/.exec(((await page.textContent('#frames-caption')) ?? '').trim())?.[1] ?? 0);
    const drawn = Number(await page.getAttribute('svg.frames-overlay', 'data-drawn'));
    if (drawn !== Math.min(n, 300)) drawnEveryStep = false;
    for (const d of ((await page.getAttribute('svg.frames-overlay', 'data-details')) ?? '').split(' ').filter(Boolean)) details.add(d);
  }
  assert.ok(drawnEveryStep, 'after every step, every frame in flight is drawn (none hidden inside a server)');
  assert.ok(details.has('append') || details.has('heartbeat'), `Raft AppendEntries drawn with their detail: ${[...details]}`);
  assertClean(log);
  await close();
});

test('while playing, a panel scrolled into view is brought up to date at once', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await pick(page, 'r3-publish');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.fill('#speed', '10');
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  // c1 is connected to n1 within the first virtual milliseconds.
  await page.waitForFunction(() => Number(document.querySelector('.clock-box')?.dataset.nowNs ?? 0) > 50_000_000, null, { timeout: 30_000 });
  await page.evaluate(() => document.querySelector('.clients').scrollIntoView({ block: 'center' }));
  await page.waitForFunction(
    () => {
      const cells = [...(document.querySelector('.clients tbody tr')?.querySelectorAll('th, td') ?? [])].map((c) => c.textContent.trim());
      return cells[0] === 'c1' && cells[1] === 'n1';
    },
    null,
    { timeout: 2_000 },
  );
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  assertClean(log);
  await close();
});
