// Helpers for the playground's browser tests (tests/e2e/playground*.test.mjs),
// on top of the shared harness (serveDist, launchBrowser, watchPage).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { launchBrowser, serveDist, watchPage } from './harness.mjs';

export const BOOT_TIMEOUT = 30_000;

/** Speeds on the slider (src/playground/speed.rs SPEEDS): index of 1× and 10×. */
export const SPEED_1X = 12;
export const SPEED_10X = 15;

/**
 * Open the page in a fresh browser context and wait until the cluster is
 * drawn. Options: viewport, colorScheme, reducedMotion, initScript (a
 * function or source run before the page's scripts), hash (URL fragment).
 */
export async function openPlayground(browser, server, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1280, height: 900 },
    colorScheme: opts.colorScheme ?? 'light',
    reducedMotion: opts.reducedMotion ?? 'no-preference',
  });
  const page = await context.newPage();
  const log = watchPage(page);
  if (opts.initScript) await page.addInitScript(opts.initScript);
  await page.goto(server.url + (opts.hash ?? ''));
  await page.waitForSelector('body[data-ready="1"]', { timeout: BOOT_TIMEOUT });
  await page.waitForSelector('svg.cluster-view g.server', { timeout: BOOT_TIMEOUT });
  return { page, log, context, close: () => context.close() };
}

/** The virtual clock, in nanoseconds (a BigInt). */
export async function clockNs(page) {
  return BigInt((await page.getAttribute('.clock-box', 'data-now-ns')) ?? '0');
}

/** Events the world has processed so far. */
export async function eventsDone(page) {
  return Number((await page.getAttribute('.clock-box', 'data-events')) ?? 'NaN');
}

/** The event log's lines (the text after the timestamp). */
export function logLines(page) {
  return page.$$eval('#log li .what', (els) => els.map((e) => e.textContent ?? ''));
}

/** Wait until some log line satisfies `pred` (a RegExp or string prefix). */
export async function waitForLogLine(page, pattern, timeout = 15_000) {
  const source = pattern instanceof RegExp ? pattern.source : null;
  const flags = pattern instanceof RegExp ? pattern.flags : '';
  const prefix = typeof pattern === 'string' ? pattern : null;
  await page.waitForFunction(
    ({ source, flags, prefix }) => {
      const re = source === null ? null : new RegExp(source, flags);
      return [...document.querySelectorAll('#log li .what')].some((el) => {
        const t = el.textContent ?? '';
        return re ? re.test(t) : t.startsWith(prefix);
      });
    },
    { source, flags, prefix },
    { timeout },
  );
}

/** Set the speed slider to step `index`. */
export async function setSpeed(page, index) {
  await page.fill('#speed', String(index));
  assert.equal(await page.inputValue('#speed'), String(index));
}

/** The page stayed clean: no page errors, console errors or failed requests. */
export function assertClean(log) {
  assert.deepEqual(log.pageErrors, [], 'page errors');
  assert.deepEqual(log.errors, [], 'console errors');
  assert.deepEqual(log.failedRequests, [], 'failed requests');
}

/**
 * An init script counting requestAnimationFrame calls in
 * window.__rafCalls, and letting a test fake the tab's visibility with
 * window.__setHidden(bool) (dispatches visibilitychange).
 */
export function instrumentScript() {
  window.__rafCalls = 0;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => {
    window.__rafCalls += 1;
    return raf(cb);
  };
  let hidden = false;
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  };
}

/**
 * After a click or key press, give the page a moment to render before the
 * test reads it: wait (up to 5 s) for `selector` — the state the action
 * should lead to — to appear. The assertions that follow still check it, so
 * a wrong state fails there with a clear message instead of here.
 */
export async function settle(page, selector, timeout = 5_000) {
  await page.waitForSelector(selector, { state: 'attached', timeout }).catch(() => {});
}

/**
 * The suite's static server for dist/ and its browser, started before the
 * first test and closed after the last: `const env = useBrowser();` then
 * `openPlayground(env.browser, env.server)`.
 */
export function useBrowser() {
  const env = { browser: null, server: null };
  before(async () => {
    env.server = await serveDist();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/** Pick an example scenario and wait until its cluster is drawn. */
export async function pick(page, id) {
  await page.selectOption('#scenario', id);
  await page.waitForFunction((id) => document.querySelector('#scenario').value === id, id);
  await page.waitForSelector('svg.cluster-view g.server');
}

/**
 * Go to a moment with the Go to box: `time` as the box takes it ('3s',
 * '700ms') or a number of ms. Waits for the status line, and for a number
 * until the clock has reached it (a replay from zero can take a while).
 */
export async function goTo(page, time, timeout = 60_000) {
  const text = typeof time === 'number' ? `${time}ms` : time;
  await page.fill('#goto-time', text);
  await page.click('#goto-go');
  await page.waitForFunction(
    (ns) => /Went to|Replayed/.test(document.querySelector('#status')?.textContent ?? '') &&
      (ns === null || BigInt(document.querySelector('.clock-box').dataset.nowNs) >= BigInt(ns)),
    typeof time === 'number' ? String(time * 1_000_000) : null,
    { timeout },
  );
}

/**
 * Run a console line with the Run button and wait until it is done ("Done
 * at", or "Sent at" when paused and the command waits for a reply).
 */
export async function command(page, line) {
  await page.fill('#command', line);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForFunction(() => /^(Done|Sent) at/.test(document.querySelector('#command-result')?.textContent ?? ''));
}
