// Helpers shared by the browser tests (node:test + playwright-core + axe-core).
//
// A test file does:
//
//   import { test } from 'node:test';
//   import { useBrowser, newPage, signUp, expectSignedInAs } from './lib.mjs';
//   useBrowser();                       // one Chromium per test file, closed at the end
//   test('…', async () => {
//     const page = await newPage();     // its own context: fresh cookies, no shared state
//     await signUp(page, freshUser());
//     await expectSignedInAs(page, …);
//   });
//
// The server is started by run.sh, which passes its address as SKYHIGH_URL. Tests talk to that
// address only (127.0.0.1). Every wait is explicit (a navigation, a selector); nothing sleeps.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import axe from 'axe-core';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (this file lives in tests/browser/). */
export const REPO_ROOT = path.resolve(here, '..', '..');
/** Where screenshots and axe reports go; /test-output is git-ignored. */
export const OUTPUT_DIR = process.env.SKYHIGH_TEST_OUTPUT ?? path.join(REPO_ROOT, 'test-output');
export const SCREENSHOT_DIR = path.join(OUTPUT_DIR, 'screenshots');
export const AXE_DIR = path.join(OUTPUT_DIR, 'axe');

/** The app under test, e.g. http://127.0.0.1:40123 (no trailing slash). */
export const BASE_URL = (() => {
  const url = process.env.SKYHIGH_URL;
  if (!url) {
    throw new Error('SKYHIGH_URL is not set: run the browser tests through tests/browser/run.sh BINARY');
  }
  return url.replace(/\/+$/, '');
})();

export const CHROMIUM_PATH = process.env.SKYHIGH_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The Chromium flags, exactly as the project asked for. playwright-core adds its own automation
 * switches and `--remote-debugging-pipe`, and it gives every launch a fresh `--user-data-dir`
 * (a new temporary profile that it deletes on close; it refuses that flag in `args`, and
 * `launchPersistentContext` would allow only one context, while each test wants its own).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Viewports every page is checked at. */
export const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
  desktop: { viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
};

const ACTION_TIMEOUT_MS = 10_000;
const NAVIGATION_TIMEOUT_MS = 15_000;

let browser = null;

/** Launches Chromium before the file's tests and closes it after them. Call once per file. */
export function useBrowser() {
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    if (browser) await browser.close();
    browser = null;
  });
}

export async function launchBrowser() {
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
    });
  } catch (err) {
    // Never skip: a browser that does not start is a failure of the run.
    throw new Error(`could not start Chromium at ${CHROMIUM_PATH}: ${err.message}`);
  }
}

function currentBrowser() {
  if (!browser) throw new Error('no browser: call useBrowser() at the top of the test file');
  return browser;
}

/**
 * A new page in a new browser context (fresh cookies and storage).
 * Options: `viewport` ('phone' | 'desktop', default desktop), `javaScriptEnabled` (default true),
 * and any other playwright `newContext` option.
 * The page records problems (uncaught script errors, console errors, failed sub-resources);
 * `expectNoPageProblems(page)` asserts there were none.
 */
export async function newPage({ viewport = 'desktop', ...contextOptions } = {}) {
  const size = VIEWPORTS[viewport];
  if (!size) throw new Error(`unknown viewport ${viewport}; known: ${Object.keys(VIEWPORTS).join(', ')}`);
  const context = await currentBrowser().newContext({
    ...size,
    baseURL: BASE_URL,
    locale: 'en-US',
    timezoneId: 'UTC',
    colorScheme: 'light',
    reducedMotion: 'reduce',
    ...contextOptions,
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  // Only the app under test is reachable; anything else is a bug in the page (or the test).
  await context.route(
    (url) =>
      url.origin !== BASE_URL && url.origin !== STORAGE_ORIGIN && !url.protocol.startsWith('data') && !url.protocol.startsWith('blob'),
    (route) => {
      problemsOf(route.request().frame()?.page())?.push(`blocked request to ${route.request().url()}`);
      return route.abort('blockedbyclient');
    },
  );
  const page = await context.newPage();
  page.viewportName = viewport;
  // page.evaluate() never settles in a context without JavaScript: helpers check this first.
  page.javaScriptEnabled = contextOptions.javaScriptEnabled !== false;
  const problems = [];
  pageProblems.set(page, problems);
  page.on('pageerror', (err) => problems.push(`uncaught script error: ${err.message}`));
  page.on('console', (msg) => {
    // A 4xx/5xx document (e.g. the 404 page) logs "Failed to load resource"; failed
    // sub-resources are caught by the response listener below, so skip that message here.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${msg.text()}`);
    }
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.request().isNavigationRequest()) {
      problems.push(`sub-resource ${res.request().method()} ${res.url()} answered ${res.status()}`);
    }
  });
  page.on('requestfailed', (req) => {
    const error = req.failure()?.errorText ?? 'unknown error';
    // net::ERR_ABORTED = cancelled because the page navigated on (e.g. a favicon still loading
    // when the test moves to the next page): not a fault of the page.
    if (!req.isNavigationRequest() && error !== 'net::ERR_ABORTED') {
      problems.push(`sub-resource ${req.url()} failed: ${error}`);
    }
  });
  return page;
}

const pageProblems = new WeakMap();
function problemsOf(page) {
  return page ? pageProblems.get(page) : undefined;
}

/** Fails if the page had script errors, console errors, CSP violations or broken sub-resources. */
export function expectNoPageProblems(page) {
  const problems = problemsOf(page) ?? [];
  assert.deepEqual(problems, [], `problems on ${page.url()}:\n  ${problems.join('\n  ')}`);
}

/** Navigates to a path of the app and waits for the load event. Returns the final response. */
export async function visit(page, pathAndQuery, { status = 200 } = {}) {
  const response = await page.goto(pathAndQuery, { waitUntil: 'load' });
  assert.ok(response, `no response for ${pathAndQuery}`);
  if (status !== null) {
    assert.equal(response.status(), status, `GET ${pathAndQuery} answered ${response.status()}`);
  }
  return response;
}

/**
 * Clicks something that submits a form or follows a link, waits until the resulting page has
 * loaded (after any redirects), and returns the final document response (e.g. 200 after a 303,
 * or the 422 of a form re-rendered with errors).
 */
export async function clickAndWaitForPage(page, locator) {
  const finalResponse = page.waitForResponse(
    (res) =>
      res.request().isNavigationRequest() &&
      res.frame() === page.mainFrame() &&
      !(res.status() >= 300 && res.status() < 400),
    { timeout: NAVIGATION_TIMEOUT_MS },
  );
  const loaded = page.waitForEvent('load', { timeout: NAVIGATION_TIMEOUT_MS });
  await locator.click({ timeout: NAVIGATION_TIMEOUT_MS });
  const [response] = await Promise.all([finalResponse, loaded]);
  return response;
}

let userCounter = 0;
/** A new user whose username and email are unique within this server's life. */
export function freshUser(prefix = 'user') {
  userCounter += 1;
  const tag = `${process.pid.toString(36)}${userCounter}`;
  const username = `${prefix}-${tag}`.toLowerCase().slice(0, 30);
  return { username, email: `${username}@example.test`, password: 'correct horse battery staple' };
}

/** Submit button of the form posting to `action` (the header has a "Sign up" link too). */
export function submitButton(page, action) {
  return page.locator(`form[action="${action}"] [type="submit"]`);
}

/** The server's data folder (run.sh passes it), where its emails land as .eml files. */
export const DATA_DIR = process.env.SKYHIGH_DATA_DIR;

/**
 * On the aws backend (`SKYHIGH_BACKEND=aws`, the emulator at `AWS_ENDPOINT_URL`), the one other
 * origin the pages may reach: S3, where the editor sends a draft upload straight.
 */
export const STORAGE_ORIGIN =
  process.env.SKYHIGH_BACKEND === 'aws' && process.env.AWS_ENDPOINT_URL ? new URL(process.env.AWS_ENDPOINT_URL).origin : null;

/** Every email the server sent so far, raw: `.eml` files in its outbox, or SES's record in the emulator. */
async function sentMail() {
  if (STORAGE_ORIGIN) {
    // The emulator shows what SES sent only in its whole-state dump.
    const data = await (await fetch(`${process.env.AWS_ENDPOINT_URL}/moto-api/data.json`)).json();
    return (data.ses?.RawMessage ?? []).map((m) => m.raw_data);
  }
  assert.ok(DATA_DIR, 'SKYHIGH_DATA_DIR names the server\'s data folder (run.sh sets it)');
  const outbox = path.join(DATA_DIR, 'outbox');
  if (!fs.existsSync(outbox)) return [];
  return fs
    .readdirSync(outbox)
    .filter((name) => name.endsWith('.eml'))
    .map((name) => fs.readFileSync(path.join(outbox, name), 'utf8'));
}

/** The emails sent to `address` so far, decoded (quoted-printable undone). */
export async function emailsTo(address) {
  return (await sentMail())
    .filter((raw) => raw.split(/\r?\n\r?\n/, 1)[0].split(/\r?\n/).some((h) => h.startsWith('To:') && h.includes(`<${address}>`)))
    .map((raw) => raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))));
}

/** Waits (up to 10 s) for an email to `address` with a link to `pathPrefix`; returns its path. */
export async function emailedLink(address, pathPrefix) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const mail of await emailsTo(address)) {
      const match = mail.match(new RegExp(`https?://[^/\\s"]+(${pathPrefix}[^\\s"<]*)`));
      if (match) return match[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no email to ${address} with a ${pathPrefix} link arrived within 10 s`);
}

/** Signs up through the /signup form, opens the confirmation link from the email, and signs in:
 * a new account as its owner has it once through. Asserts each step worked. */
export async function signUp(page, { username, email, password }) {
  await visit(page, '/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  const response = await clickAndWaitForPage(page, submitButton(page, '/signup'));
  if (response.status() !== 200 || new URL(page.url()).pathname !== '/signup/sent') {
    const errors = await page.locator('.alert, .field-error').allInnerTexts();
    assert.fail(`sign-up of ${username} failed (${response.status()}): ${errors.join(' | ') || 'no message'}`);
  }
  await confirmAndSignIn(page, { email, password });
  return response;
}

/** Opens the confirmation link emailed to `email`, then signs in from the form it shows. */
export async function confirmAndSignIn(page, { email, password }) {
  const link = await emailedLink(email, '/verify/');
  await visit(page, link);
  await page.getByLabel('Password').fill(password);
  const response = await clickAndWaitForPage(page, submitButton(page, '/login'));
  if (response.status() !== 200 || new URL(page.url()).pathname === '/login') {
    assert.fail(`signing in after confirming ${email} failed (${response.status()})`);
  }
  return response;
}

/** Fills and submits /login; returns the final response (200 after success, 4xx on error). */
export async function submitLogin(page, { login, password }) {
  await visit(page, '/login');
  await page.getByLabel('Username or email').fill(login);
  await page.getByLabel('Password').fill(password);
  return clickAndWaitForPage(page, submitButton(page, '/login'));
}

/** Signs in by username or email; asserts it worked. */
export async function signIn(page, { login, password }) {
  const response = await submitLogin(page, { login, password });
  if (response.status() !== 200 || new URL(page.url()).pathname === '/login') {
    const errors = await page.locator('.alert').allInnerTexts();
    assert.fail(`sign-in as ${login} failed (${response.status()}): ${errors.join(' | ') || 'no message'}`);
  }
  return response;
}

/** Unfolds the header's menu where it is folded (on a phone, with JavaScript). */
export async function openMenu(page) {
  const toggle = page.locator('[data-nav-toggle]');
  if ((await toggle.isVisible()) && (await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
}

/** Clicks "Sign out" in the header and waits for the next page. */
export async function signOut(page) {
  await openMenu(page);
  const response = await clickAndWaitForPage(page, page.getByRole('button', { name: 'Sign out' }));
  assert.equal(response.status(), 200, `sign-out ended on ${response.status()}`);
  return response;
}

/** The header names the user ("Signed in as" is dropped on phones) and offers "Sign out". */
export async function expectSignedInAs(page, username) {
  await openMenu(page);
  const header = page.locator('header.site-header');
  const who = header.locator('.nav-user');
  await who.waitFor({ state: 'visible' });
  assert.match((await who.innerText()).replace(/\s+/g, ' ').trim(), new RegExp(`^(Signed in as )?${username}$`));
  assert.equal(await header.locator('.nav-user strong').innerText(), username);
  await header.getByRole('button', { name: 'Sign out' }).waitFor({ state: 'visible' });
}

/** The header offers "Sign in" (and "Sign up") and names nobody. */
export async function expectSignedOut(page) {
  await openMenu(page);
  const header = page.locator('header.site-header');
  await header.getByRole('link', { name: 'Sign in', exact: true }).waitFor({ state: 'visible' });
  await header.getByRole('link', { name: 'Sign up', exact: true }).waitFor({ state: 'visible' });
  assert.equal(await header.locator('.nav-user').count(), 0, 'header still names a user');
  assert.equal(await header.getByRole('button', { name: 'Sign out' }).count(), 0, 'header still offers Sign out');
}

function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** Saves a full-page PNG to test-output/screenshots/<name>-<viewport>.png; returns its path. */
export async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${safeName(name)}-${page.viewportName ?? 'page'}.png`);
  // From the top: typing into a field lower down scrolls the page, and a full-page capture then
  // draws the sticky header where the viewport was, over the middle of the page.
  if (page.javaScriptEnabled !== false) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/**
 * The page fits its viewport: no horizontal scrolling. Compared against the viewport's
 * configured width, because in mobile emulation Chromium may zoom out (and widen innerWidth)
 * to fit content that overflows.
 */
export async function expectNoHorizontalScroll(page) {
  const width = page.viewportSize().width;
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(
    scrollWidth <= width && innerWidth <= width,
    `${page.url()} scrolls sideways at ${width}px wide: scrollWidth ${scrollWidth}, innerWidth ${innerWidth}`,
  );
}

const BLOCKING_IMPACTS = new Set(['serious', 'critical']);

/**
 * Runs axe-core on the page as it is now. Fails on any violation of impact "serious" or
 * "critical" (listing rule ids, targets and help URLs); lesser ones are printed as notes.
 * The full result is saved to test-output/axe/<name>-<viewport>.json.
 *
 * Injection: the app's CSP (`script-src 'self'`) blocks inline <script> elements, so
 * page.addScriptTag({content}) would be refused. page.evaluate() runs through the DevTools
 * protocol, which CSP does not govern, so axe is injected that way and the page keeps its real
 * CSP (no bypassCSP context needed).
 */
export async function checkAccessibility(page, name) {
  const alreadyThere = await page.evaluate(() => typeof window.axe === 'object');
  if (!alreadyThere) await page.evaluate(axe.source);
  const results = await page.evaluate(() =>
    // axe's default rule set: WCAG 2.x A and AA plus best practices (AAA rules stay off).
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  await mkdir(AXE_DIR, { recursive: true });
  const file = path.join(AXE_DIR, `${safeName(name)}-${page.viewportName ?? 'page'}.json`);
  await writeFile(file, JSON.stringify({ url: page.url(), violations: results.violations }, null, 2));

  const describe = (v) =>
    `${v.impact} ${v.id}: ${v.help}\n    ${v.helpUrl}\n` +
    v.nodes.map((n) => `    at ${JSON.stringify(n.target)}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`).join('\n');
  const blocking = results.violations.filter((v) => BLOCKING_IMPACTS.has(v.impact));
  const notes = results.violations.filter((v) => !BLOCKING_IMPACTS.has(v.impact));
  if (notes.length) {
    console.log(`axe notes for ${name} (${page.viewportName}), not failing:\n  ${notes.map(describe).join('\n  ')}`);
  }
  assert.equal(
    blocking.length,
    0,
    `axe found ${blocking.length} serious/critical violation(s) on ${name} (${page.url()}):\n  ${blocking.map(describe).join('\n  ')}`,
  );
  return results.violations;
}

// ---- memes: editor, preview, downloads, uploads ----------------------------------------------

/** True when the bytes start like a JPEG file (SOI marker FF D8 followed by a marker FF). */
export function isJpeg(bytes) {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** The id in a /memes/{id} URL (not /memes/new), or null. */
export function memeIdFrom(url) {
  const match = new URL(url, BASE_URL).pathname.match(/^\/memes\/([^/]+)$/);
  return match && match[1] !== 'new' ? match[1] : null;
}

/**
 * Clicks something that makes the browser download a file (the page stays where it is) and
 * returns `{ download, bytes, response }`: playwright's Download, the file's content as a
 * Buffer, and the HTTP response that carried it.
 */
export async function downloadFrom(page, locator) {
  const downloaded = page.waitForEvent('download');
  await locator.click({ timeout: NAVIGATION_TIMEOUT_MS });
  const download = await downloaded;
  const failure = await download.failure();
  assert.equal(failure, null, `download of ${download.url()} failed: ${failure}`);
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  return { download, bytes: Buffer.concat(chunks) };
}

/** How many times editor.js has re-rendered the live preview (img#preview's data-rendered). */
export async function previewRenderCount(page) {
  return page.locator('#preview').evaluate((img) => Number(img.dataset.rendered || 0));
}

/**
 * Waits until editor.js has rendered the live preview more than `after` times, and the newest
 * rendering is shown: img.src is a blob: URL and the image has decoded (naturalWidth > 0).
 * Returns the new count.
 */
export async function waitForPreview(page, after) {
  await page.waitForFunction(
    (n) => {
      const img = document.querySelector('#preview');
      return (
        Number(img.dataset.rendered || 0) > n && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0
      );
    },
    after,
    { timeout: NAVIGATION_TIMEOUT_MS },
  );
  return previewRenderCount(page);
}

/**
 * Does `action` (e.g. typing a caption), then waits for the preview request it triggers and for
 * the page to show the new rendering. Returns `{ count, contentType, pixels }`: the new
 * data-rendered count, the Content-Type the server answered, and a fingerprint of the pixels
 * shown (drawn onto a canvas in the page: the page's CSP does not let a script fetch the blob:
 * URL back, and playwright gets no body for a response the page read as a blob).
 */
export async function renderPreview(page, action) {
  const before = await previewRenderCount(page);
  const answered = page.waitForResponse(
    (res) => new URL(res.url()).pathname === '/memes/preview' && res.request().method() === 'POST' && res.ok(),
    { timeout: NAVIGATION_TIMEOUT_MS },
  );
  await action();
  const response = await answered;
  const count = await waitForPreview(page, before);
  const pixels = await page.locator('#preview').evaluate((img) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let hash = 0x811c9dc5; // FNV-1a over the RGBA bytes
    for (let i = 0; i < data.length; i += 1) hash = Math.imul(hash ^ data[i], 0x01000193) >>> 0;
    return `${canvas.width}x${canvas.height}:${hash.toString(16)}`;
  });
  return { count, contentType: response.headers()['content-type'], pixels };
}

/**
 * Picks a template in the editor's picker by id ('' for "Upload your own"), unfolding the
 * picture choice first when it is folded away (on a phone, once a picture is chosen).
 */
export async function chooseTemplate(page, id) {
  const fold = page.locator('[data-picture-choice]');
  if (!(await fold.evaluate((details) => details.open))) await fold.locator('summary').click();
  await page.locator(`label.picker-option:has(input[name=template][value="${id}"])`).click();
}

/** The template the editor's picker has chosen ('' for an upload). */
export async function chosenTemplate(page) {
  return page.locator('input[name=template]:checked').inputValue();
}

/**
 * Opens /memes/new (or `path`), chooses the template (unless `template` is null) and types the
 * captions into the first boxes (the editor must already have that many). Works with and
 * without JavaScript.
 */
export async function fillEditor(page, { template = 'chelsea', captions = [], path: editorPath = '/memes/new' } = {}) {
  await visit(page, editorPath);
  if (template !== null) await chooseTemplate(page, template);
  for (const [i, text] of captions.entries()) {
    await page.locator(`#caption-${i + 1}`).fill(text);
  }
}

/**
 * As a signed-in user: fills the editor and presses "Save to my memes"; asserts it landed on the
 * new meme's page and returns its id.
 */
export async function saveMeme(page, { template = 'chelsea', captions }) {
  await fillEditor(page, { template, captions });
  const response = await clickAndWaitForPage(page, page.getByRole('button', { name: 'Save to my memes' }));
  assert.equal(response.status(), 200, `saving a meme ended on ${response.status()} at ${page.url()}`);
  const id = memeIdFrom(page.url());
  assert.ok(id, `saving a meme did not land on a meme page but on ${page.url()}`);
  return id;
}

/** The "Meme: a / b" alt text the app gives a meme with these captions. */
export function memeAlt(captions) {
  const said = captions.map((c) => c.trim()).filter((c) => c !== '');
  return said.length ? `Meme: ${said.join(' / ')}` : 'A meme without captions';
}

/**
 * Makes every image on the page load now (lazy ones too, for full-page screenshots) and waits,
 * bounded, until each has loaded; fails naming any image that is broken.
 */
export async function loadAllImages(page) {
  await page.evaluate(() => document.querySelectorAll('img[loading="lazy"]').forEach((img) => { img.loading = 'eager'; }));
  await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete), null, { timeout: 10_000 });
  const broken = await page.evaluate(() =>
    Array.from(document.images).filter((img) => img.naturalWidth === 0).map((img) => img.currentSrc || img.src),
  );
  assert.deepEqual(broken, [], `broken images on ${page.url()}`);
}

/** A small RGB PNG (a colour gradient), encoded here so no image file has to be committed. */
export function tinyPng(width = 96, height = 64) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y += 1) {
    const row = y * (1 + width * 3); // filter byte 0 (none), then the pixels
    for (let x = 0; x < width; x += 1) {
      rows[row + 1 + x * 3] = Math.round((255 * x) / (width - 1));
      rows[row + 2 + x * 3] = Math.round((255 * y) / (height - 1));
      rows[row + 3 + x * 3] = 160;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
