// Benchmark (issue 17): dataset A — 10,000 files of 4 KiB — dropped as a folder in the web app on
// a fresh project, against `cairn put` of the same folder from the CLI, into the same `cairn
// serve` on loopback, in one run. Target: the web app within 1.5× the CLI. Prints a Markdown
// table for BENCHMARKS.md.
// Usage (from tests/e2e): CAIRN_BIN=../../target/release/cairn CAIRN_DIST=../../dist node bench-drop.mjs [FILES] [REPS]
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TOKEN, launch, startRegistry } from './harness.mjs';

const FILES = Number(process.argv[2] ?? 10000);
const REPS = Number(process.argv[3] ?? 3);
const BIN = process.env.CAIRN_BIN ?? '../../target/release/cairn';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-drop-'));
const folder = path.join(dir, 'A');
for (let i = 0; i < FILES; i++) {
  const sub = path.join(folder, `d${String(i % 100).padStart(2, '0')}`);
  if (i < 100) fs.mkdirSync(sub, { recursive: true });
  fs.writeFileSync(path.join(sub, `f${i}.bin`), crypto.randomBytes(4096));
}

const reg = await startRegistry();
const browser = await launch();
const rows = [];
try {
  for (let rep = 0; rep < REPS; rep++) {
    // the CLI, on a fresh project
    let t = performance.now();
    execFileSync(BIN, ['put', folder, '--name', 'a', '--type', 'dataset'], {
      env: { ...process.env, CAIRN_HOST: reg.base, CAIRN_TOKEN: TOKEN, CAIRN_ENTITY: 'ent', CAIRN_PROJECT: `cli${rep}`, CAIRN_CONFIG: path.join(dir, 'none.json'), CAIRN_STAT_CACHE: 'off', CAIRN_SILENT: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const cli = (performance.now() - t) / 1000;

    // the web app, on another fresh project: the folder dropped, hashed, committed
    const page = await browser.newPage();
    await page.goto(`${reg.base}/ent/web${rep}/new#token=${TOKEN}`);
    await page.getByTestId('artifact-name').fill('a');
    await page.getByTestId('artifact-type').fill('dataset');
    const input = page.getByTestId('drop-zone').locator('input[type=file]').nth(1);
    t = performance.now();
    await input.setInputFiles(folder);
    const given = (performance.now() - t) / 1000;
    await page.getByTestId('stage-summary').filter({ hasText: `${FILES} files ·` }).waitFor({ timeout: 600000 });
    const hashed = (performance.now() - t) / 1000;
    await page.getByTestId('commit-button').click();
    await page.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor({ timeout: 600000 });
    const web = (performance.now() - t) / 1000;
    await page.close();
    rows.push({ cli, web, hashed, given });
    console.error(`rep ${rep}: cli ${cli.toFixed(2)} s, web ${web.toFixed(2)} s (files handed to the page after ${given.toFixed(2)} s, staged after ${hashed.toFixed(2)} s)`);
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [cli, web, hashed] = ['cli', 'web', 'hashed'].map((k) => median(rows.map((r) => r[k])));
  console.log(`${FILES} × 4 KiB, fresh project each time, median of ${REPS} (\`node bench-drop.mjs ${FILES} ${REPS}\`)\n`);
  console.log('| client | wall | of which staged (files read, hashed, chunked) |');
  console.log('|---|---:|---:|');
  console.log(`| \`cairn put\` (CLI, stat cache off) | ${cli.toFixed(2)} s | |`);
  console.log(`| web app, folder dropped | ${web.toFixed(2)} s | ${hashed.toFixed(2)} s |`);
  console.log(`\nweb ÷ CLI: ${(web / cli).toFixed(2)}× (target ≤ 1.5×)`);
} finally {
  await browser.close();
  await reg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
