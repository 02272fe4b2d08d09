// Accounts on a phone, in Chinese and French, against a real SMTP server: sign up → confirm the
// address from the mail → forgot password → reset from the mail → notification preferences →
// devices; a moderator suspends a member and the audit log shows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, startSmtpSink, apiClient, launchChromium, assertFits, shots } from './helpers.mjs';

let server, browser, base, sink, api, account;
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

before(async () => {
  sink = await startSmtpSink();
  ({ server, base } = await startServer(['--smtp-url', sink.url]));
  ({ api, account } = apiClient(base));
  await account('admin');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  sink?.stop();
});

const local = (path) => base + path;

test('a fan signs up on a phone in Chinese and confirms the address from the mail', async () => {
  const context = await browser.newContext({ ...phone, locale: 'zh-CN', extraHTTPHeaders: { 'Accept-Language': 'zh-CN' } });
  const page = await context.newPage();
  await page.goto(base + '/signup');
  await page.fill('input[name=username]', '米粉小王');
  await page.fill('input[name=email]', 'wang@example.com');
  await page.fill('input[name=password]', 'password123');
  await page.click('main button[type=submit]');
  await page.waitForURL(base + '/');
  await page.goto(base + '/settings');
  assert.ok(await page.getByText('未验证').first().isVisible());
  await assertFits(page, 'settings');
  await page.screenshot({ path: join(shots, 'accounts-01-settings-zh.png'), fullPage: true });

  const link = await sink.linkIn('wang@example.com', '/account/verify/');
  await page.goto(local(link));
  await assertFits(page, 'verify');
  await page.click('main button[type=submit]');
  assert.ok(await page.getByRole('heading', { name: '邮箱已验证' }).isVisible());

  await page.goto(base + '/settings/notifications');
  await page.selectOption('select[name="kind.mention"]', 'digest');
  await page.click('main button[type=submit]');
  assert.ok(await page.getByText('已保存。').isVisible());
  await assertFits(page, 'notification preferences');
  await page.screenshot({ path: join(shots, 'accounts-02-preferences-zh.png'), fullPage: true });

  await page.goto(base + '/settings/sessions');
  assert.ok(await page.getByText('当前设备').isVisible());
  await assertFits(page, 'sessions');
  await context.close();
});

test('a fan who forgot the password resets it from the mail, in French', async () => {
  await account('claire');
  const context = await browser.newContext({ ...phone, locale: 'fr-FR', extraHTTPHeaders: { 'Accept-Language': 'fr-FR' } });
  const page = await context.newPage();
  await page.goto(base + '/signin');
  await page.click('text=Mot de passe oublié ?');
  await page.fill('input[name=login]', 'claire@example.com');
  await assertFits(page, 'forgot');
  await page.click('main button[type=submit]');
  assert.ok(await page.getByRole('heading', { name: 'Consultez votre messagerie' }).isVisible());
  const link = await sink.linkIn('claire', '/account/reset/');
  await page.goto(local(link));
  await page.fill('input[name=password]', 'nouveau-mot-1');
  await page.fill('input[name=confirm]', 'autre-mot-2');
  await page.click('main button[type=submit]');
  assert.ok(await page.getByRole('alert').isVisible(), 'the two passwords differ');
  await page.fill('input[name=password]', 'nouveau-mot-1');
  await page.fill('input[name=confirm]', 'nouveau-mot-1');
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/settings/);
  assert.ok(await page.getByText('Votre mot de passe est réinitialisé').isVisible());
  await assertFits(page, 'settings after reset');
  await page.screenshot({ path: join(shots, 'accounts-03-reset-fr.png'), fullPage: true });
  await context.close();
});

test('a moderator suspends a member from the phone; the audit log shows it', async () => {
  const trollToken = await account('troll');
  const context = await browser.newContext({ ...phone, locale: 'zh-CN', extraHTTPHeaders: { 'Accept-Language': 'zh-CN' } });
  const page = await context.newPage();
  await page.goto(base + '/signin');
  await page.fill('input[name=login]', 'admin');
  await page.fill('input[name=password]', 'password123');
  await page.click('main button[type=submit]');
  await page.waitForURL(base + '/');
  const users = await api('GET', '/api/v1/users', undefined, (await api('POST', '/api/v1/tokens', { login: 'admin', password: 'password123' })).token);
  const troll = users.find((u) => u.username === 'troll');
  await page.goto(`${base}/admin/users/${troll.id}`);
  await page.check('input[name=kind][value=suspend]');
  await page.fill('input[name=days]', '3');
  await page.fill('textarea[name=reason]', '发布广告');
  await assertFits(page, 'moderation');
  await page.click('form[action$="/sanction"] button[type=submit]');
  await page.waitForLoadState();
  assert.ok(await page.getByText('发布广告').first().isVisible(), await page.locator('main').innerText());
  await page.screenshot({ path: join(shots, 'accounts-04-moderate-zh.png'), fullPage: true });
  const r = await fetch(base + '/api/v1/me', { headers: { authorization: 'Bearer ' + trollToken } });
  assert.equal(r.status, 403, 'the token stopped working');
  await page.goto(base + '/admin/audit');
  assert.ok(await page.locator('li.card strong', { hasText: 'user.suspend' }).first().isVisible());
  await assertFits(page, 'audit log');
  await page.goto(base + '/admin/mail');
  await assertFits(page, 'outbox');
  await page.screenshot({ path: join(shots, 'accounts-05-outbox-zh.png'), fullPage: true });
  await context.close();
});

test('the composer on a phone: @ suggestions, live preview, a draft kept across a reload, quoting', async () => {
  const adminToken = (await api('POST', '/api/v1/tokens', { login: 'admin', password: 'password123' })).token;
  await api('POST', '/api/v1/boards', { slug: 'x2', name: 'X2', description: '讨论' }, adminToken);
  await api('PUT', '/api/v1/users/claire/role', { role: 'beta_tester' }, adminToken);
  const context = await browser.newContext({ ...phone, locale: 'zh-CN', extraHTTPHeaders: { 'Accept-Language': 'zh-CN' } });
  const page = await context.newPage();
  await page.goto(base + '/signin');
  await page.fill('input[name=login]', 'claire');
  await page.fill('input[name=password]', 'nouveau-mot-1');
  await page.click('main button[type=submit]');
  await page.waitForURL(base + '/');
  await page.goto(base + '/b/x2/new');
  await page.fill('input[name=title]', '夜景对焦');
  const area = page.locator('textarea[name=body]');
  await area.click();
  await area.pressSequentially('**对焦**慢，@adm', { delay: 20 });
  const option = page.locator('[data-mention-list] li', { hasText: '@admin' });
  await option.waitFor();
  await area.press('ArrowDown');
  await area.press('Enter');
  assert.match(await area.inputValue(), /@admin $/);
  await page.click('[data-preview-toggle]');
  await page.locator('[data-preview] strong', { hasText: '对焦' }).waitFor();
  await assertFits(page, 'composer');
  await page.screenshot({ path: join(shots, 'accounts-06-composer-zh.png'), fullPage: true });

  await page.reload();
  assert.match(await page.locator('textarea[name=body]').inputValue(), /\*\*对焦\*\*慢，@admin/, 'draft restored');
  assert.ok(await page.getByText('已恢复草稿').isVisible());
  assert.equal(await page.locator('input[name=title]').inputValue(), '夜景对焦', 'the title too');
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/t\/\d+/);
  await page.goto(base + '/b/x2/new');
  assert.equal(await page.locator('textarea[name=body]').inputValue(), '', 'the draft went with the post');

  // Quote the opening post into a reply (no selection: the whole post).
  await page.goBack();
  const quote = page.locator('a[data-quote]').first();
  assert.ok(await quote.isVisible(), `a quote link on ${page.url()}`);
  await Promise.all([page.waitForURL(/quote=/), quote.click()]);
  assert.match(await page.locator('#reply-body').inputValue(), /^> \*\*对焦\*\*慢/);
  await context.close();
});
