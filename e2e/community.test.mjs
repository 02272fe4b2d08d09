// End to end in real headless Chromium: a fan signs up, posts in Chinese, searches for it and
// sees the match highlighted.  Screenshots land in e2e/screenshots/ for a human to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, apiClient, launchChromium, shots } from './helpers.mjs';

let server, browser, base;

before(async () => {
  ({ server, base } = await startServer());
  const { api, account } = apiClient(base);
  // The first account is the administrator; it opens a board for fans.
  const token = await account('admin');
  await api('POST', '/api/v1/boards', { slug: 'aurora-x2', name: 'Aurora X2', description: '手机讨论 · Phone talk' }, token);
  browser = await launchChromium();
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
