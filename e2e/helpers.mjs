// Shared by the browser tests: start fanloop on a free port with an empty store, call its API,
// launch Debian's Chromium, and sign a member in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

/** Starts the debug binary (or FANLOOP_BIN) and resolves once /healthz answers. */
/** Starts fanloop on a free port, on a fresh data folder unless one is given (to restart). */
export async function startServer(extraArgs = [], data = mkdtempSync(join(tmpdir(), 'fanloop-e2e-'))) {
  const binary = process.env.FANLOOP_BIN || join(here, '..', 'target', 'debug', 'fanloop');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(binary, ['serve', '--no-demo', '--addr', `127.0.0.1:${port}`, '--data', data, ...extraArgs], { stdio: 'inherit' });
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(base + '/healthz')).ok) return { server, base, data }; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('fanloop did not start');
}

export function apiClient(base) {
  const api = async (method, path, body, token) => {
    const r = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
    return r.json();
  };
  const account = async (name) => {
    await api('POST', '/api/v1/users', { username: name, email: `${name}@example.com`, password: 'password123' });
    return (await api('POST', '/api/v1/tokens', { login: name, password: 'password123' })).token;
  };
  return { api, account };
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A fresh browser context signed in as `name`, and its first page (on the home page). */
export async function signIn(browser, base, name, locale = 'en-US') {
  const context = await browser.newContext({ locale, extraHTTPHeaders: { 'Accept-Language': locale }, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(base + '/signin');
  await page.fill('input[name=login]', name);
  await page.fill('input[name=password]', 'password123');
  await page.click('main button[type=submit]');
  await page.waitForURL(base + '/');
  return { context, page };
}

/** A real SMTP server (scripts/smtp-sink.py, aiosmtpd) writing what it accepts to a folder. */
export async function startSmtpSink() {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'fanloop-mail-'));
  const proc = spawn('python3', [join(here, '..', 'scripts', 'smtp-sink.py'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    proc.stdout.once('data', (d) => resolve(parseInt(String(d).trim(), 10)));
    proc.once('exit', () => reject(new Error('the SMTP sink did not start (pip install aiosmtpd)')));
  });
  /** Every message so far: { raw, text } with the text part decoded. */
  const messages = () => readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()
    .map((f) => { const raw = readFileSync(join(dir, f), 'latin1'); return { raw, text: decodeParts(raw) }; });
  /** Waits for the newest message whose decoded text contains `needle` and a link to `path`;
   *  returns that link's path. */
  const linkIn = async (needle, path) => {
    for (let i = 0; i < 100; i++) {
      const m = messages().reverse().find((x) => x.text.includes(needle) && x.text.includes(path));
      if (m) {
        return m.text.slice(m.text.indexOf(path)).split(/\s/)[0];
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail containing ${needle}`);
  };
  return { url: `smtp://127.0.0.1:${port}`, messages, linkIn, stop: () => proc.kill() };
}

/** The decoded text of every MIME part (base64 and quoted-printable), joined. */
function decodeParts(raw) {
  const out = [];
  for (const part of raw.split(/\r?\n--/)) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const head = part.slice(0, split).toLowerCase();
    const body = part.slice(split).trim();
    if (head.includes('base64')) out.push(Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8'));
    else if (head.includes('quoted-printable')) {
      const bytes = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      out.push(bytes.toString('utf8'));
    } else out.push(Buffer.from(body, 'latin1').toString('utf8'));
  }
  return out.join('\n');
}

/** Fails when the page is wider than its viewport (a phone layout must not scroll sideways). */
export async function assertFits(page, what) {
  const { scroll, inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  assert.ok(scroll <= inner, `${what}: ${scroll}px wide on a ${inner}px screen`);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Fails when axe-core finds a critical or serious WCAG 2.1 A/AA violation on the page. */
export async function axe(page, what) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.filter((v) => ['critical', 'serious'].includes(v.impact)).map((v) => `${v.id}: ${v.nodes[0]?.target}`);
  });
  assert.deepEqual(found, [], `${what}: axe-core`);
}
