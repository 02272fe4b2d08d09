// Partner vetting in a real browser, in French: staff create a brand profile, upload a
// candidate's history (a malformed line is reported with its number), and the report says
// "high risk" with the hostile posts quoted, the incidents listed and the reasons translated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, apiClient, launchChromium, signIn, shots } from './helpers.mjs';

let server, browser, base;

before(async () => {
  ({ server, base } = await startServer());
  const { account } = apiClient(base);
  await account('admin');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

function history() {
  const ordinary = [
    'Testing three budget earbuds this week, full comparison on Friday',
    '今天去看了新开的咖啡店，拿铁不错',
    'Petit tour au salon de l\'auto, beaucoup de voitures électriques',
    '小米手环的续航比上一代短了一点',
    'The Xiaomi tablet\'s speakers are fine for videos',
  ];
  const start = Date.parse('2026-01-05T10:00:00Z');
  // Post i is dated i half-days after the start (the hostile ones, numbered from 80, last).
  const post = (i, text) => JSON.stringify({ id: `p${i}`, handle: 'loud_critic', platform: 'weibo', time: start + i * 43200000, text, likes: 10, reposts: 1, comments: 2, followers: 2570000, url: `https://weibo.example/loud_critic/${i}` });
  const lines = Array.from({ length: 80 }, (_, i) => post(i, ordinary[i % ordinary.length]));
  lines.splice(20, 0, post(80, '米粉都是脑残，被割了韭菜还帮着数钱'));
  lines.splice(40, 0, post(81, 'Xiaomi fans are losers who will buy anything with a logo'));
  lines.splice(50, 0, post(82, 'Les fans de Xiaomi sont des pigeons, point.'));
  lines.splice(60, 0, post(83, '法院判决我向某手机厂商公开道歉，我不服'));
  lines.splice(70, 0, post(84, 'My Weibo account got suspended for 30 days again lol'));
  lines.splice(9, 0, 'this is not json');
  return lines.join('\n');
}

test('staff vet a candidate: upload, row errors, a high-risk report in French', async () => {
  const { context, page } = await signIn(browser, base, 'admin', 'fr-FR');
  await page.goto(base + '/vetting');
  const brandForm = page.locator('form[action="/vetting/brands"]');
  await brandForm.locator('input[name=name]').fill('Xiaomi');
  await brandForm.locator('input[name=slug]').fill('xiaomi');
  await brandForm.locator('textarea[name=brand]').fill('Xiaomi\n小米');
  await brandForm.locator('textarea[name=fans]').fill('Mi Fans\n米粉');
  await brandForm.locator('button[type=submit]').click();
  await page.waitForURL(base + '/vetting/brands/xiaomi');

  await page.goto(base + '/vetting');
  await page.setInputFiles('form[action="/vetting/import"] input[type=file]', { name: 'loud_critic.jsonl', mimeType: 'application/json', buffer: Buffer.from(history()) });
  await page.click('form[action="/vetting/import"] button[type=submit]');
  await page.waitForSelector('[data-import-result]');
  assert.equal(await page.locator('[data-imported]').textContent(), '85');
  assert.equal(await page.locator('[data-rejected]').textContent(), '1');
  assert.match(await page.locator('[data-row-errors]').textContent(), /10/, 'the malformed line is named by its number');

  await page.click('[data-candidates] a[href*="/vetting/brands/xiaomi/candidates/"]');
  await page.waitForSelector('[data-verdict]');
  assert.equal(await page.locator('[data-verdict]').getAttribute('data-verdict'), 'high_risk');
  const reasons = await page.locator('.reasons').textContent();
  assert.match(reasons, /publications sur les fans de la marque leur sont hostiles/, 'reasons in French');
  assert.doesNotMatch(reasons, /are hostile toward them/);
  const severe = await page.locator('[data-severe-post]').allTextContents();
  for (const quote of ['米粉都是脑残', 'Xiaomi fans are losers', 'des pigeons']) {
    assert.ok(severe.some((t) => t.includes(quote)), `quoted: ${quote}`);
  }
  const incidents = await page.locator('[data-incident]').evaluateAll((rows) => rows.map((r) => r.dataset.incident));
  assert.ok(incidents.includes('court_ruling') && incidents.includes('account_ban'), incidents.join());
  await page.screenshot({ path: join(shots, '40-vetting-report-fr.png'), fullPage: true });
  await context.close();
});
