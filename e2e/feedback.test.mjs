// The Orange Friday loop in a real browser: a fan files feedback, is offered the existing
// duplicate and votes for it instead; staff ship it; the build's changelog credits the fan.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, apiClient, launchChromium, signIn, shots } from './helpers.mjs';

let server, browser, base, api, account;

before(async () => {
  ({ server, base } = await startServer());
  ({ api, account } = apiClient(base));
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
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('file, see the duplicate, vote, staff ships, the changelog credits the fan', async () => {
  const { context: fan, page } = await signIn(browser, base, 'camille', 'fr-FR');
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

  const { context: staff, page: sp } = await signIn(browser, base, 'battery_emma');
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
  const row = page.locator('.notif', { hasText: '更新后电池掉电特别快' });
  assert.ok(await row.first().isVisible(), 'the voter was notified');
  assert.equal(await row.count(), 1, 'four status changes of one request are one row');
  assert.match(await row.textContent(), /Livré/, 'the new status is named, in French');
  assert.match(await row.textContent(), /×4/, 'with how many changes');
  await page.reload();
  assert.equal(await page.locator('[data-unread]').count(), 0, 'reading the page cleared the bell');
  await fan.close();
  await staff.close();
});
