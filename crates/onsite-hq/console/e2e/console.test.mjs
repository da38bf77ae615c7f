// The office's console in a real browser (issue 13): Debian's chromium driven by
// playwright-core against a real onsite-hq on 127.0.0.1. Run by `cargo xtask test` (after
// the console and the server are built) as `node --test e2e/`; needs ONSITE_HQ_BIN (the
// server binary) and CHROMIUM (default /usr/bin/chromium). Screenshots go to
// ONSITE_SHOTS (default target/console-shots).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const BIN = process.env.ONSITE_HQ_BIN;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = resolve(process.env.ONSITE_SHOTS ?? join(import.meta.dirname, '../../../../target/console-shots'));

let data;
let server;
let base;
let browser;

function addUser(name, role, display) {
  const r = spawnSync(BIN, ['user', 'add', '--data', data, '--role', role, '--display-name', display, name], {
    input: `${name} has a long password\n`,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  assert.ok(BIN, 'ONSITE_HQ_BIN names the onsite-hq binary');
  mkdirSync(SHOTS, { recursive: true });
  data = mkdtempSync(join(tmpdir(), 'onsite-console-'));
  addUser('boss.wang', 'administrator', '王经理');
  addUser('dispatch.li', 'dispatcher', '李娜');
  server = spawn(BIN, ['--data', data, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  const lines = createInterface({ input: server.stdout });
  base = await new Promise((ok, fail) => {
    server.once('exit', (code) => fail(new Error(`onsite-hq exited (${code})`)));
    lines.on('line', (line) => {
      const m = line.match(/^onsite-hq listening on (https:\/\/\S+)/);
      if (m) ok(m[1]);
    });
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((ok) => server.once('exit', ok));
  }
  if (data) rmSync(data, { recursive: true, force: true });
});

/** A fresh browser profile (its own cookies) on the console. The server's certificate is
 * made by its own CA at first start, which this profile does not trust: the test says so. */
async function page(locale = 'en-US') {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale });
  const p = await context.newPage();
  const problems = [];
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  p.on('pageerror', (e) => problems.push(String(e)));
  await p.goto(`${base}/console/`);
  return { p, context, problems };
}

async function signIn(p, name, password = `${name} has a long password`) {
  await p.getByTestId('login-username').fill(name);
  await p.getByTestId('login-password').fill(password);
  await p.getByTestId('login-submit').click();
}

test('an administrator signs in, sees the audit log in both languages, and signs out', async () => {
  const { p, context, problems } = await page('en-US');
  await p.getByTestId('login-form').waitFor();
  await p.screenshot({ path: join(SHOTS, 'console-login.png') });

  await signIn(p, 'boss.wang', 'not the password');
  await assert.doesNotReject(p.getByTestId('login-error').waitFor());
  assert.match(await p.getByTestId('login-error').textContent(), /not right/);

  await signIn(p, 'boss.wang');
  await p.getByTestId('home').waitFor();
  assert.match(await p.getByTestId('signed-in').textContent(), /王经理 · Administrator/);
  await p.getByTestId('audit-row').first().waitFor();
  const actions = await p.getByTestId('audit-row').allTextContents();
  assert.ok(actions.some((a) => a.includes('sign_in') && a.includes('boss.wang')), actions.join('\n'));
  await p.screenshot({ path: join(SHOTS, 'console-home-en.png'), fullPage: true });

  // The cookie is the session's, HttpOnly: the page's script cannot read it.
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-onsite_session');
  assert.ok(session?.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(cookies));
  assert.equal(await p.evaluate(() => document.cookie), '');

  await p.getByTestId('lang').selectOption('zh-CN');
  assert.match(await p.getByTestId('signed-in').textContent(), /王经理 · 管理员/);
  await p.getByRole('heading', { name: '审计日志' }).waitFor();
  await p.screenshot({ path: join(SHOTS, 'console-home-zh.png'), fullPage: true });

  await p.getByTestId('sign-out').click();
  await p.getByTestId('login-form').waitFor();
  // Signed out for good: a reload shows the sign-in again.
  await p.reload();
  await p.getByTestId('login-form').waitFor();
  assert.deepEqual(problems.filter((m) => !m.includes('401')), []);
  await context.close();
});

test('a dispatcher does not see the audit log, and a request without the CSRF token is refused', async () => {
  const { p, context } = await page('zh-CN');
  await signIn(p, 'dispatch.li');
  await p.getByTestId('home').waitFor();
  assert.match(await p.getByTestId('signed-in').textContent(), /李娜 · 调度员/);
  assert.equal(await p.getByTestId('audit').count(), 0);
  const perms = await p.getByTestId('permissions').locator('li').evaluateAll((li) => li.map((e) => e.dataset.permission));
  assert.deepEqual(perms, ['read_jobs', 'dispatch', 'technicians']);
  // The page's own script, sending a change with the session's cookie but no token.
  const status = await p.evaluate(async () => {
    const r = await fetch('/v1/console/logout', { method: 'POST', credentials: 'same-origin' });
    return r.status;
  });
  assert.equal(status, 403);
  // And the audit log asked for directly is refused to a dispatcher.
  const audit = await p.evaluate(async () => (await fetch('/v1/admin/audit')).status);
  assert.equal(audit, 403);
  await p.screenshot({ path: join(SHOTS, 'console-dispatcher-zh.png'), fullPage: true });
  await context.close();
});

test('an administrator adds a person and makes, uses and revokes an API token', async () => {
  const { p, context } = await page('en-US');
  await signIn(p, 'boss.wang');
  await p.getByTestId('nav-people').click();
  await p.getByTestId('people').waitFor();

  // A form left short says what is missing, and sends nothing.
  await p.getByTestId('person-username').fill('finance.wu');
  await p.getByTestId('person-save').click();
  assert.match(await p.getByTestId('person-error').textContent(), /Fill in Name shown/);
  await p.getByTestId('person-name').fill('吴会计');
  await p.getByTestId('person-role').selectOption('finance');
  await p.getByTestId('person-password').fill('finance.wu has a long password');
  await p.getByTestId('person-save').click();
  await p.getByTestId('person-added').waitFor();
  await p.locator('[data-testid=person-row][data-username="finance.wu"]').waitFor();
  // The same name again is refused with a clear message.
  await p.getByTestId('person-username').fill('FINANCE.WU');
  await p.getByTestId('person-name').fill('x');
  await p.getByTestId('person-password').fill('another long password');
  await p.getByTestId('person-save').click();
  assert.match(await p.getByTestId('person-error').textContent(), /taken/);

  // A token that may export, shown once, used, then revoked.
  await p.getByTestId('token-name').fill('ERP');
  await p.getByTestId('token-save').click();
  assert.match(await p.getByTestId('token-error').textContent(), /at least one/);
  await p.getByTestId('scope-export').check();
  await p.getByTestId('token-save').click();
  const secret = (await p.getByTestId('token-secret').textContent()).trim();
  assert.match(secret, /^onsite_[0-9a-f]{64}$/);
  await p.screenshot({ path: join(SHOTS, 'console-people-en.png'), fullPage: true });
  const use = (path) =>
    p.evaluate(
      async ([path, secret]) => (await fetch(path, { headers: { Authorization: `Bearer ${secret}` }, credentials: 'omit' })).status,
      [path, secret],
    );
  assert.equal(await use('/v1/admin/export'), 200);
  assert.equal(await use('/v1/admin/users'), 403);
  await p.locator('[data-testid=token-row][data-name="ERP"] [data-testid=token-revoke]').click();
  await p.locator('[data-testid=token-row][data-name="ERP"]', { hasText: 'Revoked' }).waitFor();
  assert.equal(await use('/v1/admin/export'), 403);
  await context.close();

  // The new person signs in with the first password.
  const other = await page('zh-CN');
  await signIn(other.p, 'finance.wu');
  assert.match(await other.p.getByTestId('signed-in').textContent(), /吴会计 · 财务/);
  assert.equal(await other.p.getByTestId('nav-people').count(), 0);
  await other.context.close();
});

test('an administrator adds a technician, gives an enrolment code as text and QR code, and marks the enrolled laptop lost', async () => {
  const { p, context, problems } = await page('zh-CN');
  await signIn(p, 'boss.wang');
  await p.getByTestId('nav-fleet').click();
  await p.getByTestId('technicians').waitFor();
  // Before signing in, the page's question "who am I?" was answered 401, as it should be.
  problems.length = 0;

  // An empty name is refused on the page, in the page's language.
  await p.getByTestId('technician-save').click();
  assert.match(await p.getByTestId('technician-error').textContent(), /姓名/);
  await p.getByTestId('technician-name').fill('赵师傅');
  await p.getByTestId('technician-save').click();
  await p.getByTestId('technician-added').waitFor();
  const row = p.locator('[data-testid=technician-row][data-name="赵师傅"]');
  await row.getByTestId('make-code').click();
  const code = (await p.getByTestId('code-text').textContent()).trim();
  assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  // The QR code is drawn (dark modules), labelled with the code for a screen reader.
  assert.ok((await p.locator('[data-testid=code-qr] rect').count()) > 100);
  assert.match(await p.getByTestId('code-qr').getAttribute('aria-label'), new RegExp(code));
  await p.screenshot({ path: join(SHOTS, 'console-fleet-zh.png'), fullPage: true });

  // The laptop enrols with it (as the app would), and appears among the devices.
  const enrolled = await p.evaluate(async (code) => {
    const r = await fetch('/v1/enroll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code, device_name: '赵师傅的笔记本' }),
      credentials: 'omit',
    });
    return r.status;
  }, code);
  assert.equal(enrolled, 200);
  await p.getByTestId('nav-home').click();
  await p.getByTestId('nav-fleet').click();
  const device = p.locator('[data-testid=device-row]', { hasText: '赵师傅的笔记本' });
  await device.waitFor();
  assert.equal(await device.getAttribute('data-state'), 'active');

  // Marked lost after confirming: the row says so and offers nothing more.
  p.once('dialog', (d) => d.accept());
  await device.getByTestId('device-lost').click();
  await p.locator('[data-testid=device-row][data-state=lost]', { hasText: '赵师傅的笔记本' }).waitFor();
  assert.equal(await p.locator('[data-testid=device-row][data-state=lost] [data-testid=device-lost]').count(), 0);
  await p.screenshot({ path: join(SHOTS, 'console-devices-zh.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});
