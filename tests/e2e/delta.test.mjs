// Chunks in the browser: a large file dropped on a fresh project goes up in packs; then a draft
// replacing it with an edited copy (1 MiB overwritten in the middle) sends only about the
// change — every request body the page sends is counted (by a proxy in front of the registry). CAIRN_E2E_DELTA_MIB sets the file's
// size (256 MiB by default; the benchmark runs 2048). Env: see harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TOKEN, countingProxy, launch, startRegistry } from './harness.mjs';

const MIB = 1 << 20;
const SIZE = Number(process.env.CAIRN_E2E_DELTA_MIB ?? 256) * MIB;

const api = (base, p) => fetch(`${base}/api/v1/projects/ent/proj${p}`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.json());

// random bytes, written 64 MiB at a time (a file the chunker cannot shrink)
function randomFile(file, size) {
  const fd = fs.openSync(file, 'w');
  for (let at = 0; at < size; at += 64 * MIB) fs.writeSync(fd, crypto.randomBytes(Math.min(64 * MIB, size - at)));
  fs.closeSync(fd);
}

function sha256(file) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(16 * MIB);
  for (let n; (n = fs.readSync(fd, buf)) > 0;) h.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return 'sha256:' + h.digest('hex');
}

test('a draft replacing a large file with an edited copy sends only about the change', { timeout: 600000 }, async () => {
  const reg = await startRegistry();
  // the page talks to the registry through a proxy that counts every byte it sends
  const proxy = await countingProxy(reg.base);
  const browser = await launch();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-delta-'));
  try {
    const v0file = path.join(dir, 'v0', 'big.bin');
    const v1file = path.join(dir, 'v1', 'big.bin');
    fs.mkdirSync(path.dirname(v0file));
    fs.mkdirSync(path.dirname(v1file));
    randomFile(v0file, SIZE);
    fs.copyFileSync(v0file, v1file);
    const fd = fs.openSync(v1file, 'r+');
    fs.writeSync(fd, crypto.randomBytes(MIB), 0, MIB, SIZE / 2 + 12345);
    fs.closeSync(fd);

    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${proxy.base}/ent/proj/new#token=${TOKEN}`);
    await page.getByTestId('artifact-name').fill('big');
    await page.getByTestId('artifact-type').fill('model');
    await page.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles(v0file);
    await page.getByTestId('stage-summary').filter({ hasText: /^1 file ·/ }).waitFor({ timeout: 300000 });
    const { tally } = proxy;
    tally.phase = 'v0';
    let t = Date.now();
    await page.getByTestId('commit-button').click();
    await page.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor({ timeout: 300000 });
    const packs = (phase) => tally.packs.filter((p) => p.phase === phase).length;
    console.log(`v0: ${(tally.bytes.v0 / MIB).toFixed(1)} MiB sent in ${packs('v0')} packs, ${Date.now() - t} ms`);
    assert.ok(packs('v0') >= SIZE / (64 * MIB), `${packs('v0')} packs`);
    assert.ok(tally.bytes.v0 >= SIZE && tally.bytes.v0 < SIZE * 1.01, `${tally.bytes.v0} bytes for ${SIZE}`);
    // the file sent whole went as one stream the registry hashed as it arrived: every pack names
    // the same stream and starts where the ones before it end
    const v0packs = tally.packs.filter((p) => p.phase === 'v0').sort((a, b) => Number(a.at) - Number(b.at));
    assert.match(v0packs[0].stream ?? '', /^[0-9a-f]{64}$/);
    let at = 0;
    for (const p of v0packs) {
      assert.equal(p.stream, v0packs[0].stream);
      assert.equal(Number(p.at), at);
      at += p.bytes;
    }
    assert.equal(at, SIZE);

    await page.goto(`${proxy.base}/ent/proj/big/latest/draft`);
    await page.getByTestId('diff-summary').filter({ hasText: '1 unchanged' }).waitFor();
    await page.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles(v1file);
    await page.getByTestId('diff-summary').filter({ hasText: '1 modified' }).waitFor({ timeout: 300000 });
    tally.phase = 'v1';
    t = Date.now();
    await page.getByTestId('commit-button').click();
    await page.getByTestId('version-label').filter({ hasText: 'v1' }).waitFor({ timeout: 300000 });
    const shown = await page.getByTestId('commit-result').innerText();
    // "Hashed 256.0 MiB · sent 1.1 MiB · 255.0 MiB already on the registry"
    const said = shown.match(/^Hashed [0-9.]+ MiB · sent ([0-9.]+) (KiB|MiB) · [0-9.]+ MiB already on the registry$/);
    assert.ok(said, shown);
    assert.ok(Number(said[1]) * (said[2] === 'MiB' ? MIB : 1024) <= 3 * MIB, shown);
    console.log(`v1: ${(tally.bytes.v1 / MIB).toFixed(2)} MiB sent in ${packs('v1')} packs, ${Date.now() - t} ms; "${shown}"`);
    assert.ok(tally.bytes.v1 <= 3 * MIB, `${tally.bytes.v1} bytes sent for a 1 MiB change`);
    const v1 = await api(reg.base, '/artifacts/big/versions/v1/manifest');
    assert.equal(v1.contents['big.bin'].digest, sha256(v1file));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    proxy.close();
    await reg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
