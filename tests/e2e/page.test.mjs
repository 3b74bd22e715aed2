// The built page boots cleanly in Chromium: node --test tests/e2e/
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { screenshot, watchPage } from './lib/harness.mjs';
import { useBrowser } from './lib/playground.mjs';

const BOOT_TIMEOUT = 30_000;
const env = useBrowser();

test('the page boots with no errors and shows the shell', { timeout: 60_000 }, async () => {
  const page = await env.browser.newPage({ viewport: { width: 1280, height: 800 } });
  const log = watchPage(page);

  await page.goto(env.server.url);
  // The app sets <body data-ready="1"> after its first render.
  await page.waitForSelector('body[data-ready="1"]', { timeout: BOOT_TIMEOUT });

  assert.match(await page.title(), /jetsim/);
  assert.equal((await page.textContent('header h1'))?.trim(), 'jetsim');
  assert.ok(await page.isVisible('[role="main"]'), 'main area is visible');
  assert.match((await page.textContent('footer')) ?? '', /nats-server \d+\.\d+\.\d+/);
  assert.equal(await page.$('.loading'), null, 'the loading placeholder is gone');
  assert.equal(await page.$('#jetsim-panic'), null, 'no panic banner');

  const shot = await screenshot(page, 'page');
  console.log(`screenshot: ${shot}`);
  if (log.warnings.length) console.log(`console warnings:\n  ${log.warnings.join('\n  ')}`);

  assert.deepEqual(log.pageErrors, [], 'page errors');
  assert.deepEqual(log.errors, [], 'console errors');
  assert.deepEqual(log.failedRequests, [], 'failed requests');
  // wasm-bindgen falls back (with a warning) when .wasm is not application/wasm.
  assert.ok(
    !log.warnings.some((w) => w.includes('instantiateStreaming')),
    'wasm is served as application/wasm and instantiated by streaming',
  );
  await page.close();
});

test('a panic shows a visible error, not a blank page', { timeout: 60_000 }, async () => {
  const page = await env.browser.newPage();
  const log = watchPage(page);

  await page.goto(`${env.server.url}#jetsim-test-panic`);
  const banner = await page.waitForSelector('#jetsim-panic[role="alert"]', {
    timeout: BOOT_TIMEOUT,
  });
  const text = (await banner.textContent()) ?? '';
  assert.match(text, /jetsim crashed/);
  assert.match(text, /test panic requested/);
  assert.ok(await banner.isVisible(), 'banner is visible');
  assert.ok(
    log.errors.some((e) => e.includes('jetsim panicked')),
    `console.error carries the panic: ${JSON.stringify(log.errors)}`,
  );
  await screenshot(page, 'panic');
  await page.close();
});
