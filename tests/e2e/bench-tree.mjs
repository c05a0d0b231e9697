// Benchmark (issue 18): the version page of a 100,000-file version (default; 1,000 folders of 100)
// in headless Chromium. Measures, from the moment the manifest's response has fully arrived, the
// time until the first rows of the folder tree are drawn, and the time the filter takes to list
// the matches of one folder. Baseline in the same run: `JSON.parse` of the same manifest bytes on
// the page (the least any page showing it must do). Three rounds; prints a Markdown table.
// Usage (from tests/e2e): CAIRN_BIN=../../target/release/cairn CAIRN_DIST=../../dist node bench-tree.mjs [FILES]
import { TOKEN, launch, sha, startRegistry } from './harness.mjs';

const FILES = Number(process.argv[2] ?? 100000);
const P = '/api/v1/projects/ent/proj';
const reg = await startRegistry();
const browser = await launch();
const auth = { Authorization: `Bearer ${TOKEN}` };
try {
  await fetch(`${reg.base}${P}/blobs/${sha('x')}`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/octet-stream' }, body: 'x' });
  const contents = {};
  for (let i = 0; i < FILES; i++) contents[`d${String(Math.floor(i / 100)).padStart(4, '0')}/f${String(i).padStart(6, '0')}.bin`] = { digest: sha('x'), size: 1 };
  const res = await fetch(`${reg.base}${P}/artifacts/big/versions`, {
    method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'dataset', manifest: { version: 1, contents } }),
  });
  if (res.status !== 201) throw new Error(`commit: ${res.status} ${await res.text()}`);
  const rows = [];
  for (let round = 1; round <= 3; round++) {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    let arrived = 0;
    page.on('requestfinished', (r) => { if (r.url().endsWith('/versions/v0/manifest')) arrived = Date.now(); });
    await page.goto(`${reg.base}/ent/proj/big/v0#token=${TOKEN}`);
    await page.getByTestId('folder').first().waitFor({ timeout: 120000 });
    const drawn = Date.now() - arrived;
    const t0 = Date.now();
    await page.getByTestId('file-filter').fill('d0500/');
    await page.getByTestId('filter-count').filter({ hasText: `100 of ${FILES} files match` }).waitFor();
    const filtered = Date.now() - t0;
    const parse = await page.evaluate(async (url) => {
      const text = await (await fetch(url, { headers: { Authorization: `Bearer ${JSON.parse(localStorage.getItem('cairn.token'))}` } })).text();
      const t = performance.now();
      JSON.parse(text);
      return performance.now() - t;
    }, `${P}/artifacts/big/versions/v0/manifest`);
    rows.push(`| ${round} | ${drawn} ms | ${filtered} ms | ${parse.toFixed(0)} ms |`);
    await page.close();
  }
  console.log(`${FILES.toLocaleString('en-US')} files, \`node bench-tree.mjs ${FILES}\`\n`);
  console.log('| round | manifest arrived → first tree rows drawn | filter to one folder | baseline: JSON.parse of the manifest |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(r);
} finally {
  await browser.close();
  await reg.stop();
}
