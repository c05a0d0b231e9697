// Browser hashing benchmark (issue 5), in Debian's headless Chromium against the app served by a
// real `cairn serve`: SHA-256 of the same files by Cairn's wasm hashing (1 and N Web Workers, and
// on the page) vs hash-wasm (npm, on the page, 8 MiB slices) vs WebCrypto `subtle.digest` (whole
// file in memory: it cannot stream). Datasets: one file of BENCH_GIB GiB (default 1) and 1,000
// files of 1 MiB (random bytes); page memory (RSS of all Chromium processes) while hashing a
// 4 GiB file. Every contender's digests must agree. Prints a Markdown table.
// Env: CAIRN_BIN, CAIRN_DIST, CHROMIUM as for app.test.mjs; BENCH_GIB, BENCH_REPS (default 3).
import { execFileSync, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const GIB = Number(process.env.BENCH_GIB ?? 1);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CORES = os.availableParallelism();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function writeRandom(file, bytes) {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(Math.min(bytes, 8 << 20));
  for (let done = 0; done < bytes; done += chunk.length) {
    const n = Math.min(chunk.length, bytes - done);
    randomFillSync(chunk, 0, n);
    fs.writeSync(fd, chunk, 0, n);
  }
  fs.closeSync(fd);
}

// total RSS (bytes) of every Chromium process started by this script
function chromiumRss() {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,rss=,comm=']).toString().trim().split('\n')
    .map((l) => l.trim().split(/\s+/)).map(([pid, ppid, rss, comm]) => ({ pid: +pid, ppid: +ppid, rss: +rss, comm }));
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of rows) if (mine.has(r.ppid) && !mine.has(r.pid)) { mine.add(r.pid); grew = true; }
  }
  return rows.filter((r) => mine.has(r.pid) && /chrom/i.test(r.comm)).reduce((s, r) => s + r.rss * 1024, 0);
}

// run `fn` while sampling Chromium's RSS every 200 ms; answers [result, peak RSS above `base`]
async function sampled(fn) {
  const base = chromiumRss();
  let peak = base;
  const timer = setInterval(() => { peak = Math.max(peak, chromiumRss()); }, 200);
  try { return [await fn(), peak - base]; } finally { clearInterval(timer); }
}

const contenders = {
  [`cairn wasm, 1 worker`]: ({ id }) => window.wasmBindings.bench_hash([...document.getElementById(id).files], 1),
  [`cairn wasm, ${CORES} workers`]: ({ id, cores }) => window.wasmBindings.bench_hash([...document.getElementById(id).files], cores),
  'cairn wasm, on the page': ({ id }) => window.wasmBindings.bench_hash([...document.getElementById(id).files], 0),
  'hash-wasm, on the page': async ({ id }) => {
    const files = [...document.getElementById(id).files];
    const h = await hashwasm.createSHA256();
    const t0 = performance.now();
    const digests = [];
    for (const f of files) {
      h.init();
      for (let off = 0; off < f.size; off += 8 << 20) h.update(new Uint8Array(await f.slice(off, off + (8 << 20)).arrayBuffer()));
      digests.push('sha256:' + h.digest('hex'));
    }
    return { ms: performance.now() - t0, digests };
  },
  'WebCrypto subtle.digest (whole file in memory)': async ({ id }) => {
    const files = [...document.getElementById(id).files];
    const t0 = performance.now();
    const digests = [];
    for (const f of files) {
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.arrayBuffer()));
      digests.push('sha256:' + [...d].map((b) => b.toString(16).padStart(2, '0')).join(''));
    }
    return { ms: performance.now() - t0, digests };
  },
};

const port = await freePort();
const proc = spawn(process.env.CAIRN_BIN ?? '../../target/debug/cairn',
  ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', path.join(work, 'data'), '--web-dir', process.env.CAIRN_DIST ?? '../../dist'],
  { env: { ...process.env, CAIRN_ADMIN_TOKEN: 'bench' }, stdio: 'ignore' });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const one = path.join(work, 'one.bin');
  writeRandom(one, GIB * 2 ** 30);
  fs.mkdirSync(path.join(work, 'many'));
  const many = [];
  for (let i = 0; i < 1000; i++) { const f = path.join(work, 'many', `f${i}.bin`); writeRandom(f, 1 << 20); many.push(f); }
  const huge = path.join(work, 'huge.bin');
  fs.writeFileSync(huge, '');
  fs.truncateSync(huge, 4 * 2 ** 30); // sparse zeros: the same work for SHA-256, no disk

  // the benchmark injects hash-wasm as an inline script, which the app's CSP forbids
  const page = await browser.newPage({ bypassCSP: true });
  for (let i = 0; i < 100; i++) {
    try { await page.goto(`http://127.0.0.1:${port}/`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  await page.waitForFunction(() => window.wasmBindings?.bench_hash);
  await page.addScriptTag({ path: path.resolve('node_modules/hash-wasm/dist/sha256.umd.min.js') });
  await page.evaluate(() => {
    for (const id of ['one', 'many', 'huge']) {
      const input = Object.assign(document.createElement('input'), { type: 'file', multiple: true, id });
      document.body.append(input);
    }
  });
  await page.setInputFiles('#one', one);
  await page.setInputFiles('#many', many);
  await page.setInputFiles('#huge', huge);

  const rows = [];
  for (const [data, id, bytes] of [[`1 × ${GIB} GiB`, 'one', GIB * 2 ** 30], ['1,000 × 1 MiB', 'many', 1000 * 2 ** 20]]) {
    let expected;
    for (const [name, fn] of Object.entries(contenders).filter(([n]) => new RegExp(process.env.BENCH_ONLY ?? '').test(n))) {
      const times = [];
      let peak = 0;
      let failed = null;
      for (let r = 0; r < REPS && !failed; r++) {
        let out, rss;
        try {
          [out, rss] = await sampled(() => page.evaluate(fn, { id, cores: CORES }));
        } catch (e) {
          // e.g. WebCrypto on a 2 GiB file: it needs the whole file in one ArrayBuffer
          failed = String(e.message ?? e).split('\n')[0].replace(/^page\.evaluate: /, '');
          break;
        }
        expected ??= out.digests;
        if (JSON.stringify(out.digests) !== JSON.stringify(expected)) throw new Error(`${name} disagrees on ${data}`);
        times.push(out.ms);
        peak = Math.max(peak, rss);
      }
      if (failed) {
        rows.push([data, name, 'fails', failed, '-']);
        continue;
      }
      times.sort((a, b) => a - b);
      const ms = times[Math.floor(times.length / 2)];
      rows.push([data, name, (ms / 1000).toFixed(2), (bytes / 1e6 / (ms / 1000)).toFixed(0), (peak / 2 ** 20).toFixed(0)]);
    }
  }
  const [hugeOut, hugeRss] = await sampled(() => page.evaluate(contenders[`cairn wasm, ${CORES} workers`], { id: 'huge', cores: CORES }));
  rows.push(['1 × 4 GiB (memory)', `cairn wasm, ${CORES} workers`, (hugeOut.ms / 1000).toFixed(2), (4 * 2 ** 30 / 1e6 / (hugeOut.ms / 1000)).toFixed(0), (hugeRss / 2 ** 20).toFixed(0)]);

  const version = execFileSync(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--version']).toString().trim();
  console.log(`\n${version}, ${CORES} cores, median of ${REPS} runs (the 4 GiB run: one)\n`);
  console.log('| data | hasher | seconds | MB/s | peak Chromium RSS growth (MiB) |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  await browser.close();
  proc.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
