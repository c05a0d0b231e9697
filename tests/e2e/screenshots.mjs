// Screenshots of every page of the web app (and the guide), in light and in dark mode, into
// docs/screenshots/<page>-<light|dark>.png: a real `cairn serve` with a small project made
// through the API (two versions, a run, an alias, a README, a CSV, JSON and an image), each page
// opened in Chromium and captured once it shows what it is for; then a dashboard on another
// origin embedding the uploader and the read-only browser. The README shows the main ones. Run by scripts/screenshots (after the web app is built); not a test: it asserts only
// that each page got to the state it waits for.
// Env: see harness.mjs; OUT (default ../../docs/screenshots).
import fs from 'node:fs';
import path from 'node:path';
import { TOKEN, launch, serveHostPage, sha, startRegistry } from './harness.mjs';

const OUT = path.resolve(process.env.OUT ?? '../../docs/screenshots');
const P = '/api/v1/projects/acme/vision';

async function call(base, method, p, body, type = 'application/json') {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': type }) },
    body: body === undefined ? undefined : (Buffer.isBuffer(body) ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function commit(base, name, files, extra) {
  const contents = {};
  for (const [p, content] of Object.entries(files)) {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    await call(base, 'PUT', `${P}/blobs/${sha(bytes)}`, bytes, 'application/octet-stream');
    contents[p] = { digest: sha(bytes), size: bytes.length };
  }
  return call(base, 'POST', `${P}/artifacts/${name}/versions`, { type: 'dataset', manifest: { version: 1, contents }, ...extra });
}

const csv = (rows) => ['id,species,petal_cm,label', ...Array.from({ length: rows }, (_, i) =>
  `${i + 1},${['rose', 'tulip', 'lily', 'iris'][i % 4]},${(2 + (i * 37 % 50) / 10).toFixed(1)},${i % 3 === 0 ? 'train' : 'eval'}`)].join('\n') + '\n';

async function seed(base, browser) {
  // a real PNG, drawn by the browser
  const painter = await browser.newPage({ viewport: { width: 96, height: 64 } });
  await painter.setContent('<body style="margin:0;background:linear-gradient(135deg,#e66 0,#fc6 50%,#6c9 100%)"></body>');
  const png = await painter.screenshot();
  await painter.close();
  const readme = '# Flowers\n\nPetal measurements of four species, **cleaned** and split into train and eval.\n\n' +
    '| split | rows |\n|---|---:|\n| train | 400 |\n| eval | 800 |\n\nCollected by the field team; see `data/train.csv`.\n';
  const files = {
    'README.md': readme,
    'data/train.csv': csv(400),
    'data/eval.csv': csv(800),
    'config.json': JSON.stringify({ model: 'resnet50', lr: 0.001, layers: [64, 128, 256], augment: { flip: true } }),
    'images/sample.png': png,
    'notes/collection.txt': 'Measured with calipers, 2026-11.\n',
  };
  await commit(base, 'flowers', files, { description: 'The first **cleaned** release.', metadata: { rows: 1200, source: 'field team' } });
  const run = await call(base, 'POST', `${P}/runs`, { name: 'clean-2', job_type: 'clean' });
  await commit(base, 'flowers', { ...files, 'data/train.csv': csv(420), 'data/extra.csv': csv(40) },
    { description: 'Twenty more training rows, and an extra split.', metadata: { rows: 1260, source: 'field team' }, run: run.id, base: 'v0' });
  await call(base, 'PUT', `${P}/artifacts/flowers/aliases/best`, { version: 'v0' });
  await commit(base, 'resnet', { 'weights.bin': Buffer.alloc(300_000, 7), 'config.json': '{"arch":"resnet50"}' }, { type: 'model' });
  const train = await call(base, 'POST', `${P}/runs`, { name: 'train-7', job_type: 'train' });
  await call(base, 'POST', `${P}/runs/${train.id}/use`, { name: 'flowers', version: 'v1' });
}

// [name, path, what to wait for, what to do first]
const PAGES = [
  ['home', '/', (p) => p.getByTestId('project-list').getByText('vision').waitFor()],
  ['project', '/acme/vision', (p) => p.getByTestId('artifact-list').getByText('resnet').waitFor()],
  ['artifact', '/acme/vision/flowers', (p) => p.getByTestId('alias-chip').first().waitFor()],
  ['version', '/acme/vision/flowers/v1', (p) => p.getByTestId('readme').locator('h1').waitFor()],
  ['preview-csv', '/acme/vision/flowers/v1', async (p) => {
    await p.getByTestId('file').filter({ hasText: 'train.csv' }).first().click();
    await p.getByTestId('preview-table').waitFor();
  }],
  ['preview-image', '/acme/vision/flowers/v1', async (p) => {
    await p.getByTestId('file').filter({ hasText: 'sample.png' }).click();
    await p.waitForFunction(() => document.querySelector('[data-testid=preview-image]')?.naturalWidth > 0);
  }],
  ['compare', '/acme/vision/flowers/v0/compare/v1', (p) => p.getByTestId('change-summary').waitFor()],
  ['create', '/acme/vision/new', (p) => p.getByTestId('drop-zone').waitFor()],
  // a draft with changes staged: a file added and one replaced in data/, notes/ removed
  ['draft', '/acme/vision/flowers/v1/draft', async (p) => {
    await p.getByTestId('diff-summary').filter({ hasText: '7 unchanged' }).waitFor();
    await p.getByPlaceholder('(root)').fill('data');
    await p.getByTestId('drop-zone').locator('input[type=file]').first().setInputFiles([
      { name: 'test.csv', mimeType: 'text/csv', buffer: Buffer.from(csv(60)) },
      { name: 'train.csv', mimeType: 'text/csv', buffer: Buffer.from(csv(430)) },
    ]);
    await p.getByTestId('diff-summary').filter({ hasText: '1 added · 1 modified' }).waitFor();
    await p.getByRole('button', { name: 'remove notes', exact: true }).click();
    await p.getByTestId('diff-summary').filter({ hasText: '1 added · 1 modified · 1 removed' }).waitFor();
  }],
  ['guide', '/docs/guide/create.html', (p) => p.locator('main h1').waitFor()],
];

// an internal dashboard on another origin embedding the uploader and the read-only browser
const dashboard = (registry) => `<!doctype html>
<html><head><meta charset="utf-8"><meta name="color-scheme" content="light dark"><title>Team dashboard</title>
<style>body{font-family:system-ui,sans-serif;margin:0;display:grid;grid-template-columns:1fr 1fr;gap:1rem;padding:1rem}
header{grid-column:1/3;font-weight:600;font-size:1.2rem}section{border:1px solid #8884;border-radius:8px;padding:.5rem}
h2{font-size:1rem;margin:.2rem .4rem .6rem}</style></head>
<body><header>Vision team · data dashboard</header>
<section><h2>Add a release of flowers</h2><cairn-uploader id="up" registry="${registry}" entity="acme" project="vision"
  artifact="flowers" type="dataset"></cairn-uploader></section>
<section><h2>Releases</h2><cairn-browser id="browse" registry="${registry}" entity="acme" project="vision"
  artifact="flowers" readonly></cairn-browser></section>
<script src="${registry}/embed.js"></script></body></html>`;

async function embedShot(browser, origin, scheme) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 860 }, colorScheme: scheme });
  await page.goto(`${origin}/`);
  await page.evaluate((t) => {
    document.getElementById('up').token = t;
    document.getElementById('browse').token = t;
  }, TOKEN);
  await page.frameLocator('cairn-uploader iframe').getByTestId('artifact-fixed').waitFor();
  await page.frameLocator('cairn-browser iframe').getByRole('link', { name: 'v1', exact: true }).waitFor();
  await page.waitForTimeout(300); // the frames' heights settle
  const file = path.join(OUT, `embed-${scheme}.png`);
  await page.screenshot({ path: file });
  console.log(file);
  await page.close();
}

let registry = '';
const host = await serveHostPage(dashboard, () => registry);
const reg = await startRegistry(['--frame-ancestor', host.origin, '--cors-origin', host.origin]);
registry = reg.base;
const browser = await launch();
try {
  fs.mkdirSync(OUT, { recursive: true });
  await seed(reg.base, browser);
  for (const scheme of ['light', 'dark']) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 860 }, colorScheme: scheme });
    await page.goto(`${reg.base}/#token=${TOKEN}`);
    // signed in once the app has taken the token out of the address
    await page.waitForFunction(() => !location.hash.includes('token='));
    for (const [name, url, ready] of PAGES) {
      await page.goto(`${reg.base}${url}`);
      await ready(page);
      await page.waitForTimeout(150); // let transitions settle
      const file = path.join(OUT, `${name}-${scheme}.png`);
      await page.screenshot({ path: file });
      console.log(file);
    }
    await page.close();
    await embedShot(browser, host.origin, scheme);
  }
} finally {
  await browser.close();
  await reg.stop();
  host.close();
}
