// Accounts on a phone, in Chinese and French, against a real SMTP server: sign up → confirm the
// address from the mail → forgot password → reset from the mail → notification preferences →
// devices; a moderator suspends a member and the audit log shows it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
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

/** A `w` × `h` PNG (a gradient), written here so the test needs no file. */
function makePng(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8 bits, RGB
  const rows = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + 3 * w);
    for (let x = 0; x < w; x++) { row[1 + 3 * x] = (x * 255 / w) | 0; row[2 + 3 * x] = (y * 255 / h) | 0; row[3 + 3 * x] = 140; }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('pictures on a phone in French: a display name, an avatar, and a picture added from the composer', async () => {
  const adminToken = (await api('POST', '/api/v1/tokens', { login: 'admin', password: 'password123' })).token;
  await api('POST', '/api/v1/boards', { slug: 'photos', name: 'Photos', description: 'Vos photos' }, adminToken);
  await account('amelie');
  const context = await browser.newContext({ ...phone, locale: 'fr-FR', extraHTTPHeaders: { 'Accept-Language': 'fr-FR' } });
  const page = await context.newPage();
  await page.goto(local('/signin'));
  await page.fill('input[name=login]', 'amelie');
  await page.fill('input[name=password]', 'password123');
  await page.click('main button[type=submit]');
  await page.waitForURL(local('/'));

  // A display name that passes for the administrator is refused, in French, and kept.
  await page.goto(local('/settings'));
  await page.fill('#display_name', 'Admin');
  await page.click('form[action="/settings/profile"] button[type=submit]');
  await page.locator('#display_name-error').waitFor();
  assert.match(await page.locator('#display_name-error').innerText(), /ressemble au nom d’un autre membre/);
  assert.equal(await page.locator('#display_name').inputValue(), 'Admin', 'what was typed stays');
  await page.fill('#display_name', 'Amélie R.');
  await page.click('form[action="/settings/profile"] button[type=submit]');
  await page.waitForURL(/profile=1/);

  // An avatar from the phone's pictures.
  await page.setInputFiles('#avatar-file', { name: 'moi.png', mimeType: 'image/png', buffer: makePng(600, 400) });
  await page.click('form[action="/settings/avatar"] button[type=submit]');
  await page.waitForURL(/avatar=1/);
  const avatar = page.locator('#avatar img.avatar');
  await avatar.waitFor();
  assert.equal(await avatar.evaluate((img) => img.naturalWidth), 256, 'the centre square, 256 px');
  await assertFits(page, 'settings with an avatar');
  await page.screenshot({ path: join(shots, 'accounts-08-avatar-fr.png'), fullPage: true });

  // A picture from the composer's button: its markdown goes into the text, the post shows it.
  await page.goto(local('/b/photos/new'));
  await page.fill('input[name=title]', 'Coucher de soleil');
  await page.fill('textarea[name=body]', 'Mode nuit, sans trépied.');
  assert.ok(await page.locator('[data-image-button]').isVisible(), 'the picture button shows with JavaScript');
  await page.setInputFiles('[data-image-input]', { name: 'soleil.png', mimeType: 'image/png', buffer: makePng(2400, 1200) });
  await page.waitForFunction(() => /!\[soleil\.png\]\(\/uploads\/[0-9a-f]{24}\/thumb\)/.test(document.querySelector('textarea[name=body]').value));
  // A file that is not a picture: the reason, in French, and nothing inserted.
  await page.setInputFiles('[data-image-input]', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('bonjour') });
  await page.locator('[data-image-status]', { hasText: 'seules les images PNG' }).waitFor();
  await page.click('main button[type=submit]');
  await page.waitForURL(/\/t\/\d+/);
  const shown = page.locator('.post-body img').first();
  await shown.waitFor();
  assert.equal(await shown.evaluate((img) => img.naturalWidth), 640, 'the thumbnail, 640 px');
  assert.ok(await page.locator('.post .author .display-name', { hasText: 'Amélie R.' }).first().isVisible());
  assert.ok(await page.locator('.post img.avatar.small').first().isVisible(), 'the avatar beside the post');
  await assertFits(page, 'a post with a picture');
  await page.screenshot({ path: join(shots, 'accounts-09-picture-post-fr.png'), fullPage: true });
  await context.close();
});
