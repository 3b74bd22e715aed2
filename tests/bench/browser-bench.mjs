// The kernel benchmarks in the page's wasm, in headless Chromium: calls
// window.jetsim.bench(messages) (the same bench::run_fanout the native
// `jetsim bench` runs) and window.jetsim.benchR3(r3Messages) (bench::run_r3,
// as `jetsim bench --r3`) `repeat` times each and prints the best runs as JSON.
//
// Then the page itself: its weight (wasm + JS + CSS, gzip -9, budget 400 KB)
// and the first render (navigation start to the first render's
// data-ready="1" with the cluster drawn, budget 1.5 s), best and median of
// `repeat` fresh pages on 127.0.0.1.
//
// Last, the frame time under load (tests/bench/frame-bench.mjs: 5 servers,
// 200+ frames in flight, 1× and 10×, p50/p95/p99/max against 16.7 ms); it
// sets a non-zero exit code if its load never reached 200 frames in flight.
//
//   node tests/bench/browser-bench.mjs [messages] [repeat] [r3Messages]
//   (JETSIM_NO_FRAME_BENCH=1 skips the frame-time part; JETSIM_DIST picks the build)
//
// Needs dist/ (scripts/build-web; JETSIM_DIST for another). Used by scripts/bench.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DIST, serveDist, launchBrowser } from '../e2e/lib/harness.mjs';
import { frameBench } from './frame-bench.mjs';

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
  console.log(JSON.stringify(pageWeight(), null, 2));
  console.log(JSON.stringify(await firstRender(), null, 2));
} finally {
  await browser.close();
  await server.close();
}
if (!process.env.JETSIM_NO_FRAME_BENCH) await frameBench({ seconds: 10 });

/** Bytes of the page's wasm, JS and CSS, raw and gzip -9. */
function pageWeight() {
  const files = {};
  let gzip = 0;
  for (const f of readdirSync(DIST).filter((f) => /\.(wasm|js|css)$/.test(f)).sort()) {
    const buf = readFileSync(join(DIST, f));
    const gz = gzipSync(buf, { level: 9 }).length;
    files[f] = { bytes: buf.length, gzip: gz };
    gzip += gz;
  }
  return { bench: 'page-weight', files, total_gzip_bytes: gzip, budget_gzip_bytes: 400 * 1024, within_budget: gzip <= 400 * 1024 };
}

/** Navigation start → first render (data-ready and a server drawn), in ms. */
async function firstRender() {
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.addInitScript(() => {
      new MutationObserver((_, obs) => {
        if (document.body?.dataset.ready === '1' && document.querySelector('svg.cluster-view g.server')) {
          window.__firstRenderMs = performance.now();
          obs.disconnect();
        }
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
    await page.goto(server.url);
    await page.waitForFunction(() => window.__firstRenderMs !== undefined, null, { timeout: 60_000 });
    times.push(await page.evaluate(() => window.__firstRenderMs));
    await context.close();
  }
  times.sort((a, b) => a - b);
  return {
    bench: 'first-render',
    runs: times.length,
    best_ms: Math.round(times[0]),
    median_ms: Math.round(times[Math.floor(times.length / 2)]),
    worst_ms: Math.round(times[times.length - 1]),
    budget_ms: 1500,
  };
}
