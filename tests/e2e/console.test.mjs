// The console's own behaviour (src/playground/console.rs): paused, a command
// that waits for a reply says so (status live region and its entry) and the
// reply comes once time runs (Step); `help` and `nats --help` list the
// commands, actions and keys; an overlong line gets the one length message
// and long text wraps inside the panel; Tab with several candidates
// completes their common prefix, then lists them once, keeping focus, and a
// Tab that adds nothing moves focus.
//   scripts/build-web && node --test tests/e2e/console.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { assertClean, goTo, openPlayground, useBrowser } from './lib/playground.mjs';

const T = { timeout: 240_000 };
const env = useBrowser();

/** Five servers, a stream X with the pull consumers C and C2 by 5s (shared with console::tests). */
const TWO_CONSUMERS = readFileSync(new URL('../fixtures/two-consumers.jetsim', import.meta.url), 'utf8');

async function openR3(at) {
  const pg = await openPlayground(env.browser, env.server);
  await pg.page.selectOption('#scenario', 'r3-publish');
  await pg.page.waitForFunction(() => document.querySelector('.clock-box')?.dataset.nowNs === '0');
  await goTo(pg.page, at);
  return pg;
}

/** The console entry for `input` (its text, pending note, error class), or null. */
function entry(page, input) {
  return page.$$eval(
    '#console-out .console-entry',
    (es, input) => {
      const e = es.find((x) => x.dataset.input === input);
      return e ? { text: e.querySelector('pre').textContent, pending: e.querySelector('.pending')?.textContent ?? null, error: e.classList.contains('error') } : null;
    },
    input,
  );
}

const status = (page) => page.textContent('#command-result').then((t) => t ?? '');

async function submit(page, line) {
  const input = page.locator('#command');
  await input.fill(line);
  await input.press('Enter');
}

test('paused: a command that waits for a reply says so; the reply comes when time runs', T, async () => {
  const { page, log, close } = await openR3(9000);
  assert.equal(await page.getAttribute('#command-result', 'role'), 'status');
  await submit(page, 'nats stream ls');
  await page.waitForFunction(() => /^Sent at/.test(document.querySelector('#command-result')?.textContent ?? ''));
  assert.match(await status(page), /^Sent at 9\.0+s: c1: nats stream ls\. Paused: the reply arrives when time runs: press Play or Step \(→\)\.$/);
  let e = await entry(page, 'nats stream ls');
  assert.ok(e, 'an entry');
  assert.match(e.pending ?? '', /^00:00:09\.000 sent: the reply arrives when time runs: press Play or Step \(→\)$/, JSON.stringify(e));
  assert.ok(!e.text.includes('ORDERS'), e.text);
  // Step until the reply is in (a few events: request, server, response).
  for (let i = 0; i < 200 && !(await entry(page, 'nats stream ls')).text.includes('ORDERS'); i++) {
    await page.click('#step');
  }
  e = await entry(page, 'nats stream ls');
  assert.match(e.text, /\nORDERS +20 /, e.text);
  assert.equal(e.pending, null, 'the note goes once the reply is in');
  assert.equal(await status(page), `Sent at 9.000000s: c1: nats stream ls.`, 'and so does the status line\'s hint');
  // A fault waits for nothing: done at once, no note.
  await submit(page, 'kill n2');
  await page.waitForFunction(() => /^Done at .*: kill n2$/.test(document.querySelector('#command-result')?.textContent ?? ''));
  assert.equal((await entry(page, 'kill n2')).pending, null);
  assertClean(log);
  await close();
});

test('help and nats --help list the commands, actions and keys; an overlong line gets one message and wraps', T, async () => {
  const { page, log, close } = await openR3(3000);
  for (const h of ['help', 'nats --help']) {
    await submit(page, h);
    await page.waitForFunction((h) => [...document.querySelectorAll('#console-out .console-entry')].some((e) => e.dataset.input === h), h);
    const e = await entry(page, h);
    assert.ok(!e.error, e.text);
    for (const want of [
      /\n  nats pub <subject> \[body\][^\n]* +Generic data publish utility\n/,
      /\n  nats stream ls +List all known Streams\n/,
      /\n  nats consumer next <stream> <name>[^\n]* +Retrieves messages from Pull Consumers\n/,
      /\nScenario actions:\n  kill <server> +Crash a server/,
      /\n  partition A B \| C D  or  A -> B +Cut the links/,
      /\n  note <text> +Narration in the event log\n/,
      /\nKeys:\n  ↑\/↓ +Browse the history/,
      /\n  Tab +Complete names/,
    ]) {
      assert.match(e.text, want, e.text);
    }
    assert.match(await status(page), /listed below/);
  }
  // Overlong: the same message whatever the line.
  for (const line of ['x'.repeat(10_000), `nats pub x.a ${'x'.repeat(10_000)}`]) {
    await submit(page, line);
    await page.waitForFunction(() => document.querySelector('#command-result .error')?.textContent === 'The command is longer than 1000 bytes.');
    await page.fill('#command', '');
  }
  // A long error (a 400-character name) wraps inside the panel.
  await submit(page, `kill ${'y'.repeat(900)}`);
  await page.waitForFunction(() => /^server name "yyy/.test(document.querySelector('#command-result .error')?.textContent ?? ''));
  const fits = await page.$$eval(['#command-result', '#console-out', 'section.faults'].join(','), (els) => els.map((el) => [el.id || el.className, el.scrollWidth, el.clientWidth]));
  for (const [what, scroll, client] of fits) {
    assert.ok(scroll <= client + 1, `${what} overflows: scrollWidth ${scroll} > clientWidth ${client}`);
  }
  assertClean(log);
  await close();
});

test('Tab with several candidates: the common prefix, then the list once; focus stays, then moves', T, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  await page.locator('details.scenario-text summary').click();
  await page.fill('#scenario-text', TWO_CONSUMERS);
  await page.getByRole('button', { name: 'Load this text' }).click();
  await page.waitForSelector('svg.cluster-view g.server[data-server="n5"]');
  await goTo(page, 5000);
  const input = page.locator('#command');
  const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
  const candidates = () => page.textContent('#command-candidates').then((t) => t ?? '');
  assert.equal(await page.getAttribute('#command-candidates', 'aria-live'), 'polite');

  // kill n: n1..n5 share nothing more: listed, text unchanged, focus kept.
  await input.fill('kill n');
  await input.press('Tab');
  await page.waitForFunction(() => document.querySelector('#command-candidates')?.textContent !== '');
  assert.equal(await candidates(), '5 completions: n1  n2  n3  n4  n5');
  assert.equal(await input.inputValue(), 'kill n');
  assert.equal(await focused(), 'command');
  // Tab again adds nothing: focus moves on.
  await input.press('Tab');
  await page.waitForFunction(() => document.activeElement?.id !== 'command');
  assert.equal(await input.inputValue(), 'kill n');

  // Consumers C and C2: first the common "C", then the list.
  await input.fill('nats consumer next X ');
  assert.equal(await candidates(), '', 'a new input clears the list');
  await input.press('Tab');
  await page.waitForFunction(() => document.querySelector('#command').value === 'nats consumer next X C');
  assert.equal(await focused(), 'command');
  await input.press('Tab');
  await page.waitForFunction(() => document.querySelector('#command-candidates')?.textContent !== '');
  assert.equal(await candidates(), '2 completions: C  C2');
  assert.equal(await input.inputValue(), 'nats consumer next X C');
  assert.equal(await focused(), 'command');
  await input.press('Tab');
  await page.waitForFunction(() => document.activeElement?.id !== 'command');

  // An empty field: Tab moves focus as usual.
  await input.fill('');
  await input.focus();
  await input.press('Tab');
  await page.waitForFunction(() => document.activeElement?.id !== 'command');
  assertClean(log);
  await close();
});
