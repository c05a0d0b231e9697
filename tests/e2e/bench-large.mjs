// Benchmark (issue 7): the web app uploads one large file (default 10 GiB) through a resumable
// upload session — hashed in a Web Worker, sent in 16 MiB parts — to a `cairn serve` on
// loopback. Prints hashing and upload time, throughput, the peak RSS of the busiest Chromium
// process and of all of them together (sampled every 200 ms from /proc), and the registry's.
// Usage (from tests/e2e): CAIRN_BIN=../../target/release/cairn CAIRN_DIST=../../dist node bench-large.mjs [GIB]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TOKEN, launch, startRegistry } from './harness.mjs';

const GIB = Number(process.argv[2] ?? 10);
const SIZE = GIB * 2 ** 30;

function rssKib(pid) {
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

function chromiumPids() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try { return /chrom/.test(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')); } catch { return false; }
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-large-'));
const file = path.join(dir, 'big.bin');
fs.writeFileSync(file, '');
fs.truncateSync(file, SIZE);
const fd = fs.openSync(file, 'r+');
for (let at = 0; at < SIZE; at += 8 * 2 ** 20) fs.writeSync(fd, Buffer.alloc(4096, (at / 2 ** 20) & 0xff), 0, 4096, at);
fs.closeSync(fd);

const reg = await startRegistry();
const browser = await launch();
let peakOne = 0;
let peakAll = 0;
const sampler = setInterval(() => {
  const rss = chromiumPids().map(rssKib);
  peakOne = Math.max(peakOne, ...rss);
  peakAll = Math.max(peakAll, rss.reduce((a, b) => a + b, 0));
}, 200);
try {
  const page = await browser.newPage();
  await page.goto(`${reg.base}/ent/proj/new#token=${TOKEN}`);
  await page.getByTestId('artifact-name').fill('big');
  await page.getByTestId('artifact-type').fill('dataset');
  // Chromium's own footprint with the app loaded, before any file
  await new Promise((r) => setTimeout(r, 1000));
  const idle = chromiumPids().map(rssKib);
  const [idleOne, idleAll] = [Math.max(...idle), idle.reduce((a, b) => a + b, 0)];
  const t0 = performance.now();
  await page.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles(file);
  await page.getByTestId('stage-summary').filter({ hasText: /^1 file ·/ }).waitFor({ timeout: 3600000 });
  const t1 = performance.now();
  await page.getByTestId('commit-button').click();
  await page.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor({ timeout: 3600000 });
  const t2 = performance.now();
  const server = Number(fs.readFileSync(`/proc/${reg.pid()}/status`, 'utf8').match(/VmHWM:\s+(\d+)/)[1]);
  const mb = SIZE / 1e6;
  const [hash, upload] = [(t1 - t0) / 1000, (t2 - t1) / 1000];
  console.log(`${GIB} GiB file in headless Chromium (\`node bench-large.mjs ${GIB}\`)\n`);
  console.log('| phase | wall | throughput |');
  console.log('|---|---|---|');
  console.log(`| hashing (one Web Worker) | ${hash.toFixed(1)} s | ${(mb / hash).toFixed(0)} MB/s |`);
  console.log(`| upload in parts + registry verification | ${upload.toFixed(1)} s | ${(mb / upload).toFixed(0)} MB/s |`);
  console.log(`| total | ${(hash + upload).toFixed(1)} s | ${(mb / (hash + upload)).toFixed(0)} MB/s |`);
  const mib = (kib) => (kib / 1024).toFixed(0);
  console.log(`\npeak RSS: busiest Chromium process ${mib(peakOne)} MiB (${mib(idleOne)} MiB with the app loaded, before the file), all Chromium processes ${mib(peakAll)} MiB (${mib(idleAll)} MiB before), cairn serve ${mib(server)} MiB`);
} finally {
  clearInterval(sampler);
  await browser.close();
  await reg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(reg.data, { recursive: true, force: true });
}
