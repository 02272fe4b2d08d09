// The Orange Friday loop in a real browser: a fan files feedback, is offered the existing
// duplicate and votes for it instead; staff ship it; the build's changelog credits the fan.
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

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

async function api(method, path, body, token) {
  const r = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
}

async function account(name) {
  await api('POST', '/api/v1/users', { username: name, email: `${name}@example.com`, password: 'password123' });
  return (await api('POST', '/api/v1/tokens', { login: name, password: 'password123' })).token;
}

async function signIn(context, name) {
  const page = await context.newPage();
  await page.goto(base + '/signin');
  await page.fill('input[name=login]', name);
  await page.fill('input[name=password]', 'password123');
  await page.click('main button[type=submit]');
  await page.waitForURL(base + '/');
  return page;
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const data = mkdtempSync(join(tmpdir(), 'fanloop-e2e-fb-'));
  server = spawn(binary, ['serve', '--no-demo', '--addr', `127.0.0.1:${port}`, '--data', data], { stdio: 'inherit' });
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const admin = await account('admin');
  await account('battery_emma');
  await api('PUT', '/api/v1/users/battery_emma/role', { role: 'staff', team: 'Battery team' }, admin);
  await api('POST', '/api/v1/products', { slug: 'x2', name: 'Aurora X2', description: '旗舰手机' }, admin);
  await api('POST', '/api/v1/products/x2/areas', { slug: 'battery', name: '续航 · Battery', team: 'Battery team' }, admin);
  await api('POST', '/api/v1/products/x2/builds', { version: '3.2.1', channel: 'stable' }, admin);
  const first = await account('小米粒');
  await api('POST', '/api/v1/products/x2/reports', {
    kind: 'bug', area: 'battery', title: '更新后电池掉电特别快', description: '更新后电池掉电特别快，一晚上掉了 30%，待机也耗电',
    steps: '充满电后放一晚', expected: '掉电少于 5%', actual: '掉了 30%', device: 'Aurora X2',
  }, first);
  await account('camille');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('file, see the duplicate, vote, staff ships, the changelog credits the fan', async () => {
  const fan = await browser.newContext({ locale: 'fr-FR', extraHTTPHeaders: { 'Accept-Language': 'fr-FR' }, viewport: { width: 1200, height: 900 } });
  const page = await signIn(fan, 'camille');
  await page.goto(base + '/f/x2/new');
  await page.fill('input[name=title]', 'La batterie se vide la nuit');
  await page.fill('textarea[name=description]', "Depuis la mise à jour, la batterie se vide très vite la nuit, 30 % perdus en veille");
  // With JavaScript the suggestions appear while typing; the button is the no-JS path.
  await page.waitForSelector('#duplicates:not([hidden]) [data-duplicates] li', { timeout: 5000 });
  await page.click('button[value=check]');
  const candidate = page.locator('[data-duplicates] li', { hasText: '更新后电池掉电特别快' });
  assert.ok(await candidate.isVisible(), 'the Chinese report is offered as a likely duplicate');
  await page.screenshot({ path: join(shots, '10-feedback-duplicate.png'), fullPage: true });
  await candidate.locator('button').click();
  await page.waitForURL(/\/requests\/\d+/);
  assert.equal(await page.locator('[data-votes]').textContent(), '2');
  const requestUrl = page.url();

  const staff = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const sp = await signIn(staff, 'battery_emma');
  await sp.goto(base + '/f/x2');
  await sp.fill('input[name=version]', '3.3.0');
  await sp.selectOption('select[name=channel]', 'stable');
  await sp.click('form[action="/f/x2/builds"] button');
  await sp.waitForURL(base + '/f/x2');
  await sp.goto(requestUrl);
  for (const [status, build] of [['acknowledged', ''], ['planned', ''], ['in_build', '3.3.0'], ['shipped', '3.3.0']]) {
    await sp.selectOption('form[action$="/status"] select[name=status]', status);
    await sp.selectOption('form[action$="/status"] select[name=build]', build);
    await sp.click('form[action$="/status"] button');
    await sp.waitForURL(requestUrl);
  }
  assert.ok(await sp.locator('h1 .status-shipped').isVisible());
  await sp.screenshot({ path: join(shots, '11-feedback-shipped.png'), fullPage: true });

  await page.goto(base + '/f/x2/builds/3.3.0');
  const entry = page.locator('[data-changelog-entry]', { hasText: '更新后电池掉电特别快' });
  assert.ok(await entry.isVisible());
  assert.ok(await entry.locator('a.credit', { hasText: 'camille' }).isVisible(), 'the voting fan is credited');
  assert.ok(await entry.locator('a.credit', { hasText: '小米粒' }).isVisible(), 'the reporter is credited');
  await page.screenshot({ path: join(shots, '12-changelog.png'), fullPage: true });
  await page.goto(base + '/notifications');
  assert.ok(await page.locator('.notif', { hasText: '更新后电池掉电特别快' }).first().isVisible(), 'the voter was notified');
  await fan.close();
  await staff.close();
});
