// Shared by the browser tests: start fanloop on a free port with an empty store, call its API,
// launch Debian's Chromium, and sign a member in.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
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
export async function startServer() {
  const binary = process.env.FANLOOP_BIN || join(here, '..', 'target', 'debug', 'fanloop');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const data = mkdtempSync(join(tmpdir(), 'fanloop-e2e-'));
  const server = spawn(binary, ['serve', '--no-demo', '--addr', `127.0.0.1:${port}`, '--data', data], { stdio: 'inherit' });
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(base + '/healthz')).ok) return { server, base }; } catch {}
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
