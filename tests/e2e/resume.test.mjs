// Large files go up in parts through resumable upload sessions. The registry is killed in the
// middle of an upload and comes back a moment later: the page carries on by itself and does
// not send again the parts the registry already held. Then a page reload in the middle of an
// upload: dropping the same file again skips hashing (its digest was kept in IndexedDB) and
// resumes the session. Env: see harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { TOKEN, launch, startRegistry } from './harness.mjs';

const MIB = 1 << 20;
const SIZE = 320 * MIB; // 20 parts of 16 MiB

const api = (base, p) => fetch(`${base}/api/v1/projects/ent/proj${p}`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.json());

// a sparse file with a distinct byte pattern every 8 MiB (different per seed)
function bigFile(dir, name, seed) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, SIZE);
  const fd = fs.openSync(file, 'r+');
  for (let at = 0; at < SIZE; at += 8 * MIB) fs.writeSync(fd, Buffer.alloc(4096, (at / MIB + seed) & 0xff), 0, 4096, at);
  fs.closeSync(fd);
  return file;
}

const sha256 = (file) => 'sha256:' + createHash('sha256').update(fs.readFileSync(file)).digest('hex');

// parts answered 200, and every part PUT sent, with the phase it was sent in
function watchParts(page, phase) {
  const done = new Set();
  const sent = [];
  const part = (url) => url.match(/\/uploads\/[0-9a-f]{32}\/parts\/(\d+)$/);
  page.on('request', (req) => {
    const m = part(req.url());
    if (m && req.method() === 'PUT') sent.push({ n: Number(m[1]), phase: phase.now });
  });
  page.on('requestfinished', async (req) => {
    const m = part(req.url());
    if (m && req.method() === 'PUT' && (await req.response())?.status() === 200) done.add(Number(m[1]));
  });
  return { done, sent };
}

async function until(what, check) {
  for (let i = 0; i < 6000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// returns the hashing line once the file is staged ("0.0 / 0.0 MB …" when nothing was hashed)
async function startUpload(page, base, name, file) {
  await page.goto(`${base}/ent/proj/new#token=${TOKEN}`);
  await page.getByTestId('artifact-name').fill(name);
  await page.getByTestId('artifact-type').fill('dataset');
  await page.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles(file);
  await page.getByText('1 files').or(page.getByText('1 file')).first().waitFor({ timeout: 120000 });
  const hashing = await page.getByTestId('hash-progress').innerText();
  await page.getByTestId('commit-button').click();
  return hashing;
}

test('a large upload resumes after the registry restarts and after a page reload', { timeout: 600000 }, async () => {
  const reg = await startRegistry();
  const browser = await launch();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-resume-'));
  try {
    // 1. the registry is killed mid-upload and back 1.5 s later
    const page = await browser.newPage();
    const phase = { now: 'before' };
    const parts = watchParts(page, phase);
    const first = bigFile(dir, 'first.bin', 1);
    await startUpload(page, reg.base, 'first', first);
    await until('3 parts stored', () => parts.done.size >= 3);
    phase.now = 'down';
    const held = new Set(parts.done);
    console.log(`registry killed with ${held.size} of 20 parts stored`);
    await reg.restart(1500);
    phase.now = 'after';
    await page.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor({ timeout: 300000 });
    const v0 = await api(reg.base, '/artifacts/first/versions/v0/manifest');
    assert.equal(v0.contents['first.bin'].digest, sha256(first));
    const again = parts.sent.filter((s) => s.phase === 'after' && held.has(s.n)).map((s) => s.n);
    assert.deepEqual(again, [], `parts ${[...held]} were held, yet sent again after the restart`);
    assert.ok(parts.sent.some((s) => s.phase === 'after'), 'nothing was sent after the restart');

    // 2. the page reloads mid-upload; dropping the same file again resumes the session
    const second = bigFile(dir, 'second.bin', 2);
    const page2 = await browser.newPage();
    const phase2 = { now: 'before' };
    const parts2 = watchParts(page2, phase2);
    assert.match(await startUpload(page2, reg.base, 'second', second), /335\.5 \/ 335\.5 MB/);
    await until('3 parts stored', () => parts2.done.size >= 3);
    const held2 = new Set(parts2.done);
    console.log(`page reloaded with ${held2.size} of 20 parts stored`);
    phase2.now = 'after';
    await page2.reload();
    // the same file again: its digest comes from IndexedDB (nothing hashed), its parts from the
    // session the registry kept
    assert.match(await startUpload(page2, reg.base, 'second', second), /0\.0 \/ 0\.0 MB/);
    await page2.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor({ timeout: 300000 });
    const v0b = await api(reg.base, '/artifacts/second/versions/v0/manifest');
    assert.equal(v0b.contents['second.bin'].digest, sha256(second));
    const resent = parts2.sent.filter((s) => s.phase === 'after' && held2.has(s.n)).map((s) => s.n);
    assert.deepEqual(resent, [], `parts ${[...held2]} were held, yet sent again after the reload`);
    // no session is left behind
    assert.equal(fs.readdirSync(path.join(reg.data, 'blobs', 'uploads')).filter((d) => d !== 'index').length, 0);
  } finally {
    await browser.close();
    await reg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
