// End to end in real headless Chromium: a fan signs up, posts in Chinese, searches for it and
// sees the match highlighted.  Screenshots land in e2e/screenshots/ for a human to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.FANLOOP_BIN || join(here, '..', 'target', 'debug', 'fanloop');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

let server, browser, base;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitHealthy(url) {
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(url + '/healthz')).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('fanloop did not start');
}

async function api(path, body, token) {
  const r = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    body: JSON.stringify(body),
  });
  assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const data = mkdtempSync(join(tmpdir(), 'fanloop-e2e-'));
  server = spawn(binary, ['serve', '--no-demo', '--addr', `127.0.0.1:${port}`, '--data', data], { stdio: 'inherit' });
  await waitHealthy(base);
  // The first account is the administrator; it opens a board for fans.
  await api('/api/v1/users', { username: 'admin', email: 'admin@example.com', password: 'password123' });
  const { token } = await api('/api/v1/tokens', { login: 'admin', password: 'password123' });
  await api('/api/v1/boards', { slug: 'aurora-x2', name: 'Aurora X2', description: '手机讨论 · Phone talk' }, token);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('a fan signs up, posts in Chinese, and finds the post highlighted by search', async () => {
  const context = await browser.newContext({ locale: 'zh-CN', extraHTTPHeaders: { 'Accept-Language': 'zh-CN,zh;q=0.9' }, viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  await page.goto(base + '/signup');
  assert.ok(await page.getByRole('heading', { name: '加入社区' }).isVisible());
  await page.fill('input[name=username]', '橙色星期五');
  await page.fill('input[name=email]', 'orange@example.com');
  await page.fill('input[name=password]', 'password123');
  await page.screenshot({ path: join(shots, '01-signup.png'), fullPage: true });
  await page.click('main button[type=submit]');
  await page.waitForURL(base + '/');
  assert.ok(await page.locator('summary', { hasText: '橙色星期五' }).isVisible(), 'signed in');

  await page.goto(base + '/b/aurora-x2');
  await page.click('text=发表新帖');
  await page.fill('input[name=title]', '夜景模式对焦很慢');
  await page.fill('textarea[name=body]', '升级到 3.3.0 之后，**夜景模式**对焦明显变慢，室内尤其明显。');
  await page.screenshot({ path: join(shots, '02-compose.png'), fullPage: true });
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/t\/\d+/);
  assert.ok(await page.locator('.post-body strong', { hasText: '夜景模式' }).isVisible(), 'markdown rendered');
  await page.screenshot({ path: join(shots, '03-thread.png'), fullPage: true });

  // Search from the top bar.
  await page.fill('.topsearch input[name=q]', '对焦');
  await page.press('.topsearch input[name=q]', 'Enter');
  await page.waitForURL(/\/search\?q=/);
  const highlighted = page.locator('.hit .snippet b', { hasText: '对焦' }).first();
  assert.ok(await highlighted.isVisible(), 'match highlighted in the snippet');
  const bg = await highlighted.evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)', 'highlight is styled');
  assert.match(await page.locator('[data-total]').textContent(), /1/);
  await page.screenshot({ path: join(shots, '04-search.png'), fullPage: true });

  // Like with the progressive-enhancement script (no page reload).
  await page.click('.hit a.thread-title');
  await page.waitForURL(/\/t\/\d+/);
  await page.click('form[data-like] button');
  await page.waitForFunction(() => document.querySelector('[data-like-count]').textContent === '1');
  await context.close();
});

test('the interface switches language', async () => {
  const context = await browser.newContext({ extraHTTPHeaders: { 'Accept-Language': 'en-US' } });
  const page = await context.newPage();
  await page.goto(base + '/');
  assert.ok(await page.getByRole('heading', { name: 'Latest discussions' }).isVisible());
  await page.click('footer >> text=Français');
  assert.ok(await page.getByRole('heading', { name: 'Discussions récentes' }).isVisible());
  await page.screenshot({ path: join(shots, '05-home-fr.png'), fullPage: true });
  await context.close();
});
