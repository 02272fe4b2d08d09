// Ordering by posting in a real browser at phone width, in Chinese, French and English: the post
// box starts with the brand's suggested text and the hashtag; a too short post is refused in the
// reader's language keeping what was typed; an order placed by posting lands on the wall (live
// for someone else watching it) and in the forum; a copy of another member's words is refused;
// a moderator hides a post from the wall's page.  Every page fits 390 px and passes axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, apiClient, launchChromium, signIn as signInAs, shots, assertFits, axe } from './helpers.mjs';

let server, browser, base, api, account, admin, jenny;

async function phone(who, locale) {
  const s = await signInAs(browser, base, who, locale);
  await s.page.setViewportSize({ width: 390, height: 844 });
  return s;
}

before(async () => {
  ({ server, base } = await startServer());
  ({ api, account } = apiClient(base));
  admin = await account('admin');
  await account('林小雨');
  await account('camille');
  jenny = await account('jenny');
  await api('POST', '/api/v1/boards', { slug: 'buds', name: 'Aurora Buds', description: '耳机' }, admin);
  const now = Date.now();
  const drop = await api('POST', '/api/v1/drops', {
    slug: 'buds', name: 'Aurora Buds 晒单首发', price_cents: 49900, per_account_limit: 1,
    reservations_open_at: now - 60000, reservations_close_at: now - 1000, opens_at: now - 1000, closes_at: now + 3600000,
    mode: { kind: 'open' }, variants: [{ name: 'Obsidian', stock: 10 }],
    share: { on: 'buy', hashtag: 'Buds晒单', template: '我在 fanloop 抢 Aurora Buds，一起来！', min_chars: 8, board: 'buds' },
  }, admin);
  assert.ok(drop.share_thread_id, 'the wall has its forum thread');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

test('a fan orders by posting in Chinese; the post is on the wall and in the forum', async () => {
  const { context, page } = await phone('林小雨', 'zh-CN');
  await page.goto(base + '/drops/buds');
  assert.equal(await page.inputValue('textarea[name=post]'), '我在 fanloop 抢 Aurora Buds，一起来！ #Buds晒单#', 'prefilled');
  assert.match(await page.locator('form[data-buy] button[type=submit]').textContent(), /发帖并下单/);
  await assertFits(page, 'share drop (zh)');
  await axe(page, 'share drop (zh)');
  await page.fill('textarea[name=post]', '好 #Buds晒单#');
  await page.click('form[data-buy] button[type=submit]');
  assert.match(await page.locator('[data-error]').textContent(), /至少需要 8 个你自己写的字/);
  assert.equal(await page.inputValue('textarea[name=post]'), '好 #Buds晒单#', 'what was typed is kept');
  assert.equal(await page.locator('[data-order]').count(), 0, 'no order without a valid post');
  await page.fill('textarea[name=post]', '降噪很强，通勤地铁上终于听得清播客了！');
  await page.click('form[data-buy] button[type=submit]');
  await page.waitForURL(base + '/drops/buds');
  assert.equal(await page.locator('[data-order]').count(), 1, 'ordered');
  assert.ok(await page.locator('[data-my-post]').first().isVisible(), 'told the post is on the wall');
  assert.match(await page.locator('[data-wall-post]').first().textContent(), /降噪很强.*#Buds晒单#/s);
  await page.screenshot({ path: join(shots, '70-share-ordered-zh.png'), fullPage: true });
  // The forum thread mirrors it within a few seconds.
  const forum = await page.locator('.wall a[href^="/t/"]').getAttribute('href');
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    await page.goto(base + forum);
    found = (await page.locator('main', { hasText: '降噪很强，通勤地铁上终于听得清播客了' }).count()) > 0;
    if (!found) await page.waitForTimeout(300);
  }
  assert.ok(found, 'the post is a reply in the forum thread');
  await assertFits(page, 'forum thread of the wall');
  await context.close();
});

test('a French fan watches the wall live, is refused a copy, and orders with the suggested text', async () => {
  const { context, page } = await phone('camille', 'fr-FR');
  await page.goto(base + '/drops/buds');
  const before = await page.locator('[data-wall-post]').count();
  const r = await fetch(base + '/api/v1/drops/buds/purchase', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + jenny, 'idempotency-key': 'jenny-1' },
    body: JSON.stringify({ variant_id: (await (await fetch(base + '/api/v1/drops/buds')).json()).drop.variants[0].id, post: 'The case fits in my coin pocket and pairing is instant.' }),
  });
  assert.equal(r.status, 201, await r.text());
  await page.waitForFunction((n) => document.querySelectorAll('[data-wall-post]').length === n + 1, before, { timeout: 12000 });
  assert.match(await page.locator('[data-wall-post]').first().textContent(), /coin pocket/, 'the new post appeared without a reload');
  await page.fill('textarea[name=post]', 'The case fits in my coin pocket, and pairing is instant!');
  await page.click('form[data-buy] button[type=submit]');
  assert.match(await page.locator('[data-error]').textContent(), /Un autre membre a déjà publié ces mots/);
  assert.equal(await page.inputValue('textarea[name=post]'), 'The case fits in my coin pocket, and pairing is instant!');
  await assertFits(page, 'share drop refused (fr)');
  await axe(page, 'share drop refused (fr)');
  await page.fill('textarea[name=post]', '我在 fanloop 抢 Aurora Buds，一起来！ #Buds晒单#');
  await page.click('form[data-buy] button[type=submit]');
  await page.waitForURL(base + '/drops/buds');
  assert.equal(await page.locator('[data-order]').count(), 1, 'the suggested text is never a copy');
  assert.match(await page.locator('[data-my-post]').first().textContent(), /Votre publication est sur le mur/);
  await page.screenshot({ path: join(shots, '71-share-ordered-fr.png'), fullPage: true });
  await context.close();
});

test('a moderator hides a post from the wall page; the order stands', async () => {
  const { context, page } = await phone('admin', 'en-US');
  await page.goto(base + '/drops/buds');
  const total = await page.locator('[data-wall-post]').count();
  const jennys = page.locator('[data-wall-post]', { hasText: 'coin pocket' });
  await jennys.locator('button', { hasText: 'Hide' }).click();
  assert.match(await page.locator('[data-notice]').textContent(), /Post hidden/);
  assert.match(await page.locator('[data-wall-post]', { hasText: 'coin pocket' }).textContent(), /hidden by a moderator/, 'moderators still see it, marked');
  await assertFits(page, 'wall as a moderator');
  await axe(page, 'wall as a moderator');
  const wall = await (await fetch(base + '/api/v1/drops/buds/wall')).json();
  assert.equal(wall.posts.length, total - 1, 'gone from the public wall');
  assert.ok(!wall.posts.some((p) => p.username === 'jenny'));
  const me = await api('GET', '/api/v1/drops/buds/me', undefined, jenny);
  assert.equal(me.bought, 1, 'her order stands');
  assert.equal(me.post_hidden, true);
  await context.close();
});
