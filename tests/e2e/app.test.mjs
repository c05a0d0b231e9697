// End to end: the web app served by a real `cairn serve`, driven in Debian's headless Chromium.
// Creates v0 from a folder, opens it as a draft, replaces one file and removes a folder, commits
// v1, and checks through the API that v1 is right and that only the replaced blob was uploaded
// (the four small files of v0 in one pack, the replacement in a second).
// Env: see harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TOKEN, launch, sha, startRegistry, watchErrors } from './harness.mjs';

const SHOTS = path.resolve('shots');

function countFiles(dir) {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  }
  return n;
}

const api = (base, p) => fetch(`${base}/api/v1/projects/ent/proj${p}`, { headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.json());

test('create v0 from a folder, then a draft v1 that sends only the change', async () => {
  const reg = await startRegistry();
  const browser = await launch();
  const errors = [];
  try {
    fs.mkdirSync(SHOTS, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // the page runs under the registry's Content-Security-Policy: any violation fails the test
    watchErrors(page, errors);

    // a folder of files, some in a subfolder that the draft removes
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-src-'));
    const folder = path.join(root, 'photos');
    const files = { 'a.txt': 'alpha', 'sub/b.txt': 'beta', 'rm/c.txt': 'gamma', 'rm/deep/d.txt': 'delta' };
    for (const [rel, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(folder, rel)), { recursive: true });
      fs.writeFileSync(path.join(folder, rel), content);
    }

    // the token arrives in the fragment and leaves the address bar
    await page.goto(`${reg.base}/ent/proj/new#token=${TOKEN}`);
    await page.getByTestId('artifact-name').fill('photos');
    await page.getByTestId('artifact-type').fill('dataset');
    assert.ok(!page.url().includes('token='), page.url());
    await page.getByTestId('drop-zone').locator('input[type=file]').nth(1).setInputFiles(folder);
    await page.getByTestId('stage-summary').filter({ hasText: /^4 files ·/ }).waitFor();
    // the files were hashed on the Web Worker pool, not on the page
    assert.match(await page.getByTestId('hash-progress').innerText(), /hashing on [1-8] workers .*19 B \/ 19 B · /);
    await page.screenshot({ path: path.join(SHOTS, 'create.png') });
    await page.getByTestId('commit-button').click();
    await page.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor();
    // the progress lines collapse into what the commit took
    const result = await page.getByTestId('commit-result').innerText();
    console.log(`v0 result: ${result}`);
    assert.match(result, /^Hashed 19 B · sent 19 B$/);
    assert.equal(await page.getByTestId('hash-progress').count(), 0);
    const v0 = await api(reg.base, '/artifacts/photos/versions/v0/manifest');
    assert.deepEqual(Object.keys(v0.contents).sort(), ['photos/a.txt', 'photos/rm/c.txt', 'photos/rm/deep/d.txt', 'photos/sub/b.txt']);
    assert.equal(v0.contents['photos/sub/b.txt'].digest, sha('beta'));
    const packs = () => countFiles(path.join(reg.data, 'blobs', 'packs'));
    assert.equal(packs(), 1, 'four small files go up in one pack');
    assert.equal(countFiles(path.join(reg.data, 'blobs', 'blobs')), 0);

    // browse by clicks: projects, artifacts, versions, files; back up by the breadcrumbs
    await page.goto(`${reg.base}/`);
    await page.getByTestId('project-list').getByRole('link', { name: 'ent/proj', exact: true }).click();
    await page.getByTestId('project-usage').filter({ hasText: 'Holds 19 B in 4 blobs; no quota.' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'artifacts.png') });
    await page.getByRole('link', { name: 'photos', exact: true }).click();
    await page.getByRole('link', { name: 'v0', exact: true }).waitFor();
    assert.match(await page.getByRole('table').innerText(), /just now|minute/);
    await page.screenshot({ path: path.join(SHOTS, 'versions.png') });
    await page.getByRole('link', { name: 'v0', exact: true }).click();
    // the files as a folder tree (all open for a small version), and a filter listing matches flat
    await page.getByTestId('folder').filter({ hasText: 'sub/' }).waitFor();
    await page.getByTestId('file').filter({ hasText: 'b.txt' }).waitFor();
    await page.getByTestId('file-filter').fill('sub/b');
    await page.getByTestId('filter-count').filter({ hasText: '1 of 4 files match' }).waitFor();
    await page.getByText('photos/sub/b.txt').waitFor();
    await page.getByTestId('file-filter').fill('');
    await page.screenshot({ path: path.join(SHOTS, 'files.png') });
    // a download goes through a link that needs no token: the browser's download manager fetches
    // it (to disk), named by the registry
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'download photos/sub/b.txt', exact: true }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'b.txt');
    assert.equal(fs.readFileSync(await download.path(), 'utf8'), 'beta');
    assert.match(download.url(), /\/api\/v1\/links\/[^/]+$/);
    // the same link works from anywhere, with no token at all
    assert.equal(await (await fetch(download.url())).text(), 'beta');
    await page.getByTestId('crumbs').getByRole('link', { name: 'photos', exact: true }).click();
    await page.getByRole('link', { name: 'v0', exact: true }).waitFor();
    await page.getByTestId('crumbs').getByRole('link', { name: 'projects', exact: true }).click();
    await page.getByTestId('project-list').waitFor();

    // draft: replace photos/sub/b.txt, remove the folder photos/rm
    await page.goto(`${reg.base}/ent/proj/photos/latest/draft`);
    await page.getByTestId('diff-summary').filter({ hasText: '4 unchanged' }).waitFor();
    await page.getByPlaceholder('(root)').fill('photos/sub');
    await page.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles({ name: 'b.txt', mimeType: 'text/plain', buffer: Buffer.from('beta, fixed') });
    await page.getByTestId('diff-summary').filter({ hasText: '1 modified' }).waitFor();
    await page.getByTestId('remove-path').fill('photos/rm');
    await page.getByTestId('remove-button').click();
    await page.getByTestId('diff-summary').filter({ hasText: '0 added · 1 modified · 2 removed · 1 unchanged · 11 B to upload' }).waitFor();
    // undo per change: a removed file restored, then removed again
    await page.getByRole('button', { name: 'restore photos/rm/c.txt', exact: true }).click();
    await page.getByTestId('diff-summary').filter({ hasText: '0 added · 1 modified · 1 removed · 2 unchanged' }).waitFor();
    await page.getByRole('button', { name: 'remove photos/rm/c.txt', exact: true }).click();
    await page.getByTestId('diff-summary').filter({ hasText: '0 added · 1 modified · 2 removed · 1 unchanged · 11 B to upload' }).waitFor();
    // move a file (typed in its row: the same digest, nothing more to upload), then back
    const moveTo = async (from, to) => {
      await page.getByRole('button', { name: `move ${from}`, exact: true }).click();
      await page.getByTestId('move-to').fill(to);
      await page.getByTestId('move-to').press('Enter');
    };
    await moveTo('photos/a.txt', 'photos/docs/a.txt');
    await page.getByTestId('diff-summary').filter({ hasText: '1 added · 1 modified · 3 removed · 0 unchanged · 11 B to upload' }).waitFor();
    await moveTo('photos/docs/a.txt', 'photos/a.txt');
    await page.getByTestId('diff-summary').filter({ hasText: '0 added · 1 modified · 2 removed · 1 unchanged · 11 B to upload' }).waitFor();
    // a folder cannot go inside itself: said on its row, nothing changed; Escape leaves
    await moveTo('photos/sub', 'photos/sub/inner');
    await page.getByTestId('row-error').filter({ hasText: "cannot move 'photos/sub' to 'photos/sub/inner': a folder cannot go inside itself" }).waitFor();
    await page.getByTestId('move-to').press('Escape');
    await page.getByTestId('move-to').waitFor({ state: 'detached' });
    // a folder moved whole, its changes shown on its row, then each folder's changes undone
    await moveTo('photos/sub', 'photos/lib');
    await page.getByTestId('diff-summary').filter({ hasText: '1 added · 0 modified · 3 removed · 1 unchanged' }).waitFor();
    const folderRow = (name) => page.locator('.row').filter({ has: page.getByTestId('draft-folder').filter({ hasText: name }) });
    assert.equal(await folderRow('lib/').getByTestId('folder-changes').innerText(), '+1');
    assert.equal(await folderRow('photos/').getByTestId('folder-changes').innerText(), '+1 −3');
    await page.getByRole('button', { name: 'undo photos/lib', exact: true }).click();
    await page.getByRole('button', { name: 'undo photos/sub', exact: true }).click();
    await page.getByTestId('diff-summary').filter({ hasText: '0 added · 0 modified · 2 removed · 2 unchanged · 0 B to upload' }).waitFor();
    // a folder replaced by a picked folder: what it held and the new folder lacks goes
    const newsub = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-newsub-'));
    fs.mkdirSync(path.join(newsub, 'sub2'));
    fs.writeFileSync(path.join(newsub, 'sub2', 'b.txt'), 'beta, fixed');
    fs.writeFileSync(path.join(newsub, 'sub2', 'e.txt'), 'epsilon');
    await page.getByLabel('replace photos/sub with a folder').setInputFiles(path.join(newsub, 'sub2'));
    await page.getByTestId('diff-summary').filter({ hasText: '1 added · 1 modified · 2 removed · 1 unchanged · 18 B to upload' }).waitFor();
    fs.rmSync(newsub, { recursive: true, force: true });
    await page.getByTestId('changes-only').check();
    // only what changed: the unchanged a.txt leaves the list
    await page.locator('.row span.path').filter({ hasText: /^e\.txt$/ }).waitFor();
    assert.equal(await page.locator('.row span.path').filter({ hasText: /^a\.txt$/ }).count(), 0);
    await page.screenshot({ path: path.join(SHOTS, 'draft.png') });
    await page.getByTestId('commit-button').click();
    await page.getByTestId('version-label').filter({ hasText: 'v1' }).waitFor();

    const v1 = await api(reg.base, '/artifacts/photos/versions/v1/manifest');
    assert.deepEqual(Object.keys(v1.contents).sort(), ['photos/a.txt', 'photos/sub/b.txt', 'photos/sub/e.txt']);
    assert.equal(v1.contents['photos/sub/b.txt'].digest, sha('beta, fixed'));
    assert.equal((await api(reg.base, '/artifacts/photos/versions/v1')).base, 'v0');
    // only the new files' blobs were uploaded, in one pack
    assert.equal(packs(), 2);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await reg.stop();
  }
});

test('a file over the limit is refused up front; cancel stops hashing mid-file', async () => {
  const LIMIT = 2 ** 31; // 2 GiB: the big file takes seconds to hash, time enough to cancel
  const reg = await startRegistry(['--max-blob-size', String(LIMIT), '--max-upload-size', String(LIMIT)]);
  const browser = await launch();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-big-'));
  try {
    const page = await browser.newPage();
    await page.goto(`${reg.base}/ent/proj/new#token=${TOKEN}`);
    const input = page.getByTestId('drop-zone').locator('input[type=file]').first();

    // over the registry's limit: refused before a byte is read or sent
    const over = path.join(dir, 'over.bin');
    fs.writeFileSync(over, '');
    fs.truncateSync(over, LIMIT + 1); // sparse: costs no disk
    await input.setInputFiles(over);
    await page.getByTestId('error').filter({ hasText: "over this registry's limit of 2.0 GiB (2,147,483,648 bytes) per file: over.bin (2,147,483,649 bytes)" }).waitFor();

    // under the limit but big enough to cancel mid-file: the busy worker is terminated
    const big = path.join(dir, 'big.bin');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, LIMIT - 1);
    await input.setInputFiles(big);
    await page.getByTestId('file-progress').locator('li').filter({ hasText: 'big.bin' }).waitFor();
    await page.getByTestId('cancel').click();
    await page.getByTestId('error').filter({ hasText: 'cancelled' }).waitFor();
    assert.equal(await page.getByTestId('file-progress').locator('li').count(), 0);

    // fresh workers took the cancelled ones' place: the next file hashes and commits
    // (named as Windows names a device: warned about before and after the commit, not refused)
    await input.setInputFiles({ name: 'aux.txt', mimeType: 'text/plain', buffer: Buffer.from('small') });
    await page.getByTestId('stage-summary').filter({ hasText: /^1 file ·/ }).waitFor();
    const warning = "aux.txt: 'aux.txt' is reserved on Windows";
    await page.getByTestId('path-warnings').filter({ hasText: warning }).waitFor();
    await page.getByTestId('artifact-name').fill('after-cancel');
    await page.getByTestId('commit-button').click();
    await page.getByTestId('version-label').filter({ hasText: 'v0' }).waitFor();
    await page.getByTestId('commit-warnings').filter({ hasText: warning }).waitFor();
    const v0 = await api(reg.base, '/artifacts/after-cancel/versions/v0/manifest');
    assert.deepEqual(Object.keys(v0.contents), ['aux.txt']);
  } finally {
    await browser.close();
    await reg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
