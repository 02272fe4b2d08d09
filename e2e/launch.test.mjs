// A fan buys during an open sale in a real browser: live countdown and stock, an F-code
// holder buys early, a double submit does not buy twice, and the order is paid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, apiClient, launchChromium, signIn as signInAs, shots } from './helpers.mjs';

let server, browser, base, code, api, account;
const signIn = (name, locale) => signInAs(browser, base, name, locale);

before(async () => {
  ({ server, base } = await startServer());
  ({ api, account } = apiClient(base));
  const admin = await account('admin');
  await account('米粉老王');
  await account('honorary_dev');
  const now = Date.now();
  await api('POST', '/api/v1/drops', {
    slug: 'x2', name: 'Aurora X2 首发', price_cents: 399900, per_account_limit: 2,
    reservations_open_at: now - 60000, reservations_close_at: now + 4000, fcode_opens_at: now - 1000, opens_at: now + 4000, closes_at: now + 3600000,
    mode: { kind: 'open' }, variants: [{ name: '12+256 Black', stock: 5, fcode_stock: 1 }],
  }, admin);
  [{ code }] = await api('POST', '/api/v1/drops/x2/fcodes', { usernames: ['honorary_dev'] }, admin);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('an F-code holder buys early, a fan buys when the sale opens, and pays', async () => {
  const early = await signIn('honorary_dev', 'en-US');
  await early.page.goto(base + '/drops/x2');
  await early.page.fill('input[name=fcode]', code);
  await early.page.click('form[data-buy] button');
  await early.page.waitForURL(base + '/drops/x2');
  assert.equal(await early.page.locator('[data-order]').count(), 1, 'the F-code bought before the opening');
  await early.context.close();

  const { context, page } = await signIn('米粉老王', 'zh-CN');
  await page.goto(base + '/drops/x2');
  assert.match(await page.locator('[data-countdown]').textContent(), /⏱ 0:00:0\d/, 'a live countdown');
  await page.click('form[data-buy] button');
  assert.ok(await page.locator('[data-error]', { hasText: '尚未开售' }).isVisible(), 'too early: a clear message, nothing sold');
  await page.screenshot({ path: join(shots, '20-launch-before-opening.png'), fullPage: true });
  await page.waitForFunction(() => document.querySelector('[data-countdown]').textContent === '正在发售', null, { timeout: 10000 });
  // Submitting the same form twice (double click, slow network) buys once.
  const firstSubmit = await page.locator('form[data-buy]').evaluate(async (f) => {
    const r = await fetch(f.action, { method: 'POST', body: new URLSearchParams(new FormData(f)), redirect: 'manual' });
    return r.type === 'opaqueredirect' || r.status === 303;
  });
  assert.ok(firstSubmit, 'the first submission went through');
  await page.click('form[data-buy] button');
  await page.waitForURL(base + '/drops/x2');
  assert.equal(await page.locator('[data-order]').count(), 1, 'the second submission of the same form replayed the order');
  await page.screenshot({ path: join(shots, '21-launch-bought.png'), fullPage: true });
  // Live stock: another buyer's purchase shows up without a reload.
  const before = await page.locator('[data-remaining]').first().textContent();
  const other = await account('second_fan');
  const variant = (await api('GET', '/api/v1/drops/x2')).drop.variants[0].id;
  const r = await fetch(base + '/api/v1/drops/x2/purchase', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + other, 'idempotency-key': 'k1' }, body: JSON.stringify({ variant_id: variant }) });
  assert.equal(r.status, 201);
  await page.waitForFunction((b) => document.querySelector('[data-remaining]').textContent !== b, before, { timeout: 5000 });
  await page.click('[data-order] button');
  await page.waitForURL(base + '/drops/x2');
  assert.ok(await page.locator('[data-order]', { hasText: '已支付' }).isVisible(), 'paid');
  await page.screenshot({ path: join(shots, '22-launch-paid.png'), fullPage: true });
  await context.close();
});
