// Chunker v1 in wasm (issue 17), in Debian's headless Chromium on the app served by a real
// `cairn serve`: the same random bytes (in memory) through hash-wasm's SHA-256 (the named
// baseline) and Cairn's wasm SHA-256, chunker splitter and whole chunker, plus BLAKE3 vs SHA-256
// per chunk over the same boundaries. Prints a Markdown table. Env: CAIRN_BIN, CAIRN_DIST,
// CHROMIUM as for app.test.mjs; BENCH_MIB (default 256), BENCH_REPS (default 3).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const MIB = Number(process.env.BENCH_MIB ?? 256);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-chunker-'));
const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const proc = spawn(process.env.CAIRN_BIN ?? '../../target/debug/cairn',
  ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', path.join(work, 'data'), '--web-dir', process.env.CAIRN_DIST ?? '../../dist'],
  { env: { ...process.env, CAIRN_ADMIN_TOKEN: 'bench' }, stdio: 'ignore' });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ bypassCSP: true });
  for (let i = 0; i < 100; i++) {
    try { await page.goto(`http://127.0.0.1:${port}/`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  await page.waitForFunction(() => window.wasmBindings?.bench_chunker);
  await page.addScriptTag({ path: path.resolve('node_modules/hash-wasm/dist/sha256.umd.min.js') });
  const runs = [];
  for (let r = 0; r < REPS; r++) {
    runs.push(await page.evaluate(async (mib) => {
      const data = new Uint8Array(mib << 20);
      for (let off = 0; off < data.length; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
      const h = await hashwasm.createSHA256();
      const t0 = performance.now();
      h.init();
      for (let off = 0; off < data.length; off += 1 << 20) h.update(data.subarray(off, off + (1 << 20)));
      h.digest('hex');
      const hashwasmMs = performance.now() - t0;
      return { hashwasm: hashwasmMs, ...window.wasmBindings.bench_chunker(data) };
    }, MIB));
  }
  const median = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const rate = (ms) => ((MIB << 20) / 1e6 / (ms / 1000)).toFixed(0);
  const base = median('hashwasm');
  const rows = [
    ['baseline: hash-wasm SHA-256', base],
    ['cairn wasm SHA-256 of the file', median('sha')],
    [`chunker v1 splitter: Gear + BLAKE3 per chunk (${runs[0].chunks} chunks)`, median('split')],
    ['chunker v1 whole: SHA-256 + Gear + BLAKE3 per chunk', median('chunker')],
    ['BLAKE3 per chunk alone (same boundaries)', median('blake3')],
    ['SHA-256 per chunk alone (same boundaries: the alternative)', median('sha_chunks')],
  ];
  const version = execFileSync(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--version']).toString().trim();
  console.log(`\n${version}, ${MIB} MiB in memory, on the page (one thread), median of ${REPS}\n`);
  console.log('| pass | MB/s | vs hash-wasm SHA-256 |');
  console.log('|---|---:|---:|');
  for (const [name, ms] of rows) console.log(`| ${name} | ${rate(ms)} | ${(base / ms).toFixed(2)}× |`);
} finally {
  await browser.close();
  proc.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
