// Shared set-up for the browser end-to-end tests (node:test + playwright-core).
//
// - serveDist(): a static server for the built page on 127.0.0.1 (random
//   port), with the right MIME types (`.wasm` as application/wasm, which
//   WebAssembly.instantiateStreaming requires).
// - launchBrowser(): Debian's chromium through playwright-core; no browser is
//   ever downloaded.
// - watchPage(): collects console errors/warnings, page errors and failed
//   requests, so each test can assert the page was clean.
//
// The page under test is JETSIM_DIST (default: dist/, made by scripts/build-web),
// or, if JETSIM_URL is set, the page already served there (e.g. by
// scripts/serve: JETSIM_URL=http://127.0.0.1:8080/ node --test tests/e2e/).
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const DIST = resolve(process.env.JETSIM_DIST || join(ROOT, 'dist'));
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.toml': 'text/plain; charset=utf-8',
};

/** Serve `dir` on 127.0.0.1; resolves to { url, close }. */
export async function serveDist(dir = DIST) {
  if (process.env.JETSIM_URL) {
    return { url: process.env.JETSIM_URL, close: async () => {} };
  }
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html not found: build the page first (scripts/build-web)`);
  }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = normalize(join(dir, path));
    if (file !== dir && !file.startsWith(dir + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file)] || 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/** Record everything that went wrong on `page`. */
export function watchPage(page) {
  const log = { errors: [], warnings: [], pageErrors: [], failedRequests: [] };
  page.on('console', (msg) => {
    const text = `${msg.type()}: ${msg.text()}`;
    if (msg.type() === 'error') log.errors.push(text);
    if (msg.type() === 'warning') log.warnings.push(text);
  });
  page.on('pageerror', (err) => log.pageErrors.push(String(err)));
  page.on('requestfailed', (req) =>
    log.failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`),
  );
  page.on('response', (res) => {
    if (res.status() >= 400) log.failedRequests.push(`${res.url()}: HTTP ${res.status()}`);
  });
  return log;
}

/** Save a screenshot of `page` into tests/artifacts/NAME.png (git-ignored). */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
