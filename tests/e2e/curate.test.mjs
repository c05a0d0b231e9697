// End to end: curating an artifact from the browser (issue 18) — compare two versions, put and
// move an alias, edit a version's description and metadata, delete a version as admin; a
// writer sees no delete (and the registry refuses one), but may remove an alias.
// Env: see harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { TOKEN, axeViolations, launch, sha, startRegistry } from './harness.mjs';

const SHOTS = path.resolve('shots');

async function call(base, method, p, body, token = TOKEN, type = 'application/json') {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': type }) },
    body: body === undefined ? undefined : (typeof body === 'string' || body instanceof Buffer ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const P = '/api/v1/projects/ent/proj';

async function commit(base, files, description, name = 'photos', extra = {}) {
  const contents = {};
  for (const [path, content] of Object.entries(files)) {
    const bytes = Buffer.from(content);
    const put = await call(base, 'PUT', `${P}/blobs/${sha(bytes)}`, bytes, TOKEN, 'application/octet-stream');
    assert.ok(put.status < 300, JSON.stringify(put));
    contents[path] = { digest: sha(bytes), size: bytes.length };
  }
  const out = await call(base, 'POST', `${P}/artifacts/${name}/versions`, { type: 'dataset', description, manifest: { version: 1, contents }, ...extra });
  assert.ok(out.status < 300, JSON.stringify(out));
  return out.json;
}

test('compare, alias, describe and delete versions from the browser; a writer cannot delete', async () => {
  const reg = await startRegistry();
  const browser = await launch();
  const errors = [];
  try {
    fs.mkdirSync(SHOTS, { recursive: true });
    await commit(reg.base, { 'a.txt': 'alpha', 'b.txt': 'beta', 'old.txt': 'gone soon' }, 'the first');
    // v1 logged by a run, then used by another (lineage)
    const prep = await call(reg.base, 'POST', `${P}/runs`, { name: 'prep-1', job_type: 'preprocess' });
    assert.equal(prep.status, 201, JSON.stringify(prep));
    await commit(reg.base, { 'a.txt': 'alpha', 'b.txt': 'beta, longer', 'new.txt': 'fresh' }, 'the second', 'photos', { run: prep.json.id });
    const train = await call(reg.base, 'POST', `${P}/runs`, { name: 'train-1', job_type: 'train' });
    const used = await call(reg.base, 'POST', `${P}/runs/${train.json.id}/use`, { name: 'photos', version: 'v1' });
    assert.ok(used.status < 300, JSON.stringify(used));
    // bypassCSP only to inject axe-core for the accessibility audit of each page
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, bypassCSP: true });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('dialog', (d) => d.accept());
    const a11y = {};
    const audit = async (name) => { a11y[name] = await axeViolations(page); };

    // compare v0 with v1 from the artifact page
    await page.goto(`${reg.base}/ent/proj/photos#token=${TOKEN}`);
    await page.getByTestId('version-list').waitFor();
    await audit('versions');
    await page.getByTestId('compare-from').selectOption('v0');
    await page.getByTestId('compare-to').selectOption('v1');
    await page.getByTestId('compare-pick').getByRole('link', { name: 'Show changes' }).click();
    await page.getByTestId('change-summary').filter({ hasText: '1 added · 1 removed · 1 modified' }).waitFor();
    const rows = await page.getByTestId('change').allInnerTexts();
    assert.deepEqual(rows, ['modified', 'added', 'removed']); // b.txt, new.txt, old.txt
    assert.match(await page.locator('.virtual').innerText(), /modified\s+b\.txt\s+4 B → 12 B\s+\+8 B/);
    // a modified text file's line diff
    await page.getByTestId('show-line-diff').filter({ hasText: 'b.txt' }).click();
    await page.getByTestId('line-diff').locator('pre span').first().waitFor();
    const lines = await page.getByTestId('line-diff').locator('pre span').allInnerTexts();
    assert.deepEqual(lines.map((l) => l.replace(/\s+/g, ' ').trim()), ['1 - beta', '1 + beta, longer']);
    await page.screenshot({ path: path.join(SHOTS, 'compare.png') });
    await audit('compare');

    // put "best" on v0, then move it to v1
    await page.goto(`${reg.base}/ent/proj/photos`);
    await page.getByTestId('alias-name').fill('best');
    await page.getByTestId('alias-version').selectOption('v0');
    await page.getByTestId('alias-form').getByRole('button', { name: 'Set alias' }).click();
    const row = (v) => page.getByTestId('version-list').locator('tr').filter({ has: page.getByRole('link', { name: v, exact: true }) });
    await row('v0').getByTestId('alias-chip').filter({ hasText: 'best' }).waitFor();
    // the registry keeps a version with custom aliases: its refusal shows next to the list
    await row('v0').getByRole('button', { name: 'delete v0' }).click();
    await page.getByTestId('curate-error').filter({ hasText: 'v0 not deleted' }).waitFor();
    console.log(`refusal shown: ${await page.getByTestId('curate-error').innerText()}`);
    assert.match(await page.getByTestId('curate-error').innerText(), /best/);
    await page.getByTestId('alias-name').fill('best');
    await page.getByTestId('alias-version').selectOption('v1');
    await page.getByTestId('alias-form').getByRole('button', { name: 'Set alias' }).click();
    await row('v1').getByTestId('alias-chip').filter({ hasText: 'best' }).waitFor();
    assert.equal(await row('v0').getByTestId('alias-chip').count(), 0);
    // a bad alias is refused next to the form, naming it
    await page.getByTestId('alias-name').fill('v7');
    await page.getByTestId('alias-form').getByRole('button', { name: 'Set alias' }).click();
    await page.getByTestId('curate-error').filter({ hasText: "invalid alias 'v7'" }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'versions-curate.png') });

    // describe v1: description and metadata edited in place, kept by the registry
    await row('v1').getByRole('link', { name: 'v1', exact: true }).click();
    await page.getByTestId('description').filter({ hasText: 'the second' }).waitFor();
    await page.getByTestId('lineage').filter({ hasText: 'Logged by prep-1 (preprocess) · used by train-1 (train)' }).waitFor();
    await page.getByTestId('use-it').locator('summary').click();
    assert.match(await page.getByTestId('use-it').innerText(), /cairn get ent\/proj\/photos:v1/);
    await page.getByTestId('edit-about').click();
    await page.getByTestId('description-input').fill('curated in the **browser**');
    await page.getByTestId('metadata-input').fill('{"accuracy": 0.93, "split": "val"}');
    await page.getByTestId('about-form').getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('description').filter({ hasText: 'curated in the browser' }).waitFor();
    assert.equal(await page.getByTestId('description').locator('strong').innerText(), 'browser'); // Markdown
    await page.getByTestId('metadata').filter({ hasText: 'accuracy' }).waitFor();
    const v1 = await call(reg.base, 'GET', `${P}/artifacts/photos/versions/v1`);
    assert.equal(v1.json.description, 'curated in the **browser**');
    assert.deepEqual(v1.json.metadata, { accuracy: 0.93, split: 'val' });
    await page.screenshot({ path: path.join(SHOTS, 'version.png') });
    await audit('version');

    // a writer: no delete button, the registry refuses one anyway; removing an alias works
    const writer = await call(reg.base, 'POST', '/api/v1/tokens', { role: 'write', entity: 'ent', name: 'e2e writer' });
    assert.equal(writer.status, 201, JSON.stringify(writer));
    const wpage = await browser.newPage();
    wpage.on('pageerror', (e) => errors.push(String(e)));
    await wpage.goto(`${reg.base}/ent/proj/photos#token=${writer.json.token}`);
    await wpage.getByTestId('alias-form').waitFor();
    assert.equal(await wpage.getByTestId('delete-version').count(), 0);
    const refused = await call(reg.base, 'DELETE', `${P}/artifacts/photos/versions/v0`, undefined, writer.json.token);
    assert.equal(refused.status, 403);
    await wpage.getByRole('button', { name: 'remove alias best' }).click();
    await wpage.getByTestId('alias-chip').filter({ hasText: 'best' }).waitFor({ state: 'detached' });

    // the admin deletes v0 (after the browser's confirmation)
    await page.goto(`${reg.base}/ent/proj/photos`);
    await page.getByRole('button', { name: 'delete v0' }).click();
    await page.getByRole('link', { name: 'v0', exact: true }).waitFor({ state: 'detached' });
    assert.equal((await call(reg.base, 'GET', `${P}/artifacts/photos/versions/v0`)).status, 404);
    await page.goto(`${reg.base}/`);
    await page.getByTestId('project-list').waitFor();
    await audit('home');
    await page.getByRole('link', { name: 'ent/proj', exact: true }).click();
    await page.getByTestId('project-usage').waitFor();
    await audit('artifacts');
    // the project's artifacts, filtered by type and searched by name
    const model = await call(reg.base, 'POST', `${P}/artifacts/resnet/versions`, { type: 'model', manifest: { version: 1, contents: {} } });
    assert.equal(model.status, 201, JSON.stringify(model));
    await page.reload();
    const artifactRows = () => page.getByTestId('artifact-list').locator('tr').filter({ has: page.getByRole('link') });
    await page.getByRole('link', { name: 'resnet', exact: true }).waitFor();
    assert.equal(await artifactRows().count(), 2);
    await page.getByTestId('artifact-type-filter').selectOption('model');
    await page.getByRole('link', { name: 'photos', exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual(await artifactRows().locator('td:first-child').allInnerTexts(), ['resnet']);
    await page.getByTestId('artifact-type-filter').selectOption('');
    await page.getByTestId('artifact-search').fill('PHO');
    await page.getByRole('link', { name: 'resnet', exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual(await artifactRows().locator('td:first-child').allInnerTexts(), ['photos']);
    await page.goto(`${reg.base}/ent/proj/new`);
    await page.getByTestId('drop-zone').waitFor();
    await audit('create');
    // a draft with a change staged: its folder rows, actions and the moving field
    await page.goto(`${reg.base}/ent/proj/photos/latest/draft`);
    await page.getByTestId('diff-summary').waitFor();
    await page.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles({ name: 'staged.txt', mimeType: 'text/plain', buffer: Buffer.from('staged') });
    await page.getByTestId('diff-summary').filter({ hasText: '1 added' }).waitFor();
    await audit('draft');
    await page.getByRole('button', { name: 'move staged.txt', exact: true }).click();
    await audit('draft, moving a file');
    console.log(`axe-core: ${JSON.stringify(a11y, null, 1)}`);
    for (const [name, found] of Object.entries(a11y)) assert.deepEqual(found, [], `serious accessibility violations on ${name}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await reg.stop();
  }
});

test('preview CSV, JSON, an image and a large text file, reading only the head of the large one', async () => {
  const reg = await startRegistry();
  const browser = await launch();
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${reg.base}/#token=${TOKEN}`);
    await page.getByRole('heading', { name: 'Projects' }).waitFor(); // the app kept the token
    const png = await page.screenshot({ clip: { x: 0, y: 0, width: 40, height: 30 } });
    const line = (i) => `${String(i).padStart(8, '0')} the quick brown fox jumps over the lazy dog\n`;
    const log = Array.from({ length: 40000 }, (_, i) => line(i)).join(''); // ~2 MiB
    await commit(reg.base, {
      'tables/data.csv': 'id,name,note\n1,alpha,"x, y"\n2,beta,"say ""hi"""\n',
      'tables/long.csv': 'n,square\n' + Array.from({ length: 5000 }, (_, i) => `${i + 1},${(i + 1) ** 2}`).join('\n') + '\n',
      'conf.json': '{"lr":0.001,"layers":[64,32]}',
      'img/logo.png': png,
      'logs/big.log': log,
      // written by pyarrow (web/tests/fixtures/make_parquet.py)
      'tables/flowers.parquet': fs.readFileSync(path.resolve('../../web/tests/fixtures/flowers.parquet')),
      'README.md': '# Samples card\n\nSee [the docs](javascript:window.pwned=1) or [home](https://example.org).\n\n<script>window.pwned=1</script>\n',
    }, 'samples', 'samples');
    const ranges = [];
    page.on('request', (r) => { if (r.url().includes('/files/logs/big.log')) ranges.push(r.headers()['range']); });
    const sizes = [];
    page.on('response', async (r) => { if (r.url().includes('/files/logs/big.log')) sizes.push((await r.body()).length); });

    await page.goto(`${reg.base}/ent/proj/samples/v0`);
    // the root README.md shows as a card: Markdown rendered, its HTML and script links inert
    const readme = page.getByTestId('readme');
    await readme.locator('h1').filter({ hasText: 'Samples card' }).waitFor();
    assert.equal(await readme.locator('script').count(), 0);
    assert.equal(await readme.getByRole('link', { name: 'the docs' }).getAttribute('href'), '#');
    assert.equal(await readme.getByRole('link', { name: 'home' }).getAttribute('href'), 'https://example.org');
    assert.match(await readme.innerText(), /<script>window\.pwned=1<\/script>/);
    await page.screenshot({ path: path.join(SHOTS, 'readme.png') });
    // the same page in dark mode and at 768 px, for the eye (shots/)
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 768, height: 900 });
    await page.screenshot({ path: path.join(SHOTS, 'readme-dark-768.png') });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.getByTestId('file').filter({ hasText: 'data.csv' }).click();
    const table = page.getByTestId('preview-table');
    await table.waitFor();
    assert.deepEqual(await table.locator('[role=columnheader]').allInnerTexts(), ['id', 'name', 'note']);
    assert.deepEqual(await table.locator('[role=row]').nth(2).locator('[role=cell]').allInnerTexts(), ['2', 'beta', 'say "hi"']);
    await page.screenshot({ path: path.join(SHOTS, 'preview-csv.png') });
    // a long CSV: its first 1,000 lines (header and 999 rows) are the table, drawn a window at a
    // time; scrolled to the end, the last row is there
    await page.getByTestId('file').filter({ hasText: 'long.csv' }).click();
    const long = page.getByTestId('preview-table');
    await long.locator('[role=cell]').filter({ hasText: /^1$/ }).first().waitFor();
    assert.equal(await long.getAttribute('aria-rowcount'), '1000');
    const drawn = await long.locator('[role=row]').count();
    assert.ok(drawn < 120, `only a window of rows is in the page, not ${drawn}`);
    await long.locator('.virtual').evaluate((v) => { v.scrollTop = v.scrollHeight; });
    await long.locator('[role=cell]').filter({ hasText: /^998001$/ }).waitFor(); // 999²

    await page.getByTestId('file').filter({ hasText: 'conf.json' }).click();
    await page.getByTestId('preview-text').filter({ hasText: '"layers": [' }).waitFor();
    assert.match(await page.getByTestId('preview-text').innerText(), /\n\s+"lr": 0\.001/);

    await page.getByTestId('file').filter({ hasText: 'logo.png' }).click();
    const img = page.getByTestId('preview-image');
    await img.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=preview-image]')?.naturalWidth > 0);
    assert.equal(await img.evaluate((i) => i.naturalWidth), 40);

    // a Parquet file: its schema from its footer, read from the file's end
    const tails = [];
    page.on('request', (r) => { if (r.url().includes('/files/tables/flowers.parquet')) tails.push(r.headers()['range']); });
    await page.getByTestId('file').filter({ hasText: 'flowers.parquet' }).click();
    const schema = page.getByTestId('preview-parquet');
    await schema.waitFor();
    assert.equal(await page.getByTestId('parquet-summary').innerText(), '300 rows in 2 row groups · 9 columns · written by parquet-cpp-arrow version 26.0.1');
    assert.deepEqual(await schema.locator('tr').nth(5).locator('td').allInnerTexts(), ['seen', 'timestamp[us, UTC]', 'optional']);
    assert.deepEqual(await schema.locator('tr').nth(9).locator('td').allInnerTexts(), ['element', 'string', 'optional']);
    assert.deepEqual(tails, ['bytes=-65536']);
    await page.screenshot({ path: path.join(SHOTS, 'preview-parquet.png') });

    await page.getByTestId('file').filter({ hasText: 'big.log' }).click();
    await page.getByTestId('preview-text').filter({ hasText: '00000000 the quick brown fox' }).waitFor();
    await page.getByTestId('preview').filter({ hasText: 'first 64.0 KiB of' }).waitFor();
    assert.deepEqual(ranges, ['bytes=0-65535']);
    assert.deepEqual(sizes, [65536], 'only the head of the 2 MiB file crossed the wire');
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    await page.screenshot({ path: path.join(SHOTS, 'preview-text.png') });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await reg.stop();
  }
});

test('an artifact with 130 versions lists 100, then the older ones on demand', async () => {
  const reg = await startRegistry();
  const browser = await launch();
  try {
    for (let i = 0; i < 130; i++) {
      // reference entries: versions without blobs
      const body = { type: 'dataset', manifest: { version: 1, contents: { 'x.bin': { ref: `s3://bucket/x-${i}`, digest: `etag-${i}`, size: i } } } };
      const out = await call(reg.base, 'POST', `${P}/artifacts/many/versions`, body);
      assert.equal(out.status, 201, JSON.stringify(out));
    }
    const page = await browser.newPage();
    await page.goto(`${reg.base}/ent/proj/many#token=${TOKEN}`);
    const rows = page.getByTestId('version-list').locator('tr').filter({ has: page.getByRole('link') });
    await page.getByRole('link', { name: 'v129', exact: true }).waitFor();
    assert.equal(await rows.count(), 100);
    await page.getByTestId('older-versions').click();
    await page.getByRole('link', { name: 'v0', exact: true }).waitFor();
    assert.equal(await rows.count(), 130);
    assert.equal(await page.getByTestId('older-versions').count(), 0);
  } finally {
    await browser.close();
    await reg.stop();
  }
});
