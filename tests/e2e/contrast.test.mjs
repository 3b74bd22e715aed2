// Text contrast (issue #5 "light and dark themes"): in both themes, the
// text the page colours to carry meaning (the primary button, the log's
// kinds of line, a down server in the faults table, the role badges, the
// muted text) has a contrast ratio of at least 4.5:1 (WCAG AA) against what
// it is drawn on. Computed from the page's own styles, element by element.
//   scripts/build-web && node --test tests/e2e/contrast.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot } from './lib/harness.mjs';
import { assertClean, command, goTo, openPlayground, pick, useBrowser } from './lib/playground.mjs';

const T = { timeout: 180_000 };
const env = useBrowser();

/** In the page: contrast of each selector's first match, text over background. */
function measure(selectors) {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [r, g, b, a];
  };
  const over = (top, under) => top.slice(0, 3).map((v, i) => v * top[3] + under[i] * (1 - top[3])).concat(1);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  // The colour behind an element: its own and its ancestors' backgrounds
  // (for SVG text, the fill of the shape given by `data-under`), blended.
  const behind = (el, underSel) => {
    if (underSel) {
      const shape = el.closest('g')?.querySelector(underSel) ?? document.querySelector(underSel);
      return parse(getComputedStyle(shape).fill);
    }
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const out = {};
  for (const [name, sel, prop, underSel] of selectors) {
    const el = document.querySelector(sel);
    if (!el) { out[name] = null; continue; }
    const bg = behind(el, underSel);
    const fg = over(parse(getComputedStyle(el)[prop]), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out[name] = Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100;
  }
  return out;
}

const SELECTORS = [
  ['Play button', 'button.primary', 'color'],
  ['log: fault line', '.log li.fault .what', 'color'],
  ['log: Raft line', '.log li.raft .what', 'color'],
  ['log: API line', '.log li.api .what', 'color'],
  ['log: note line', '.log li.note .what', 'color'],
  ['log: time', '.log .t', 'color'],
  ['faults table: down', 'td.state.down', 'color'],
  ['role dot (legend)', '.role-dot', 'color'],
  ['role badge (drawing)', 'svg.cluster-view .badge-g text', 'fill', '.role-badge'],
  ['muted text', '.scenario-desc', 'color'],
];

for (const colorScheme of ['dark', 'light']) {
  test(`text keeps 4.5:1 contrast in the ${colorScheme} theme`, T, async () => {
    const { page, log, close } = await openPlayground(env.browser, env.server, { colorScheme });
    await pick(page, 'kill-leader');
    // Leaders elected (the drawing's badges), then a server killed (a fault
    // line, a down server): measure at both moments, keep what was there.
    await goTo(page, 4000);
    const before = await page.evaluate(measure, SELECTORS);
    await command(page, 'kill n1');
    await goTo(page, 4500);
    const after = await page.evaluate(measure, SELECTORS);
    const got = Object.fromEntries(SELECTORS.map(([n]) => [n, after[n] ?? before[n]]));
    console.log(`${colorScheme}: ${JSON.stringify(got)}`);
    console.log(`screenshot: ${await screenshot(page, `contrast-${colorScheme}`)}`);
    for (const [name] of SELECTORS) {
      assert.ok(got[name] !== null, `${name}: nothing on the page to measure`);
      assert.ok(got[name] >= 4.5, `${name}: contrast ${got[name]}:1 is under 4.5:1 (${colorScheme})`);
    }
    assertClean(log);
    await close();
  });
}
