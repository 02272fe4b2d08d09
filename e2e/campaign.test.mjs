// A hashtag photo challenge in a real browser: a fan enters with a photo through the form, a
// refused upload says why and keeps the text, another fan votes (in French), and staff read the
// dashboard's completion against the targets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, apiClient, launchChromium, signIn as signInAs, shots } from './helpers.mjs';

let server, browser, base, api, account;
const signIn = (name, locale) => signInAs(browser, base, name, locale);

// A 2×2 orange PNG.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4n8kARAwQCgAragWhYZsWrgAAAABJRU5ErkJggg==', 'base64');

before(async () => {
  ({ server, base } = await startServer());
  ({ api, account } = apiClient(base));
  const admin = await account('admin');
  await account('夜景控');
  await account('lea');
  const now = Date.now();
  await api('POST', '/api/v1/campaigns', {
    slug: 'night-shots', title: '城市夜景 · Night shots', hashtag: '#城市夜景#', description: 'Shoot your city at night.',
    starts_at: now - 3600000, ends_at: now + 7 * 86400000,
    targets: { entries: 4, page_views: 20, exposure: 1000 }, max_entries_per_account: 2, max_votes_per_account: 2,
  }, admin);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('a fan enters with a photo, another votes, staff see the completion', async () => {
  const fan = await signIn('夜景控', 'zh-CN');
  await fan.page.goto(base + '/campaigns');
  await fan.page.click('[data-campaign="night-shots"]');
  await fan.page.waitForURL(base + '/campaigns/night-shots');
  assert.equal(await fan.page.locator('[data-hashtag]').textContent(), '#城市夜景#');

  // A file that is not an image: refused with the reason, the words kept.
  await fan.page.fill('form[data-entry-form] textarea[name=text]', '外滩的夜');
  await fan.page.setInputFiles('form[data-entry-form] input[type=file]', { name: 'notes.txt', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
  await fan.page.click('form[data-entry-form] button[type=submit]');
  assert.match(await fan.page.locator('[data-error]').textContent(), /只接受 PNG、JPEG 或 WebP 图片/, 'refused in the reader’s language');
  assert.equal(await fan.page.inputValue('form[data-entry-form] textarea[name=text]'), '外滩的夜');

  await fan.page.setInputFiles('form[data-entry-form] input[type=file]', [
    { name: 'bund.png', mimeType: 'image/png', buffer: png },
    { name: 'bund2.png', mimeType: 'image/png', buffer: png },
  ]);
  await fan.page.click('form[data-entry-form] button[type=submit]');
  await fan.page.waitForURL(/\/campaigns\/night-shots\?sort=new#entry-\d+$/);
  const entry = fan.page.locator('[data-entry]').first();
  assert.match(await entry.locator('.entry-text').textContent(), /^#城市夜景# 外滩的夜$/);
  assert.equal(await entry.locator('img').count(), 2);
  assert.ok(await entry.locator('img').first().evaluate((img) => img.complete && img.naturalWidth === 2), 'the image is served and decodes');
  assert.equal(await entry.locator('[data-vote]').count(), 0, 'no vote button on your own entry');
  await fan.page.screenshot({ path: join(shots, '30-campaign-entry.png'), fullPage: true });
  await fan.context.close();

  const voter = await signIn('lea', 'fr-FR');
  await voter.page.goto(base + '/campaigns/night-shots');
  assert.ok(await voter.page.getByText('En cours').first().isVisible());
  await voter.page.click('[data-entry] [data-vote]');
  await voter.page.waitForURL(/#entry-\d+$/);
  assert.equal(await voter.page.locator('[data-entry] [data-votes]').first().textContent(), '1');
  assert.equal(await voter.page.locator('[data-votes-left]').textContent(), '1');
  await voter.page.click('[data-entry] [data-unvote]');
  await voter.page.waitForURL(/#entry-\d+$/);
  assert.equal(await voter.page.locator('[data-entry] [data-votes]').first().textContent(), '0', 'the vote was taken back');
  await voter.page.click('[data-entry] [data-vote]');
  await voter.page.waitForURL(/#entry-\d+$/);
  await voter.context.close();

  const staff = await signIn('admin', 'en-US');
  await staff.page.goto(base + '/campaigns/night-shots/dashboard');
  const entries = staff.page.locator('[data-metric="entries"]');
  assert.equal(await entries.getAttribute('data-actual'), '1');
  assert.equal(await entries.getAttribute('data-completion'), '25.0');
  assert.match(await entries.locator('.completion').textContent(), /25\.0%/);
  assert.equal(await staff.page.locator('[data-metric="page_views"]').getAttribute('data-actual'), '6', 'every page a fan was shown (after the redirects too); staff not counted');
  await staff.page.screenshot({ path: join(shots, '31-campaign-dashboard.png'), fullPage: true });
  await staff.context.close();
});
