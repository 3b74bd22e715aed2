// The kernel benchmark in the page's wasm, in headless Chromium: calls
// window.jetsim.bench(messages) (the same bench::run_fanout the native
// `jetsim bench` runs) `repeat` times and prints the best run as JSON.
//
//   node tests/bench/browser-bench.mjs [messages] [repeat]
//
// Needs dist/ (scripts/build-web). Used by scripts/bench.
import { serveDist, launchBrowser } from '../e2e/lib/harness.mjs';

const messages = Number(process.argv[2] || 200000);
const repeat = Number(process.argv[3] || 5);

const server = await serveDist();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => window.jetsim && typeof window.jetsim.bench === 'function', null, { timeout: 60_000 });
  let best = null;
  for (let i = 0; i < repeat; i++) {
    const run = await page.evaluate((n) => window.jetsim.bench(n), messages);
    if (!best || run.ms < best.ms) best = run;
  }
  const secs = best.ms / 1000;
  console.log(JSON.stringify({
    bench: 'kernel-fanout',
    target: 'wasm (Chromium, page build)',
    messages,
    deliveries: best.deliveries,
    events: best.events,
    best_seconds: secs,
    deliveries_per_sec: Math.round(best.deliveries / secs),
    events_per_sec: Math.round(best.events / secs),
    trace_hash: best.traceHash ?? best.trace_hash ?? null,
  }, null, 2));
} finally {
  await browser.close();
  await server.close();
}
