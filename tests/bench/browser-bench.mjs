// The kernel benchmarks in the page's wasm, in headless Chromium: calls
// window.jetsim.bench(messages) (the same bench::run_fanout the native
// `jetsim bench` runs) and window.jetsim.benchR3(r3Messages) (bench::run_r3,
// as `jetsim bench --r3`) `repeat` times each and prints the best runs as JSON.
//
//   node tests/bench/browser-bench.mjs [messages] [repeat] [r3Messages]
//
// Needs dist/ (scripts/build-web). Used by scripts/bench.
import { serveDist, launchBrowser } from '../e2e/lib/harness.mjs';

const messages = Number(process.argv[2] || 200000);
const repeat = Number(process.argv[3] || 5);
const r3Messages = Number(process.argv[4] || 20000);

const server = await serveDist();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => window.jetsim && typeof window.jetsim.bench === 'function', null, { timeout: 60_000 });
  const best = async (fn, n) => {
    let b = null;
    for (let i = 0; i < repeat; i++) {
      const run = await page.evaluate(([fn, n]) => window.jetsim[fn](n), [fn, n]);
      if (!b || run.ms < b.ms) b = run;
    }
    return b;
  };
  const fan = await best('bench', messages);
  let secs = fan.ms / 1000;
  console.log(JSON.stringify({
    bench: 'kernel-fanout',
    target: 'wasm (Chromium, page build)',
    messages,
    deliveries: fan.deliveries,
    events: fan.events,
    best_seconds: secs,
    deliveries_per_sec: Math.round(fan.deliveries / secs),
    events_per_sec: Math.round(fan.events / secs),
    trace_hash: fan.traceHash ?? fan.trace_hash ?? null,
  }, null, 2));
  if ((await page.evaluate(() => typeof window.jetsim.benchR3)) === 'function') {
    const r3 = await best('benchR3', r3Messages);
    secs = r3.ms / 1000;
    console.log(JSON.stringify({
      bench: 'jetstream-r3',
      target: 'wasm (Chromium, page build)',
      messages: r3Messages,
      acked: r3.acked,
      events: r3.events,
      best_seconds: secs,
      acked_per_sec: Math.round(r3.acked / secs),
      events_per_sec: Math.round(r3.events / secs),
      sim_seconds: r3.simNs / 1e9,
      trace_hash: r3.traceHash,
    }, null, 2));
  }
} finally {
  await browser.close();
  await server.close();
}
