// Large files go up as chunks in packs of 32 MiB, two at a time. The registry is killed in the
// middle of an upload and comes back a moment later: the page carries on by itself and does not
// send again the packs the registry acknowledged. Then a page reload in the middle of an upload:
// dropping the same file again skips hashing (its digest and chunks were kept in IndexedDB) and
// the registry is offered the packs already sent (kept in IndexedDB too), so only the rest goes
// up. Env: see harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { TOKEN, countingProxy, launch, startRegistry } from './harness.mjs';

const MIB = 1 << 20;
const SIZE = 320 * MIB; // 10 packs

const api = (base, p) => fetch(`${base}/api/v1/projects/ent/proj${p}`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.json());

// random bytes (chunks that do not repeat), and their digest
function bigFile(dir, name) {
  const file = path.join(dir, name);
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  for (let at = 0; at < SIZE; at += 32 * MIB) {
    const piece = crypto.randomBytes(32 * MIB);
    h.update(piece);
    fs.writeSync(fd, piece);
  }
  fs.closeSync(fd);
  return { file, digest: 'sha256:' + h.digest('hex') };
}

// wait until the page's IndexedDB notes every one of `packs` for project ent/proj
async function waitNoted(page, packs) {
  for (let i = 0; i < 600; i++) {
    const noted = await page.evaluate(() => new Promise((resolve) => {
      const open = indexedDB.open('cairn');
      open.onerror = () => resolve([]);
      open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains('packs')) { db.close(); resolve([]); return; }
        const get = db.transaction('packs').objectStore('packs').get('ent/proj');
        get.onsuccess = () => { db.close(); resolve(get.result ?? []); };
        get.onerror = () => { db.close(); resolve([]); };
      };
    }));
    if (packs.every((p) => noted.includes(p))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out waiting for the page to note its packs in IndexedDB');
}

async function until(what, check) {
  for (let i = 0; i < 6000; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// returns the hashing line once the file is staged ("0 B / 0 B …" when nothing was hashed)
async function startUpload(page, base, name, file) {
  await page.goto(`${base}/ent/proj/new#token=${TOKEN}`);
  await page.getByTestId('artifact-name').fill(name);
  await page.getByTestId('artifact-type').fill('dataset');
  await page.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles(file);
  await page.getByTestId('stage-summary').filter({ hasText: /^1 file ·/ }).waitFor({ timeout: 120000 });
  const hashing = await page.getByTestId('hash-progress').innerText();
  await page.getByTestId('commit-button').click();
  return hashing;
}

test('a large upload resumes after the registry restarts and after a page reload', { timeout: 600000 }, async () => {
  const reg = await startRegistry();
  // the page talks to the registry through a proxy that counts what it sends
  const proxy = await countingProxy(reg.base);
  const { tally } = proxy;
  const acked = (phase) => tally.packs.filter((p) => p.phase === phase);
  const browser = await launch();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-resume-'));
  try {
    // 1. the registry is killed mid-upload and back 1.5 s later
    const page = await browser.newPage();
    const first = bigFile(dir, 'first.bin');
    tally.phase = 'first';
    await startUpload(page, proxy.base, 'first', first.file);
    await until('2 packs stored', () => acked('first').length >= 2);
    tally.phase = 'restarted';
    const held = new Set(acked('first').map((a) => a.pack));
    console.log(`registry killed with ${held.size} of 10 packs stored`);
    await reg.restart(1500);
    await page.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor({ timeout: 300000 });
    const v0 = await api(reg.base, '/artifacts/first/versions/v0/manifest');
    assert.equal(v0.contents['first.bin'].digest, first.digest);
    const again = acked('restarted').filter((a) => held.has(a.pack));
    assert.deepEqual(again, [], 'packs the registry held were sent again after the restart');
    assert.ok(acked('restarted').length > 0, 'nothing was sent after the restart');

    // 2. the page reloads mid-upload; dropping the same file again sends only what is missing
    const second = bigFile(dir, 'second.bin');
    const page2 = await browser.newPage();
    tally.phase = 'second';
    assert.match(await startUpload(page2, proxy.base, 'second', second.file), /320\.0 MiB \/ 320\.0 MiB/);
    await until('3 packs stored', () => acked('second').length >= 3);
    tally.phase = 'going';
    const heldPacks = acked('second');
    const heldBytes = heldPacks.reduce((n, a) => n + a.bytes, 0);
    // the page notes a pack in IndexedDB once the registry acknowledged it: reload once the ones
    // acknowledged so far are noted (a pack acknowledged after this may or may not be, and is not
    // counted as held)
    await waitNoted(page2, heldPacks.map((a) => a.pack));
    console.log(`page reloaded with ${heldPacks.length} of 10 packs stored`);
    await page2.reload();
    // what the page sent before it went away is not counted below (its last packs were cut)
    tally.phase = 'reloaded';
    // the same file again: its digest and chunks come from IndexedDB (nothing hashed)
    assert.match(await startUpload(page2, proxy.base, 'second', second.file), /0 B \/ 0 B/);
    await page2.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor({ timeout: 300000 });
    const v0b = await api(reg.base, '/artifacts/second/versions/v0/manifest');
    assert.equal(v0b.contents['second.bin'].digest, second.digest);
    // no chunk of the held packs is sent again: the packs sent after the reload carry at most
    // the rest of the file; around them only chunk lists (a few hundred KiB each)
    const packBytes = acked('reloaded').reduce((n, a) => n + a.bytes, 0);
    const after = tally.bytes.reloaded ?? 0;
    console.log(`after the reload: ${(packBytes / MIB).toFixed(1)} MiB in packs, ${(after / MIB).toFixed(1)} MiB sent in all (${(heldBytes / MIB).toFixed(1)} MiB were held)`);
    assert.ok(packBytes <= SIZE - heldBytes, `${packBytes} bytes in packs after the reload; ${heldBytes} of ${SIZE} were held`);
    assert.ok(after <= packBytes + 4 * MIB, `${after} bytes sent after the reload, ${packBytes} of them in packs`);
    assert.ok(after > 0, 'nothing was sent after the reload');
  } finally {
    await browser.close();
    proxy.close();
    await reg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
