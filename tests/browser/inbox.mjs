// The inbox in a real browser (Debian's Chromium, driven by playwright-core):
// sign in through the local identity provider, see the queue in arrival
// order, take the next supplement, open it, download its file, mark it
// handled; operations read lag and failures; a delegate is refused a
// confidential one and the operations page; a triage officer
// attaches a supplement to its application; two security officers release
// a quarantined file. axe-core checks every page for WCAG 2.1 AA
// violations. Run by
// tests/inbox/browser.rs, which starts the inbox and seeds its queue.
//
// Env: INBOX_URL, OIDC_PASSWORD, SHOTS (directory for screenshots),
// EXPECT (JSON: ids and texts the seeded queue holds).
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const base = process.env.INBOX_URL;
const password = process.env.OIDC_PASSWORD;
const shots = process.env.SHOTS;
const expect = JSON.parse(process.env.EXPECT);
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});

async function signIn(user, landing = '/queue') {
  const context = await browser.newContext({ locale: 'en-GB', acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}${landing}**`);
  return { context, page };
}

// Violations of WCAG 2.1 A and AA rules, as axe-core reports them.
async function accessibility(page, what) {
  // Evaluated through the DevTools protocol, which the page's CSP (no
  // script at all) does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }));
  const found = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
  assert.deepEqual(found, [], `${what}: axe-core found violations`);
}

// Operations watch lag, readiness and failures, never a supplement's content.
{
  const { context, page } = await signIn('olli', '/operations');
  await assert.doesNotReject(page.getByRole('heading', { name: 'Operations', level: 1 }).waitFor());
  const main = await page.locator('main').innerText();
  assert.match(main, /Supplements waiting/);
  assert.match(main, /In a unit's queue/, 'the seeded queue is business lag');
  assert.match(main, /Lag per partition/);
  assert.match(main, /All \d+ partitions are caught up/, 'idle partitions are folded away');
  assert.equal(await page.locator('figure.chart').count(), 4, 'four charts of the last hours');
  const html = await page.content();
  assert.ok(!html.includes(expect.first_text), 'no supplement text on the page');
  assert.ok(!html.includes(expect.secret_sender), 'no sender on the page');
  await page.screenshot({ path: `${shots}/operations.png`, fullPage: true });
  await accessibility(page, 'operations page');
  await context.close();
}

// A caseworker works the queue.
{
  const { context, page } = await signIn('mikko');
  const rows = page.locator('table.queue tbody tr');
  await assert.doesNotReject(rows.first().waitFor());
  assert.equal(await rows.count(), 3, 'three routed supplements in the unit');
  const cells = await rows.locator('td:first-child').allInnerTexts();
  assert.equal(cells.length, 3);
  const placeholder = rows.nth(1);
  assert.match(await placeholder.innerText(), /Confidential, assigned to aino/);
  const html = await page.content();
  assert.ok(!html.includes(expect.secret_sender), 'the confidential sender is not on the page');
  assert.ok(!html.includes('secret-plan'), 'the confidential file name is not on the page');
  await page.screenshot({ path: `${shots}/queue.png`, fullPage: true });
  await accessibility(page, 'queue page');

  // Keyboard: the first tab stop skips to the content.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');

  await page.getByRole('button', { name: 'Take next' }).click();
  await page.waitForURL(`${base}/supplements/${expect.first}`);
  await assert.doesNotReject(page.getByRole('heading', { name: `Supplement 1 of ${expect.plain_app}` }).waitFor());
  assert.match(await page.locator('pre.text').innerText(), new RegExp(expect.first_text));
  assert.match(await page.locator('.gaps').innerText(), /in quarantine/);
  await page.screenshot({ path: `${shots}/detail.png`, fullPage: true });
  await accessibility(page, 'detail page');

  const links = page.locator('a[href^="/files/"]');
  assert.equal(await links.count(), 1, 'the clean file only has a download link');
  const link = links.first();
  assert.match(await link.ariaSnapshot(), /passport\.pdf/, 'the link names its file');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 15000 }),
    link.click({ timeout: 15000 }),
  ]);
  assert.equal(download.suggestedFilename(), 'passport.pdf');
  const saved = `${shots}/downloaded-passport.pdf`;
  await download.saveAs(saved);
  assert.equal(readFileSync(saved, 'utf8'), expect.clean_pdf);
  assert.equal(await page.getByRole('link', { name: /invoice\.pdf/ }).count(), 0, 'the infected file has no link');

  await page.getByRole('button', { name: 'Mark handled' }).click();
  await page.waitForURL(`${base}/queue**`);
  assert.match(await page.locator('table.queue tbody tr').first().innerText(), /Handled by mikko/);

  // Another language, same page.
  await page.getByRole('link', { name: 'Suomi' }).click();
  await assert.doesNotReject(page.getByRole('button', { name: 'Ota seuraava' }).waitFor());
  await page.screenshot({ path: `${shots}/queue-fi.png`, fullPage: true });
  await context.close();
}

// A delegate is refused the confidential one, with the reason.
{
  const { context, page } = await signIn('lauri');
  const response = await page.goto(`${base}/supplements/${expect.secret}`);
  assert.equal(response.status(), 403);
  assert.match(await page.locator('main').innerText(), /confidential.*aino.*delegates may not/s);
  assert.ok(!(await page.content()).includes(expect.secret_sender));
  await page.screenshot({ path: `${shots}/delegate-refused.png` });
  const operations = await page.goto(`${base}/operations`);
  assert.equal(operations.status(), 403, 'the operations page is for the operations role');
  await context.close();
}

// A triage officer attaches the unmatched supplement to its application.
{
  const { context, page } = await signIn('tiina', '/triage');
  await accessibility(page, 'triage page');
  await page.screenshot({ path: `${shots}/triage.png`, fullPage: true });
  assert.match(await page.locator('main table').innerText(), /No application number anywhere in it/);
  await page.locator(`a[href="/supplements/${expect.triage}"]`).click();
  await page.waitForURL(`${base}/supplements/${expect.triage}`);
  await accessibility(page, 'triage detail page');
  await page.getByLabel('Application number').fill(expect.plain_app);
  await page.getByLabel('Note for the audit log (optional)').fill('Passport number in the scan matches');
  await page.screenshot({ path: `${shots}/triage-detail.png`, fullPage: true });
  await page.getByRole('button', { name: 'Attach to the application' }).click();
  await page.waitForURL(`${base}/triage?done=attached**`);
  assert.match(await page.locator('p.notice').innerText(), new RegExp(`Attached to ${expect.plain_app} as supplement 3`));
  assert.equal(await page.locator(`a[href="/supplements/${expect.triage}"]`).count(), 0, 'out of triage');
  await context.close();
}

// Two security officers release a quarantined file: one asks, another
// approves, clamd scans it again, and it joins its supplement.
{
  const asker = await signIn('sami', '/quarantine');
  await accessibility(asker.page, 'quarantine page');
  await asker.page.getByRole('link', { name: 'invoice.pdf' }).click();
  await asker.page.waitForURL(`${base}/quarantine/${expect.infected_file}`);
  await accessibility(asker.page, 'quarantined file page');
  await asker.page.getByLabel(/Why the file should be released/).fill('The sender phoned: her payslip, a false positive');
  await asker.page.screenshot({ path: `${shots}/quarantine-file.png`, fullPage: true });
  await asker.page.getByRole('button', { name: 'Ask for release' }).click();
  await asker.page.waitForURL(`${base}/quarantine?done=asked`);
  await asker.page.goto(`${base}/quarantine/${expect.infected_file}`);
  assert.equal(await asker.page.getByRole('button', { name: 'Approve release' }).count(), 0, 'not by the one who asked');
  await asker.context.close();

  const approver = await signIn('sofia', '/quarantine');
  await approver.page.getByRole('link', { name: 'invoice.pdf' }).click();
  assert.match(await approver.page.locator('main').innerText(), /Release asked for by sami/);
  await approver.page.getByRole('button', { name: 'Approve release' }).click();
  await approver.page.waitForURL(`${base}/quarantine?done=released`);
  assert.match(await approver.page.locator('p.notice').innerText(), /Released/);
  await approver.page.screenshot({ path: `${shots}/quarantine-released.png`, fullPage: true });
  await approver.context.close();

  const { context, page } = await signIn('mikko');
  await page.goto(`${base}/supplements/${expect.first}`);
  assert.equal(await page.locator('a[href^="/files/"]').count(), 2, 'the released file is downloadable');
  assert.match(await page.locator('table.files').innerText(), /Released after review/);
  await context.close();
}

await browser.close();
console.log('browser test passed');
