// Drives the operator console in Debian's headless Chromium and prints what each page showed as
// one JSON line (the e2e test [console] asserts on it). Usage: node console.mjs '<json config>'
// with {url: admin base URL, token, out: screenshot dir, phone: a full E.164 phone, masked}.
import puppeteer from 'puppeteer-core';

const cfg = JSON.parse(process.argv[2]);
const out = {};
const consoleErrors = [];
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--window-size=1400,900'],
  defaultViewport: { width: 1400, height: 900 },
});
const texts = (page, sel) => page.$$eval(sel, (es) => es.map((e) => e.textContent.trim()));
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  const shot = (name) => page.screenshot({ path: `${cfg.out}/console-${name}.png`, fullPage: true });

  const res = await page.goto(cfg.url + '/console/', { waitUntil: 'networkidle0' });
  out.csp_header = res.headers()['content-security-policy'] || '';
  await page.waitForSelector('#login:not([hidden])');
  out.login_shown = true;
  await page.type('#token', cfg.token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
  out.token_in_session_storage = await page.evaluate(() => sessionStorage.length === 1);

  // Deliveries: masked by default; a row's story; reveal shows the phone.
  await page.waitForSelector('tr.delivery');
  const masked = await texts(page, 'tr.delivery td.recipient');
  out.masked_seen = masked.includes(cfg.masked);
  out.full_phone_hidden = !(await page.evaluate((p) => document.body.textContent.includes(p), cfg.phone));
  out.statuses = await page.$$eval('tr.delivery', (es) => es.map((e) => e.dataset.status));
  await page.click('tr.delivery');
  await page.waitForSelector('#story ol.story li');
  out.story_kinds = await texts(page, '#story ol.story li .badge.kind');
  await shot('deliveries');
  await page.click('#reveal');
  await page.waitForFunction((p) => [...document.querySelectorAll('tr.delivery td.recipient')].some((e) => e.textContent === p), {}, cfg.phone);
  out.revealed_seen = true;

  // Queues: the failed row has Requeue (and Cancel).
  await page.goto(cfg.url + '/console/#/queues');
  await page.waitForSelector('#queue-view .cards');
  out.failed_rows = (await page.$$('tr.queue-row[data-status=failed]')).length;
  out.requeue_buttons = (await page.$$('tr.queue-row[data-status=failed] button.requeue')).length;
  await shot('queues');

  // Sessions, the bot, providers and the chart.
  await page.goto(cfg.url + '/console/#/sessions');
  await page.waitForSelector('tr.session');
  out.sessions = (await page.$$('tr.session')).length;
  await page.click('tr.session');
  await page.waitForSelector('#session-detail pre.json');
  out.close_button = (await page.$$('#session-detail button.close-session')).length;
  await shot('sessions');

  await page.goto(cfg.url + '/console/#/bot');
  await page.waitForSelector('#bot-view .cards, #bot-view .error');
  out.handoffs = (await page.$$('tr.handoff')).length;
  const card = (cls) => page.$eval(`#bot-view .card.${cls} .value`, (e) => e.textContent.trim()).catch(() => null);
  out.bot_questions = await card('questions');
  out.bot_answers = await card('bot-answers');
  out.bot_answer_rate = await card('answer-rate');
  out.handoff_replied = await page.$$eval('tr.handoff', (es) => es.map((e) => e.dataset.replied));
  out.replied_cells = await texts(page, 'tr.handoff td.replied');
  out.top_articles = await texts(page, 'tr.article td.title');
  out.top_article_cited = await texts(page, 'tr.article td.cited');
  out.gaps = await texts(page, 'tr.gap td.question');
  await shot('bot');
  await page.click('#breveal');
  await page.waitForFunction(() => [...document.querySelectorAll('tr.gap td.question')].some((e) => !e.textContent.startsWith('[')));
  out.gap_revealed = (await texts(page, 'tr.gap td.question'))[0];

  // A reply's story: the LLM rounds and tool calls behind it.
  await page.goto(cfg.url + '/console/#/deliveries');
  await page.waitForSelector('tr.delivery[data-type=reply]');
  await page.click('tr.delivery[data-type=reply]');
  await page.waitForSelector('#story ol.story li.k-llm_round');
  out.reply_story_kinds = await texts(page, '#story ol.story li .badge.kind');
  await shot('story');

  await page.goto(cfg.url + '/console/#/providers');
  await page.waitForSelector('#sends-chart rect.bar');
  out.bars = (await page.$$('#sends-chart rect.bar')).length;
  out.series = await page.$$eval('#sends-chart rect.bar', (es) => [...new Set(es.map((e) => e.dataset.series))].sort());
  out.providers = await texts(page, 'tr.provider-row td.provider');
  out.mtn_p50 = await page.$eval('tr.provider-row[data-provider=mtn] td.p50', (e) => e.textContent.trim()).catch(() => null);
  out.mtn_p99 = await page.$eval('tr.provider-row[data-provider=mtn] td.p99', (e) => e.textContent.trim()).catch(() => null);
  await shot('providers');
  out.csp_violations = await page.evaluate(() => window.__csp);
} catch (e) {
  out.failure = String(e && e.stack || e);
} finally {
  out.console_errors = consoleErrors;
  await browser.close();
}
console.log(JSON.stringify(out));
