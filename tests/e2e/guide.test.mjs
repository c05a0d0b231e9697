// The guide (mdBook's build of docs/) at /docs, as a reader meets it in Chromium: served by the
// registry under its own Content-Security-Policy (mdBook's inline scripts allowed by hash: any
// violation fails the test), the sidebar leads from page to page, search finds a page, and the
// API reference the guide points at is there too.
// Env: see harness.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch, startRegistry, watchErrors } from './harness.mjs';

const SHOTS = path.resolve('shots');

test('the guide is served at /docs: pages, sidebar, search, no CSP violation', async () => {
  const reg = await startRegistry();
  const browser = await launch();
  const errors = [];
  try {
    fs.mkdirSync(SHOTS, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // the page runs under the registry's Content-Security-Policy: any violation fails the test
    watchErrors(page, errors);
    const outside = [];
    page.on('request', (r) => { if (!r.url().startsWith(reg.base) && !r.url().startsWith('data:')) outside.push(r.url()); });

    await page.goto(`${reg.base}/docs`);
    assert.equal(new URL(page.url()).pathname, '/docs/');
    await page.locator('main h1').filter({ hasText: 'Cairn' }).waitFor();
    // the sidebar's scripts ran (toc.js builds it): follow it to a task page
    await page.locator('.sidebar').getByRole('link', { name: 'Create a version' }).first().click();
    await page.locator('main h1').filter({ hasText: 'Create a version' }).waitFor();
    assert.match(new URL(page.url()).pathname, /^\/docs\/guide\/create\.html$/);
    assert.ok(await page.locator('main img[src$="create-light.png"]').count() > 0, 'the screenshot is on the page');
    // the right arrow key (book.js) leads on to the next page
    await page.keyboard.press('ArrowRight');
    await page.locator('main h1').filter({ hasText: 'Distributed versions' }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'guide.png') });

    // search (elasticlunr and its index, loaded from the registry) finds the backups page
    await page.keyboard.press('s');
    await page.locator('#mdbook-searchbar').waitFor();
    await page.keyboard.type('restore');   // the searcher listens to key events
    await page.locator('#mdbook-searchresults a').filter({ hasText: /Backups/ }).first().waitFor();

    // a missing page is the guide's 404, not the web app
    const missing = await fetch(`${reg.base}/docs/nope.html`);
    assert.equal(missing.status, 404);

    // the API reference the guide links to
    const reference = await fetch(`${reg.base}/api/v1/reference`);
    assert.equal(reference.status, 200);
    assert.match(await reference.text(), /POST \/api\/v1\/projects\/\{entity\}\/\{project\}\/artifacts\/\{name\}\/versions/);

    assert.deepEqual(errors, []);
    assert.deepEqual(outside, [], 'nothing is fetched from another origin');
  } finally {
    await browser.close();
    await reg.stop();
  }
});
