// window.jetsim test hooks: the page's own wasm build (profile web) gives the
// same trace hashes as the native `jetsim` binary, and the kernel benchmark
// runs in the page.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './lib/harness.mjs';
import { assertClean, openPlayground, useBrowser } from './lib/playground.mjs';

const env = useBrowser();

const SEEDS = [1, 7, 12345];

/** `jetsim hashes` natively: Map "<file> <seed>" → hash, or null without cargo. */
function nativeHashes(files) {
  try {
    const out = execFileSync(
      'cargo',
      ['run', '--quiet', '--locked', '--package', 'jetsim', '--bin', 'jetsim', '--', 'hashes', '--seeds', SEEDS.join(','), ...files],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 },
    );
    const map = new Map();
    for (const line of out.split('\n').filter(Boolean)) {
      const [file, seed, hash] = line.trim().split(/\s+/);
      map.set(`${file} ${seed}`, hash);
    }
    return map;
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    throw e;
  }
}

test('traceHash in the page equals the native jetsim hashes', { timeout: 660_000 }, async (t) => {
  const dir = join(ROOT, 'scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.jetsim')).sort();
  assert.ok(files.length >= 4, 'scenarios/ has the examples');
  const native = nativeHashes(files.map((f) => join(dir, f)));
  if (!native) {
    t.skip('cargo is not on PATH: cannot build the native jetsim to compare with');
    return;
  }
  const { page, log, close } = await openPlayground(env.browser, env.server);
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const seed of SEEDS) {
      const want = native.get(`${file} ${seed}`);
      assert.match(want ?? '', /^[0-9a-f]{16}$/, `native hash for ${file} seed ${seed}`);
      const got = await page.evaluate(([text, seed]) => window.jetsim.traceHash(text, seed), [text, seed]);
      assert.equal(got, want, `${file} seed ${seed}`);
    }
  }
  // Seeds as BigInt and string agree with numbers; untilNs overrides `until`.
  const text = readFileSync(join(dir, files[0]), 'utf8');
  const [a, b, c] = await page.evaluate(
    (text) => [window.jetsim.traceHash(text, 7), window.jetsim.traceHash(text, 7n), window.jetsim.traceHash(text, '7')],
    text,
  );
  assert.equal(a, b);
  assert.equal(a, c);
  const shorter = await page.evaluate((text) => window.jetsim.traceHash(text, 7, 1_000_000), text);
  assert.notEqual(shorter, a);
  assertClean(log);
  await close();
});

test('traceHash reports bad input as an Error, and the page keeps working', { timeout: 60_000 }, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const errors = await page.evaluate(() => {
    const tries = [
      () => window.jetsim.traceHash('jetsim 1\nserver\n', 1),
      () => window.jetsim.traceHash(42, 1),
      () => window.jetsim.traceHash('jetsim 1\nserver n1\n', -1),
      () => window.jetsim.traceHash('jetsim 1\nserver n1\n', 1.5),
      () => window.jetsim.traceHash('jetsim 1\nserver n1\n', 1, 'soon'),
      () => window.jetsim.bench(10_000_000),
    ];
    return tries.map((f) => {
      try {
        return `no error: ${f()}`;
      } catch (e) {
        return `${e instanceof Error ? 'Error' : typeof e}: ${e.message}`;
      }
    });
  });
  assert.match(errors[0], /^Error: line 2/);
  for (const e of errors) assert.match(e, /^Error: /);
  // Still alive.
  await page.getByRole('button', { name: 'Step', exact: true }).click();
  assert.match((await page.textContent('#status')) ?? '', /^Stepped to/);
  assertClean(log);
  await close();
});

test('bench runs the fan-out kernel in the page', { timeout: 120_000 }, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const run = await page.evaluate(() => window.jetsim.bench(20_000));
  assert.equal(run.messages, 20_000);
  assert.equal(run.deliveries, 80_000, 'four subscribers');
  assert.ok(run.events > run.deliveries);
  assert.ok(run.ms > 0 && Number.isFinite(run.ms));
  assert.match(run.traceHash, /^[0-9a-f]{16}$/);
  const again = await page.evaluate(() => window.jetsim.bench(20_000));
  assert.equal(again.traceHash, run.traceHash, 'deterministic');
  console.log(
    `bench: ${run.deliveries} deliveries, ${run.events} events in ${run.ms.toFixed(1)} ms ` +
      `(${Math.round(run.deliveries / (run.ms / 1000)).toLocaleString('en')} deliveries/s)`,
  );
  assertClean(log);
  await close();
});

test('benchR3 runs the R3 JetStream benchmark in the page, same run as native', { timeout: 660_000 }, async () => {
  const { page, log, close } = await openPlayground(env.browser, env.server);
  const run = await page.evaluate(() => window.jetsim.benchR3(300));
  assert.equal(run.messages, 300);
  assert.equal(run.acked, 300, 'every publish acknowledged through the Raft path');
  assert.ok(run.events > 300 * 10, `an R3 publish takes many events (${run.events})`);
  assert.ok(run.simNs > 3e9, 'publishes start at 3 s of virtual time');
  assert.ok(run.ms > 0 && Number.isFinite(run.ms));
  assert.match(run.traceHash, /^[0-9a-f]{16}$/);
  // The native build runs the same workload to the same trace hash.
  try {
    const out = execFileSync(
      'cargo',
      ['run', '--quiet', '--locked', '--package', 'jetsim', '--bin', 'jetsim', '--', 'bench', '--r3', '--messages', '300', '--repeat', '1'],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 },
    );
    const native = JSON.parse(out);
    assert.equal(run.traceHash, native.trace_hash, 'same trace hash as the native R3 bench');
    assert.equal(run.events, native.events);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
    console.log('cargo is not on PATH: native R3 hash not compared');
  }
  const errors = await page.evaluate(() => {
    try {
      return `no error: ${JSON.stringify(window.jetsim.benchR3(10_000_000))}`;
    } catch (e) {
      return `${e instanceof Error ? 'Error' : typeof e}: ${e.message}`;
    }
  });
  assert.match(errors, /^Error: --messages 10000000: an R3 run takes at most/);
  assertClean(log);
  await close();
});
