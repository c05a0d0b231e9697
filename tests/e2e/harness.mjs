import { createRequire } from 'node:module';
// What the end-to-end tests share: a real `cairn serve` on a free port and Debian's Chromium.
// Env: CAIRN_BIN (the cairn binary), CAIRN_DIST (Trunk's dist/), CHROMIUM (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const TOKEN = 'cairn_e2e_admin';

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitHealthy(base) {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/api/v1/health`)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// `restart()` kills the registry (SIGKILL, as a crash) and starts it again on the same port and
// data directory after `pauseMs`.
export async function startRegistry(extra = []) {
  const port = await freePort();
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-e2e-'));
  const spawnIt = () => spawn(process.env.CAIRN_BIN ?? '../../target/debug/cairn',
    ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', data, '--web-dir', process.env.CAIRN_DIST ?? '../../dist', ...extra],
    { env: { ...process.env, CAIRN_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'inherit', 'inherit'] });
  let proc = spawnIt();
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(base);
  const restart = async (pauseMs) => {
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await gone;
    await new Promise((r) => setTimeout(r, pauseMs));
    proc = spawnIt();
    await waitHealthy(base);
  };
  // `stop()` ends the registry and removes its data directory (each is hundreds of MiB).
  const stop = async () => {
    const gone = new Promise((r) => proc.once('exit', r));
    if (proc.exitCode === null && proc.kill('SIGTERM')) await gone;
    fs.rmSync(data, { recursive: true, force: true });
  };
  return { base, data, restart, pid: () => proc.pid, stop };
}

// Collects into `errors` what must not happen on a page of the registry: an uncaught script error,
// or anything the Content-Security-Policy refused (a test asserts `errors` stays empty).
export function watchErrors(page, errors) {
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) errors.push(m.text()); });
}

export const sha = (s) => 'sha256:' + createHash('sha256').update(s).digest('hex');

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

// axe-core's serious and critical accessibility violations on the page as it is, one line each
// ("id: help (first targets)"). The page must come from a context with `bypassCSP: true`: the
// registry's CSP forbids the injected script, as it should.
export async function axeViolations(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`);
  });
}

export const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

// A proxy in front of the registry that counts what the browser sends: every request body's
// bytes, by phase (`tally.phase`, set by the test), and the receipts of the packs the registry
// acknowledged (with the stream each continues, and where: `stream`, `at`). The registry down answers 502, as a load balancer would.
/// A page of `html(registry)` served on a free port, so it is another origin than the registry
/// (`http://localhost:PORT` against the registry's 127.0.0.1); `registry()` names the registry
/// once it runs (its allow-lists need this page's origin first).
export async function serveHostPage(html, registry) {
  const port = await freePort();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html(registry()));
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { port, origin: `http://localhost:${port}`, close: () => server.close() };
}

export async function countingProxy(target) {
  const tally = { phase: 'before', bytes: {}, packs: [] };
  const server = http.createServer((req, res) => {
    const phase = tally.phase;
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      const url = new URL(req.url, 'http://proxy');
      const isPack = req.method === 'POST' && url.pathname.endsWith('/packs') && answer.statusCode === 201;
      const stream = { stream: url.searchParams.get('stream'), at: url.searchParams.get('at') };
      const body = [];
      answer.on('data', (d) => { if (isPack) body.push(d); res.write(d); });
      answer.on('end', () => {
        if (isPack) tally.packs.push({ ...JSON.parse(Buffer.concat(body)), phase, ...stream });
        res.end();
      });
    });
    up.on('error', () => { if (!res.headersSent) { res.writeHead(502); } res.end(); });
    req.on('data', (d) => { tally.bytes[phase] = (tally.bytes[phase] ?? 0) + d.length; });
    // a page that went away mid-request does not leave the registry waiting for the rest
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  });
  const port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
  return { base: `http://127.0.0.1:${port}`, tally, close: () => { server.closeAllConnections(); server.close(); } };
}
