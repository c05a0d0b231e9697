// Embedding: a dashboard on another origin includes embed.js, mounts <cairn-uploader>, hands it
// a short-lived project token, uploads through it and hears `cairn-version-created`; a page from
// an origin that is not on the allow-list can neither frame the app nor call the API with a
// token; an expired token is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { TOKEN, launch, serveHostPage, sha, startRegistry, watchErrors } from './harness.mjs';

/// A dashboard page (from another origin) that embeds the uploader and records its events.
const dashboard = (registry) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Dashboard</title></head>
<body>
  <h1>Team dashboard</h1>
  <cairn-uploader id="up" registry="${registry}" entity="ent" project="proj" artifact="embedded"
    type="dataset" accept=".txt" style="--cairn-accent: rgb(200, 0, 90)"></cairn-uploader>
  <cairn-browser id="browse" registry="${registry}" entity="ent" project="proj" artifact="embedded"
    readonly></cairn-browser>
  <script>
    window.events = [];
    for (const kind of ['ready', 'progress', 'version-created', 'error', 'resize']) {
      document.addEventListener('cairn-' + kind, (e) => window.events.push({ kind, detail: e.detail }));
    }
  </script>
  <script src="${registry}/embed.js"></script>
</body></html>`;

async function mint(base, body) {
  const res = await fetch(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
  return (await res.json()).token;
}

/// From inside `page`, call the API with `token`: the status, or 'blocked' when CORS stops it.
const callApi = (page, base, token) => page.evaluate(async ({ base, token }) => {
  try {
    const r = await fetch(`${base}/api/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    return r.status;
  } catch {
    return 'blocked';
  }
}, { base, token });

test('a dashboard on an allowed origin embeds the uploader; others cannot', async () => {
  let registry = '';
  const goodPage = await serveHostPage(dashboard, () => registry);
  const evilPage = await serveHostPage(dashboard, () => registry);
  // dashboards are http://localhost:PORT: other origins than the registry's 127.0.0.1, and
  // only the first is on the registry's allow-lists
  const goodOrigin = `http://localhost:${goodPage.port}`;
  const reg = await startRegistry(['--frame-ancestor', goodOrigin, '--cors-origin', goodOrigin]);
  registry = reg.base;
  const browser = await launch();
  const errors = [];
  try {
    const scoped = await mint(reg.base, { name: 'dashboard', entity: 'ent', project: 'proj', role: 'write', expires_in: 600 });
    const page = await browser.newPage();
    watchErrors(page, errors);
    await page.goto(`http://localhost:${goodPage.port}/`);
    const frame = page.frameLocator('cairn-uploader iframe');
    await frame.getByTestId('embed-waiting').waitFor();
    // the host hands the frame a scoped token (in memory only)
    await page.evaluate((t) => { document.getElementById('up').token = t; }, scoped);
    await frame.getByTestId('artifact-fixed').filter({ hasText: 'embedded' }).waitFor();
    const inner = page.frames().find((f) => f.url().includes('/embed/ent/proj/new'));
    assert.ok(inner, page.frames().map((f) => f.url()).join(', '));
    // (third-party storage may be off altogether; either way the token is not in it)
    assert.equal(await inner.evaluate(() => { try { return localStorage.getItem('cairn.token'); } catch { return null; } }), null);
    // theming by CSS variables on the element
    assert.equal(await inner.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--cairn-accent').trim()), 'rgb(200, 0, 90)');

    // only .txt is accepted here
    await frame.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles([
      { name: 'labels.txt', mimeType: 'text/plain', buffer: Buffer.from('cat\ndog\n') },
      { name: 'table.csv', mimeType: 'text/csv', buffer: Buffer.from('a,b\n') },
    ]);
    await frame.getByText('left out: only .txt').waitFor();
    await frame.getByTestId('stage-summary').filter({ hasText: /^1 file ·/ }).waitFor();
    await frame.getByTestId('commit-button').click();
    await page.waitForFunction(() => window.events.some((e) => e.kind === 'version-created'));
    const events = await page.evaluate(() => window.events);
    const created = events.find((e) => e.kind === 'version-created').detail;
    assert.equal(created.artifact, 'embedded');
    assert.equal(created.version, 'v0');
    assert.ok(events.some((e) => e.kind === 'ready'));
    assert.ok(events.some((e) => e.kind === 'progress' && e.detail.uploading.total > 0), JSON.stringify(events.map((e) => e.kind)));
    assert.ok(events.some((e) => e.kind === 'resize' && e.detail.height > 0));
    await page.screenshot({ path: path.resolve('shots', 'embed.png') });

    // the read-only browser shows the new version, and no way to edit it
    await page.evaluate((t) => { document.getElementById('browse').token = t; }, scoped);
    const browse = page.frameLocator('cairn-browser iframe');
    await browse.getByRole('link', { name: 'v0' }).click();
    await browse.getByText('labels.txt').waitFor();
    assert.equal(await browse.getByText('Open as draft').count(), 0);

    // the API confirms the version the host heard about
    const v0 = await (await fetch(`${reg.base}/api/v1/projects/ent/proj/artifacts/embedded/versions/v0`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    assert.equal(v0.digest, created.digest);
    const m = await (await fetch(`${reg.base}/api/v1/projects/ent/proj/artifacts/embedded/versions/v0/manifest`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    assert.deepEqual(Object.keys(m.contents), ['labels.txt']);
    assert.equal(m.contents['labels.txt'].digest, sha('cat\ndog\n'));

    // the allowed origin may call the API with a token (CORS allow-list) ...
    assert.equal(await callApi(page, reg.base, scoped), 200);
    // ... but not with an expired one
    const brief = await mint(reg.base, { entity: 'ent', project: 'proj', role: 'read', expires_in: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal(await callApi(page, reg.base, brief), 401);

    // another origin can neither frame the app nor call the API with a token
    const other = await browser.newPage();
    const refused = [];
    other.on('console', (m) => { if (/frame-ancestors/.test(m.text())) refused.push(m.text()); });
    await other.goto(`http://localhost:${evilPage.port}/`);
    await other.evaluate((t) => { document.getElementById('up').token = t; }, scoped);
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await other.evaluate(() => window.events), []);
    assert.ok(refused.length > 0, 'no frame-ancestors refusal logged');
    assert.equal(await callApi(other, reg.base, scoped), 'blocked');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    goodPage.close(); evilPage.close();
    await reg.stop();
  }
});
