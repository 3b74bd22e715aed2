// Turn the trunk-annotated index.html into dist/index.html plus assets, the way
// trunk does, for scripts/build-web (which builds without trunk).
//
//   node scripts/lib/make-index.mjs --root ROOT --stage STAGE --dist DIST
//
// STAGE holds wasm-bindgen's output (jetsim-web.js, jetsim-web_bg.wasm and,
// if any, snippets/). Handles the data-trunk rels index.html uses: css,
// copy-dir, copy-file, rust. Anything else fails loudly: teach this file
// before using it in index.html.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { root: { type: 'string' }, stage: { type: 'string' }, dist: { type: 'string' } },
});
for (const k of ['root', 'stage', 'dist']) {
  if (!args[k]) throw new Error(`missing --${k}`);
}

const trunkToml = readFileSync(join(args.root, 'Trunk.toml'), 'utf8');
const publicUrl = /^\s*public_url\s*=\s*"([^"]*)"/m.exec(trunkToml)?.[1] || '/';
const base = publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`;

const digest = (buf, alg, enc) => createHash(alg).update(buf).digest(enc);
const fileHash = (buf) => digest(buf, 'sha256', 'hex').slice(0, 16);
const sri = (buf) => `sha384-${digest(buf, 'sha384', 'base64')}`;

const parseAttrs = (tag) => {
  const attrs = {};
  for (const m of tag.matchAll(/([\w:-]+)(?:\s*=\s*"([^"]*)")?/g)) {
    if (m[1] !== 'link') attrs[m[1]] = m[2] ?? '';
  }
  return attrs;
};

mkdirSync(args.dist, { recursive: true });
const headExtra = [];
let sawRust = false;
let html = readFileSync(join(args.root, 'index.html'), 'utf8');

html = html.replace(/<link\s+data-trunk\b[^>]*>/g, (tag) => {
  const a = parseAttrs(tag);
  switch (a.rel) {
    case 'css': {
      const src = join(args.root, a.href);
      const buf = readFileSync(src);
      const name = `${basename(src, extname(src))}-${fileHash(buf)}${extname(src)}`;
      writeFileSync(join(args.dist, name), buf);
      return `<link rel="stylesheet" href="${base}${name}" integrity="${sri(buf)}"/>`;
    }
    case 'copy-dir':
    case 'copy-file': {
      const src = join(args.root, a.href);
      const dest = join(args.dist, a['data-target-path'] ?? basename(src));
      cpSync(src, dest, { recursive: true });
      return '';
    }
    case 'rust': {
      if (sawRust) throw new Error('more than one data-trunk rel="rust" link');
      sawRust = true;
      const wasm = readFileSync(join(args.stage, 'jetsim-web_bg.wasm'));
      const js = readFileSync(join(args.stage, 'jetsim-web.js'));
      const h = fileHash(wasm);
      const jsName = `jetsim-web-${h}.js`;
      const wasmName = `jetsim-web-${h}_bg.wasm`;
      writeFileSync(join(args.dist, jsName), js);
      writeFileSync(join(args.dist, wasmName), wasm);
      if (existsSync(join(args.stage, 'snippets'))) {
        cpSync(join(args.stage, 'snippets'), join(args.dist, 'snippets'), { recursive: true });
      }
      headExtra.push(
        `<link rel="modulepreload" href="${base}${jsName}" crossorigin="anonymous" integrity="${sri(js)}">`,
        `<link rel="preload" href="${base}${wasmName}" crossorigin="anonymous" integrity="${sri(wasm)}" as="fetch" type="application/wasm">`,
      );
      // trunk's default initializer (src/pipelines/rust/output.rs, wasm-bindgen >= 0.2.93).
      return [
        '<script type="module">',
        `import init, * as bindings from '${base}${jsName}';`,
        `const wasm = await init({ module_or_path: '${base}${wasmName}' });`,
        'window.wasmBindings = bindings;',
        'dispatchEvent(new CustomEvent("TrunkApplicationStarted", {detail: {wasm}}));',
        '</script>',
      ].join('\n');
    }
    default:
      throw new Error(`scripts/lib/make-index.mjs does not handle ${tag}`);
  }
});

if (!sawRust) throw new Error('index.html has no <link data-trunk rel="rust">');
if (!html.includes('</head>')) throw new Error('index.html has no </head>');
html = html.replace('</head>', `${headExtra.join('\n')}\n</head>`);
writeFileSync(join(args.dist, 'index.html'), html);
console.error(`    wrote ${join(args.dist, 'index.html')} (public_url ${base})`);
