// Every page a visitor can reach, as every role, in every language, at two phone sizes, on the
// demo community: no server error, no broken link, no page wider than the phone, no raw catalog
// key, no English interface sentence inside a Chinese or French page. Screenshots of the key
// pages (phone and desktop, zh and fr) land in e2e/screenshots/crawl/ for a human to look at.
//
//   FANLOOP_BIN=target/release/fanloop node --test crawl.test.mjs     (CRAWL_LIMIT=N pages per role)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { launchChromium, shots } from './helpers.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's critical and serious violations on the current page (WCAG 2.1 A and AA rules). */
async function axeViolations(page) {
  // Through the debugging protocol: the page's Content-Security-Policy allows no inline script.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations
      .filter((v) => v.impact === 'critical' || v.impact === 'serious')
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')} (${v.nodes.length})`);
  });
}

const here = new URL('.', import.meta.url).pathname;
const crawlShots = join(shots, 'crawl');
mkdirSync(crawlShots, { recursive: true });
const LIMIT = Number(process.env.CRAWL_LIMIT || 70);
const PHONES = [{ width: 360, height: 740 }, { width: 390, height: 844 }];
const LANGS = ['zh', 'en', 'fr'];
// Paths never followed: they act (sign out, switch language) or are not pages.
const SKIP = [/^\/signout/, /^\/lang\//, /^\/static\//, /^\/api\//, /^\/uploads\//, /\/stream$/, /\.(png|jpe?g|gif|log|txt|csv|json)$/i];
// Interface chrome, where a server message or a label would show; user content is not checked.
const CHROME = '.alert, [role=alert], .field-error, .error-card, label, th, button, summary, .status, .pill, legend';
// Words that occur in English sentences but not in French or Chinese ones.
const ENGLISH = /\b(the|must|cannot|this|with|exists|still|unknown|needs|should|already|please|only|before|after|your|you|not|is|are|was|has|have)\b/gi;
// Catalog keys look like `area.name`; the areas in use.
const RAW_KEY = /^(nav|admin|fb|ln|vet|cp|ls|tokens|notif|mod|err|thread|role|post|field|signup|search|profile|home|board|signin|page|compose|vetting|vet_report|vet_brand|triage|trending|submit|settings|footer|award|roadmap|changelog|uploads|avatar|watch|moderate|hub)\.[a-z0-9_.]+$/;

let server, base, browser, passwords;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

before(async () => {
  const binary = process.env.FANLOOP_BIN || join(here, '..', 'target', 'debug', 'fanloop');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const data = mkdtempSync(join(tmpdir(), 'fanloop-crawl-'));
  let out = '';
  server = spawn(binary, ['serve', '--addr', `127.0.0.1:${port}`, '--data', data], { env: { ...process.env, RUST_LOG: 'warn' } });
  server.stdout.on('data', (d) => { out += d; });
  server.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
  for (let i = 0; i < 1200; i++) {
    try { if ((await fetch(base + '/healthz')).ok && /share the password/.test(out)) break; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const admin = out.match(/Sign in as `admin` with password: (\S+)/);
  const member = out.match(/share the password: (\S+)/);
  assert.ok(admin && member, 'the demo printed its passwords:\n' + out.slice(0, 2000));
  passwords = { admin: admin[1], member: member[1] };
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

const ROLES = [
  { role: 'anonymous' },
  { role: 'fan', login: 'alex_chen', password: () => passwords.member },
  { role: 'staff', login: 'camera_lead_li', password: () => passwords.member },
  { role: 'admin', login: 'admin', password: () => passwords.admin },
];

async function contextFor(who, lang, viewport, mobile) {
  const context = await browser.newContext({
    viewport, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: mobile ? 2 : 1,
    locale: lang === 'zh' ? 'zh-CN' : lang === 'fr' ? 'fr-FR' : 'en-US',
    timezoneId: lang === 'zh' ? 'Asia/Shanghai' : lang === 'fr' ? 'Europe/Paris' : 'America/New_York',
  });
  await context.addCookies([{ name: 'fl_lang', value: lang, url: base }]);
  const page = await context.newPage();
  if (who.login) {
    await page.goto(base + '/signin');
    await page.fill('input[name=login]', who.login);
    await page.fill('input[name=password]', who.password());
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/signin')), page.click('main button[type=submit]')]);
  }
  return { context, page };
}

/** The status of a page load (an empty error body makes Chromium throw: that is a status too). */
async function visit(page, url) {
  try {
    return (await page.goto(url)).status();
  } catch (e) {
    const m = String(e).match(/ERR_HTTP_RESPONSE_CODE_FAILURE/);
    if (m) return 'empty error page';
    throw e;
  }
}

/** Same-origin page links on the current page, as paths. */
const linksOn = (page) => page.$$eval('a[href]', (as) => as.map((a) => a.href));

/** Pages reachable from `/` for one role: at most two per shape (digits folded), LIMIT in all. */
async function discover(who) {
  const { context, page } = await contextFor(who, 'en', { width: 1200, height: 900 }, false);
  // Every kind of page first, then whatever the links lead to.
  const everyone = ['/', '/f', '/f/aurora-x2', '/f/aurora-x2/roadmap', '/awards', '/drops', '/campaigns', '/search?q=%E7%9B%B8%E6%9C%BA', '/b/aurora-x2'];
  const members = who.role === 'anonymous' ? [] : ['/notifications', '/settings', '/uploads', '/orders', '/f/aurora-x2/new', '/b/aurora-x2/new'];
  const staffPages = who.role === 'staff' || who.role === 'admin'
    ? ['/trending', '/vetting', '/f/aurora-x2/triage', '/requests/1/merge', '/drops/new', '/drops/aurora-x3-launch/manage'] : [];
  const adminPages = who.role === 'admin' ? ['/mod', '/admin/users', '/admin/boards'] : [];
  const queue = [...everyone, ...members, ...staffPages, ...adminPages];
  const seen = new Set();
  const shapes = new Map();
  const found = [];
  while (queue.length && found.length < LIMIT) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    const shape = path.replace(/\d+/g, 'N').replace(/\?.*$/, '?');
    if ((shapes.get(shape) || 0) >= 2) continue;
    shapes.set(shape, (shapes.get(shape) || 0) + 1);
    const status = await visit(page, base + path);
    found.push({ path, status });
    if (typeof status !== 'number' || status >= 400) continue;
    for (const href of await linksOn(page)) {
      const u = new URL(href);
      if (u.origin !== base) continue;
      const p = u.pathname + u.search;
      if (SKIP.some((re) => re.test(u.pathname)) || seen.has(p)) continue;
      queue.push(p);
    }
  }
  await context.close();
  return found;
}

/** Problems on the page as it stands. */
async function inspect(page, lang, width) {
  return page.evaluate(({ lang, width, chrome, english, rawKey }) => {
    const problems = [];
    const doc = document.documentElement;
    const wide = Math.max(doc.scrollWidth, document.body.scrollWidth);
    if (wide > width || window.innerWidth > width) {
      const culprits = [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > width + 1 && getComputedStyle(el).position !== 'fixed')
        .filter((el) => !el.closest('[style*="overflow"], table, pre, .roadmap'))
        .slice(0, 3)
        .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '') + ` (${Math.round(el.getBoundingClientRect().right)} px)`);
      problems.push(`lays out ${wide} px wide (window ${window.innerWidth}) on a ${width} px phone: ${culprits.join(', ')}`);
    }
    const re = new RegExp(rawKey);
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent.trim();
      if (re.test(text)) problems.push(`raw catalog key "${text}"`);
    }
    for (const attr of ['placeholder', 'aria-label', 'title', 'alt']) {
      for (const el of document.querySelectorAll(`[${attr}]`)) {
        if (re.test(el.getAttribute(attr).trim())) problems.push(`raw catalog key in ${attr}: "${el.getAttribute(attr)}"`);
      }
    }
    if (lang !== 'en') {
      for (const el of document.querySelectorAll(chrome)) {
        if (el.closest('[lang]:not(html)')) continue;
        const text = el.textContent.replace(/\s+/g, ' ').trim();
        const words = text.match(new RegExp(english, 'gi')) || [];
        if (words.length >= 2) problems.push(`English in a ${lang} page (${el.tagName.toLowerCase()}): "${text.slice(0, 120)}"`);
      }
    }
    return problems;
  }, { lang, width, chrome: CHROME, english: ENGLISH.source, rawKey: RAW_KEY.source });
}

/** Pages that answer an error to this role, checked like any other page. */
const ERROR_PAGES = {
  anonymous: [['/t/999999999', 404], ['/settings', 401], ['/no/such/page', 404]],
  fan: [['/admin/users', 403], ['/f/aurora-x2/triage', 403]],
};

const KEY_PAGES = /^\/($|b\/|t\/|search|f\/[^/]+$|f\/[^/]+\/(new|roadmap|triage|builds\/)|requests\/|drops\/[^/]+$|orders|campaigns\/[^/]+|vetting\/|trending|hub($|\/(a\/|series\/|ask$|questions\/)))/;

test('every page, every role, every language, at 360 and 390 px', { timeout: 40 * 60 * 1000 }, async () => {
  const failures = [];
  let visits = 0;
  for (const who of ROLES) {
    const pages = await discover(who);
    for (const { path, status } of pages) {
      if (typeof status !== 'number' || status >= 500 || status === 404) failures.push(`${who.role} en ${path}: ${status}`);
    }
    const ok = pages.filter((p) => typeof p.status === 'number' && p.status < 400).map((p) => p.path);
    for (const lang of LANGS) {
      for (const phone of PHONES) {
        const { context, page } = await contextFor(who, lang, phone, true);
        for (const path of ok) {
          const status = await visit(page, base + path);
          visits += 1;
          if (typeof status !== 'number' || status >= 500) failures.push(`${who.role} ${lang} ${phone.width} ${path}: ${status}`);
          for (const p of await inspect(page, lang, phone.width)) failures.push(`${who.role} ${lang} ${phone.width} ${path}: ${p}`);
          if (phone.width === 390 && lang !== 'en' && KEY_PAGES.test(path)) {
            const name = `${who.role}-${lang}-phone-${path.replace(/[^a-z0-9]+/gi, '_').slice(0, 60) || 'home'}.png`;
            await page.screenshot({ path: join(crawlShots, name), fullPage: true });
          }
        }
        // Error pages: in the layout, in the reader's language, as narrow as the phone, accessible
        // (checked in the same signed-in browser: signing in again would meet the rate limit).
        if (phone.width === 390 && lang !== 'en') {
          for (const [path, expected] of ERROR_PAGES[who.role] || []) {
            const status = await visit(page, base + path);
            visits += 1;
            if (status !== expected) failures.push(`${who.role} ${lang} ${path}: ${status}, expected ${expected}`);
            for (const p of await inspect(page, lang, phone.width)) failures.push(`${who.role} ${lang} error ${path}: ${p}`);
            if (!(await page.$('header.topbar'))) failures.push(`${who.role} ${lang} error ${path}: no top bar`);
            for (const v of await axeViolations(page)) failures.push(`${who.role} ${lang} error ${path}: axe ${v}`);
            await page.screenshot({ path: join(crawlShots, `${who.role}-${lang}-error-${expected}-${path.replace(/[^a-z0-9]+/gi, '_')}.png`), fullPage: true });
          }
        }
        await context.close();
      }
    }
    // Desktop screenshots of the key pages, zh and fr, and axe-core on each (phone and desktop
    // share the markup; the phone's layout is checked above).
    for (const lang of ['zh', 'fr']) {
      const { context, page } = await contextFor(who, lang, { width: 1280, height: 900 }, false);
      for (const path of ok.filter((p) => KEY_PAGES.test(p))) {
        await page.goto(base + path);
        for (const v of await axeViolations(page)) failures.push(`${who.role} ${lang} desktop ${path}: axe ${v}`);
        const name = `${who.role}-${lang}-desktop-${path.replace(/[^a-z0-9]+/gi, '_').slice(0, 60) || 'home'}.png`;
        await page.screenshot({ path: join(crawlShots, name), fullPage: true });
      }
      await context.close();
    }
  }
  const unique = [...new Set(failures)];
  writeFileSync(join(crawlShots, 'problems.txt'), unique.join('\n') + '\n');
  console.log(`crawl: ${visits} page views, ${unique.length} problems`);
  assert.deepEqual(unique, [], unique.slice(0, 80).join('\n'));
});
