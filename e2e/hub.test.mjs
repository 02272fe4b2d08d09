// The knowledge hub in a real browser at phone width: staff define a stage segment and a
// choice, an expert writes a week-12 article through the form (a bad range is refused keeping
// what was typed), a fan gives her due date in Chinese and finds the article on "for you", a
// French reader searches; every hub page fits a 390 px screen and passes axe-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, apiClient, launchChromium, signIn as signInAs, shots, assertFits, axe } from './helpers.mjs';

let server, browser, base, api, account, admin, data;
const signIn = (name, locale) => signInAs(browser, base, name, locale);

const day = (offsetDays) => new Date(Date.now() + offsetDays * 86400000).toISOString().slice(0, 10);

before(async () => {
  ({ server, base, data } = await startServer());
  ({ api, account } = apiClient(base));
  admin = await account('admin');
  await account('林小雨');
  await account('小米粒');
  await account('lea');
  await api('POST', '/api/v1/hub/segments', {
    key: 'pregnancy', kind: 'stage', names: { en: 'Pregnancy', zh: '孕期', fr: 'Grossesse' },
    date_prompt: { en: 'Due date', zh: '预产期', fr: 'Date prévue' }, unit: 'week', offset: 40, min: 1, max: 42,
  }, admin);
  await api('POST', '/api/v1/hub/segments', {
    key: 'device', kind: 'choice', names: { en: 'Device owned', zh: '我的设备', fr: 'Appareil' },
    choices: [{ key: 'washer', names: { en: 'Washing machine', zh: '洗衣机', fr: 'Lave-linge' } }, { key: 'phone', names: { en: 'Phone', zh: '手机', fr: 'Téléphone' } }],
  }, admin);
  await api('POST', '/api/v1/hub/experts', { username: '林小雨', field: '育儿顾问', bio: '十年儿科护理经验。' }, admin);
  await api('POST', '/api/v1/hub/articles', {
    slug: 'sommeil', lang: 'fr', title: 'Le sommeil pendant la grossesse', summary: 'Dormir sur le côté gauche.',
    body: 'Dormir sur le **côté gauche** à partir du deuxième trimestre.', targets: [],
  }, admin);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

async function phone(who, locale) {
  const s = await signIn(who, locale);
  await s.page.setViewportSize({ width: 390, height: 844 });
  return s;
}

test('an expert writes, a fan gives her due date and finds her week, a reader searches', async () => {
  const expert = await phone('林小雨', 'zh-CN');
  await expert.page.goto(base + '/hub');
  await expert.page.click('[data-write]');
  await expert.page.fill('input[name=slug]', 'week-12');
  await expert.page.selectOption('select[name=lang]', 'zh');
  await expert.page.fill('input[name=title]', '孕 12 周：建档');
  await expert.page.fill('textarea[name=body]', '本周到医院**建档**。');
  // A picture from the composer's button: uploaded, its markdown put into the text.
  await expert.page.setInputFiles('[data-image-input]', {
    name: 'jiandang.png', mimeType: 'image/png',
    buffer: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'),
  });
  await expert.page.waitForFunction(() => /!\[jiandang\.png\]\(\/uploads\/[0-9a-f]{24}\/thumb\)/.test(document.querySelector('textarea[name=body]').value));
  await expert.page.fill('input[name=from_pregnancy]', '20');
  await expert.page.fill('input[name=to_pregnancy]', '12');
  await assertFits(expert.page, 'write form');
  await axe(expert.page, 'write form');
  await expert.page.click('form[data-article-form] button[type=submit]');
  assert.match(await expert.page.locator('[data-error]').textContent(), /阶段范围须在 1–42 之内/);
  assert.equal(await expert.page.inputValue('input[name=title]'), '孕 12 周：建档', 'the title is kept');
  await expert.page.fill('input[name=from_pregnancy]', '12');
  await expert.page.click('form[data-article-form] button[type=submit]');
  await expert.page.waitForURL(base + '/hub/a/week-12');
  assert.match(await expert.page.locator('.badge.expert').first().textContent(), /育儿顾问/);
  assert.equal(await expert.page.locator('main img[src^="/uploads/"]').count(), 1, 'the picture is in the article');
  await expert.page.screenshot({ path: join(shots, '60-hub-article-zh.png'), fullPage: true });
  await expert.context.close();

  const fan = await phone('小米粒', 'zh-CN');
  await fan.page.goto(base + '/hub');
  await fan.page.click('[data-hub-me]');
  await fan.page.fill('input[name=f_pregnancy]', day(28 * 7 - 3));
  await fan.page.selectOption('select[name=f_device]', 'washer');
  await assertFits(fan.page, 'my situation');
  await axe(fan.page, 'my situation');
  await fan.page.click('form[data-hub-me-form] button[type=submit]');
  await fan.page.waitForURL(base + '/hub/me?saved=1');
  assert.match(await fan.page.locator('[data-stage=pregnancy]').textContent(), /第 12 周/);
  await fan.page.screenshot({ path: join(shots, '61-hub-me-zh.png'), fullPage: true });
  await fan.page.goto(base + '/hub');
  assert.equal(await fan.page.locator('[data-for-you] [data-article]').first().getAttribute('data-article'), 'week-12');
  await assertFits(fan.page, 'for you');
  await axe(fan.page, 'for you');
  await fan.page.screenshot({ path: join(shots, '62-hub-for-you-zh.png'), fullPage: true });
  await fan.context.close();

  const reader = await phone('lea', 'fr-FR');
  await reader.page.goto(base + '/hub');
  await reader.page.fill('[data-hub-search] input[name=q]', 'sommeil');
  await reader.page.click('[data-hub-search] button[type=submit]');
  await reader.page.waitForURL(/\/hub\?q=sommeil/);
  assert.equal(await reader.page.locator('[data-results] [data-article]').count(), 1);
  await assertFits(reader.page, 'search');
  await axe(reader.page, 'search');
  await reader.page.screenshot({ path: join(shots, '63-hub-search-fr.png'), fullPage: true });
  await reader.context.close();

  const en = await phone('lea', 'en-US');
  await en.page.goto(base + '/hub/a/week-12');
  await assertFits(en.page, 'article');
  await axe(en.page, 'article');
  await en.page.goto(base + '/hub?q=&lang=all');
  assert.ok(await en.page.locator('[data-results] [data-article]').count() >= 2, 'an empty search lists every article');
  await axe(en.page, 'list');
  await en.context.close();

  const staff = await phone('admin', 'fr-FR');
  await staff.page.goto(base + '/hub/manage');
  await assertFits(staff.page, 'manage');
  await axe(staff.page, 'manage');
  await staff.page.screenshot({ path: join(shots, '64-hub-manage-fr.png'), fullPage: true });
  await staff.context.close();
});

test('a question to an expert: queue, a live answer, then the FAQ with consent', async () => {
  const fan = await phone('小米粒', 'zh-CN');
  await fan.page.goto(base + '/hub');
  await fan.page.click('[data-ask]');
  await fan.page.fill('form[data-ask-form] input[name=subject]', '夜里总醒');
  await fan.page.fill('form[data-ask-form] textarea[name=body]', '宝宝 2 个月，夜里每两小时醒一次，正常吗？');
  await assertFits(fan.page, 'ask');
  await axe(fan.page, 'ask');
  await fan.page.click('form[data-ask-form] button[type=submit]');
  await fan.page.waitForURL(/\/hub\/questions\/\d+$/);
  const url = fan.page.url();
  assert.match(await fan.page.locator('[data-queue-place]').textContent(), /第 1 位/);
  await assertFits(fan.page, 'conversation');
  await axe(fan.page, 'conversation');

  // The expert answers from her queue while the fan's page stays open.
  const expert = await phone('林小雨', 'en-US');
  await expert.page.goto(base + '/hub/ask');
  await expert.page.click('[data-queue] [data-conversation] a');
  await expert.page.fill('form[data-reply-form] textarea[name=body]', '两个月的宝宝夜醒 2–3 次是正常的。');
  await expert.page.click('form[data-reply-form] button[type=submit]');
  await expert.page.waitForURL(/#m-\d+$/);
  await fan.page.locator('[data-message]').nth(1).waitFor({ timeout: 8000 });
  assert.equal(fan.page.url(), url, 'the answer arrived without leaving the page');
  assert.match(await fan.page.locator('[data-conversation-status]').textContent(), /已回答/);
  await fan.page.screenshot({ path: join(shots, '65-hub-conversation-zh.png'), fullPage: true });

  // With the fan's consent the expert publishes the answer in the FAQ.
  await fan.page.click('form[data-consent-form] button[type=submit]');
  await fan.page.waitForURL(url);
  await expert.page.reload();
  await expert.page.click('details:has(form[data-faq-form]) summary');
  await expert.page.click('form[data-faq-form] button[type=submit]');
  await expert.page.waitForURL(/\/hub\/faq#faq-\d+$/);
  assert.equal(await expert.page.locator('[data-faq]').count(), 1);
  await assertFits(expert.page, 'faq');
  await axe(expert.page, 'faq');
  await expert.context.close();
  await fan.context.close();
});

test('staff define a segment on the page; a stage moves on as the days pass; a product card leads to an order', async () => {
  // Staff, in French, define a child's age in months; a range upside down is refused keeping
  // what was typed.
  const staff = await phone('admin', 'fr-FR');
  await staff.page.goto(base + '/hub/manage');
  await staff.page.click('details:has(form[data-new-segment]) summary');
  const f = 'form[data-new-segment] ';
  await staff.page.fill(f + 'input[name=key]', 'bebe');
  await staff.page.fill(f + 'input[name=name_en]', 'Baby age');
  await staff.page.fill(f + 'input[name=name_zh]', '宝宝月龄');
  await staff.page.fill(f + 'input[name=name_fr]', 'Âge du bébé');
  await staff.page.selectOption(f + 'select[name=kind]', 'stage');
  await staff.page.fill(f + 'input[name=prompt_en]', 'Birth date');
  await staff.page.fill(f + 'input[name=prompt_zh]', '出生日期');
  await staff.page.fill(f + 'input[name=prompt_fr]', 'Date de naissance');
  await staff.page.selectOption(f + 'select[name=unit]', 'month');
  await staff.page.fill(f + 'input[name=offset]', '0');
  await staff.page.fill(f + 'input[name=min]', '36');
  await staff.page.fill(f + 'input[name=max]', '0');
  await staff.page.click(f + 'button[type=submit]');
  assert.match(await staff.page.locator('[data-error]').textContent(), /la première avant la dernière/);
  assert.equal(await staff.page.inputValue(f + 'input[name=name_fr]'), 'Âge du bébé', 'kept as typed');
  await assertFits(staff.page, 'segment refused');
  await axe(staff.page, 'segment refused');
  await staff.page.fill(f + 'input[name=min]', '0');
  await staff.page.fill(f + 'input[name=max]', '36');
  await staff.page.click(f + 'button[type=submit]');
  await staff.page.waitForLoadState();
  const segments = await api('GET', '/api/v1/hub/segments');
  assert.ok(segments.some((s) => s.key === 'bebe' && s.rule.unit === 'month'), 'the segment exists');
  // Then renames it in French from its edit form, filled with what is stored.
  await staff.page.goto(base + '/hub/manage');
  await staff.page.click('details:has(form[data-edit-segment=bebe]) summary');
  const e = 'form[data-edit-segment=bebe] ';
  assert.equal(await staff.page.inputValue(e + 'input[name=max]'), '36', 'filled with what is stored');
  await assertFits(staff.page, 'segment edit');
  await axe(staff.page, 'segment edit');
  await staff.page.locator('form[data-edit-segment=bebe]').screenshot({ path: join(shots, '67-hub-segment-edit-fr.png') });
  await staff.page.fill(e + 'input[name=name_fr]', 'Âge de bébé (mois)');
  await staff.page.click(e + 'button[type=submit]');
  await staff.page.waitForLoadState();
  const renamed = (await api('GET', '/api/v1/hub/segments')).find((s) => s.key === 'bebe');
  assert.equal(renamed.names.fr, 'Âge de bébé (mois)');
  assert.equal(renamed.rule.max, 36, 'the rest stays');
  await staff.context.close();

  // A month-3 guide carrying a drop's product card.
  const now = Date.now();
  await api('POST', '/api/v1/drops', {
    slug: 'bottle', name: '恒温奶瓶 Bottle warmer', price_cents: 29900, per_account_limit: 1,
    reservations_open_at: now - 60000, reservations_close_at: now - 1000, opens_at: now - 1000, closes_at: now + 86400000 * 60,
    mode: { kind: 'open' }, variants: [{ name: 'White', stock: 20 }],
  }, admin);
  await api('POST', '/api/v1/hub/articles', {
    slug: 'month-3', lang: 'zh', title: '3 个月：夜奶', summary: '夜里喂奶的小窍门。',
    body: '夜奶时奶温要稳定。\n\n[[drop:bottle]]', targets: [{ dimension: 'bebe', from: 3, to: 3 }],
  }, admin);

  // A mother gives the birth date: month 2 today.
  const fan = await phone('小米粒', 'zh-CN');
  await fan.page.goto(base + '/hub/me');
  await fan.page.fill('input[name=f_bebe]', day(-70));
  await fan.page.click('form[data-hub-me-form] button[type=submit]');
  await fan.page.waitForURL(base + '/hub/me?saved=1');
  assert.match(await fan.page.locator('[data-stage=bebe]').textContent(), /第 2 个月/);
  await fan.page.goto(base + '/hub');
  assert.notEqual(await fan.page.locator('[data-for-you] [data-article]').first().getAttribute('data-article'), 'month-3');

  // A month later (the server restarted with its hub clock 31 days ahead, same data): month 3,
  // and its guide first for her, with nothing stored but the date.
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  ({ server, base } = await startServer(['--hub-days-ahead', '31'], data));
  await fan.page.goto(base + '/hub/me');
  assert.match(await fan.page.locator('[data-stage=bebe]').textContent(), /第 3 个月/);
  await fan.page.goto(base + '/hub');
  assert.equal(await fan.page.locator('[data-for-you] [data-article]').first().getAttribute('data-article'), 'month-3');
  await assertFits(fan.page, 'for you a month later');
  await axe(fan.page, 'for you a month later');

  // The guide's product card leads to the drop, where she orders.
  await fan.page.goto(base + '/hub/a/month-3');
  await fan.page.click('[data-product=bottle] a');
  await fan.page.waitForURL(base + '/drops/bottle');
  await fan.page.click('form[data-buy] button[type=submit]');
  await fan.page.waitForURL(base + '/drops/bottle');
  assert.equal(await fan.page.locator('[data-order]').count(), 1, 'ordered from the card');
  await fan.page.screenshot({ path: join(shots, '66-hub-card-order-zh.png'), fullPage: true });
  await fan.context.close();
});
