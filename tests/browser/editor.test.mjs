// The editor people reach for (issue 15), at desktop (1280×800) and phone (390×844) width:
// text boxes dragged (mouse, touch) and moved by keyboard, checked in the pixels of the saved
// meme; the preview in view while typing; the template picker's search; work kept through
// sign-up; copy link and copy image; the delete confirmation; flash messages. Each page is
// put through axe at both widths, and screenshots land in test-output/screenshots.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL,
  STORAGE_ORIGIN,
  checkAccessibility,
  chooseTemplate,
  chosenTemplate,
  clickAndWaitForPage,
  emailedLink,
  expectNoHorizontalScroll,
  expectNoPageProblems,
  expectSignedInAs,
  freshUser,
  memeIdFrom,
  newPage,
  renderPreview,
  saveMeme,
  screenshot,
  signUp,
  submitButton,
  tinyPng,
  useBrowser,
  visit,
  waitForPreview,
} from './lib.mjs';

useBrowser();

const LIMIT = { timeout: 90_000 };
const WIDTHS = ['desktop', 'phone'];
const GREEN = '#00ff00';

/** Pure green pixels of an image in the page, per tenth of its height (top to bottom). */
async function greenByTenth(page, selector) {
  return page.locator(selector).evaluate(async (img) => {
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const tenths = new Array(10).fill(0);
    for (let y = 0; y < canvas.height; y += 1) {
      for (let x = 0; x < canvas.width; x += 1) {
        const i = (y * canvas.width + x) * 4;
        if (data[i + 1] > 200 && data[i] < 90 && data[i + 2] < 90) tenths[Math.floor((y * 10) / canvas.height)] += 1;
      }
    }
    return tenths;
  });
}

/** The number fields of box `n` (0-based): [x, y, w, h] in percent. */
async function geometry(page, n) {
  const box = page.locator('[data-box]').nth(n);
  return Promise.all(['x', 'y', 'w', 'h'].map(async (f) => Number(await box.locator(`input[name=${f}]`).inputValue())));
}

/** A green top caption on Chelsea, the bottom box empty; waits for its preview. */
async function greenCaption(page, text) {
  const first = page.locator('[data-box]').nth(0);
  await first.locator('input[name=fill]').fill(GREEN);
  await renderPreview(page, () => page.locator('#caption-1').fill(text));
}

/** Drags from the centre of `locator` by (dx, dy) pixels: a mouse on desktop, a finger on the phone. */
async function dragBy(page, locator, dx, dy) {
  const box = await locator.boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  if (page.viewportName === 'phone') {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y }] });
    for (let i = 1; i <= 8; i += 1) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: x + (dx * i) / 8, y: y + (dy * i) / 8 }] });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await cdp.detach();
  } else {
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + dx, y + dy, { steps: 8 });
    await page.mouse.up();
  }
}

for (const viewport of WIDTHS) {
  describe(`editor at ${viewport} width`, () => {
    test('a dragged box is where the saved meme has its text', LIMIT, async () => {
      const page = await newPage({ viewport });
      await signUp(page, freshUser(`drag${viewport[0]}`));
      await visit(page, '/memes/new?template=chelsea');
      await greenCaption(page, 'MOVE ME');
      const before = await geometry(page, 0);
      assert.deepEqual(before, [2, 2, 96, 22], "Chelsea's top box");

      const stage = await page.locator('[data-stage]').boundingBox();
      const rendered = Number(await page.locator('#preview').getAttribute('data-rendered'));
      await dragBy(page, page.locator('.box-handle').first(), 0, stage.height * 0.55);
      const after = await geometry(page, 0);
      assert.ok(Math.abs(after[1] - 57) <= 2, `dropped 55% lower: top is ${after[1]}%`);
      assert.equal(after[0], 2, 'no sideways move');
      assert.deepEqual(after.slice(2), [96, 22], 'moving keeps the size');
      await waitForPreview(page, rendered);

      await clickAndWaitForPage(page, page.getByRole('button', { name: 'Save to my memes' }));
      assert.ok(memeIdFrom(page.url()), `saved: ${page.url()}`);
      const green = await greenByTenth(page, 'figure.meme-figure img');
      assert.equal(green[0] + green[1] + green[2] + green[3], 0, `no text left at the top: ${green}`);
      assert.ok(green[5] + green[6] + green[7] > 200, `the text is where it was dropped: ${green}`);
      expectNoPageProblems(page);
    });

    test('the keyboard moves and resizes a box, and each box has a name', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/memes/new?template=chelsea');
      const handles = page.locator('.box-handle');
      assert.equal(await handles.count(), 2);
      assert.match(await handles.nth(0).getAttribute('aria-label'), /^Top text: 2% from the left, 2% from the top/);
      assert.match(await handles.nth(1).getAttribute('aria-label'), /^Bottom text: /);

      await handles.nth(0).focus();
      for (let i = 0; i < 5; i += 1) await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('Shift+ArrowLeft');
      await page.keyboard.press('Shift+ArrowUp');
      assert.deepEqual(await geometry(page, 0), [3, 7, 95, 21]);
      assert.match(await handles.nth(0).getAttribute('aria-label'), /^Top text: 3% from the left, 7% from the top, 95% wide, 21% high/);
      assert.equal(await handles.nth(0).evaluate((el) => el === document.activeElement), true, 'focus stays on the box');
      // The edge holds: a box cannot leave the picture.
      for (let i = 0; i < 10; i += 1) await page.keyboard.press('ArrowLeft');
      assert.equal((await geometry(page, 0))[0], 0);
      await waitForPreview(page, 0);
      expectNoPageProblems(page);
    });

    test('adding a box moves no other box', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/memes/new?template=chelsea');
      const top = await geometry(page, 0);
      const bottom = await geometry(page, 1);
      for (let i = 0; i < 3; i += 1) await page.getByRole('button', { name: 'Add a text box' }).click();
      assert.deepEqual(await geometry(page, 0), top);
      assert.deepEqual(await geometry(page, 1), bottom);
      const tops = await Promise.all([2, 3, 4].map(async (n) => (await geometry(page, n))[1]));
      assert.equal(new Set(tops).size, 3, `each added box has a place of its own: ${tops}`);
      assert.equal(await page.locator('.box-handle').count(), 5);
      expectNoPageProblems(page);
    });

    test('the preview stays in view while typing', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/memes/new?template=chelsea');
      const height = page.viewportSize().height;
      for (const n of [1, 2]) {
        const caption = page.locator(`#caption-${n}`);
        await caption.scrollIntoViewIfNeeded();
        await caption.click();
        await page.keyboard.type(`typing ${n}`);
        const preview = await page.locator('#preview').boundingBox();
        const field = await caption.boundingBox();
        assert.ok(preview.y >= -1 && preview.y + preview.height <= height + 1, `preview at ${preview.y}–${preview.y + preview.height} of ${height}`);
        assert.ok(field.y >= 0 && field.y + field.height <= height + 1, `caption ${n} in view (${field.y})`);
        // On a phone the fields are under the picture; on a desktop beside it.
        if (viewport === 'phone') assert.ok(field.y >= preview.y + preview.height - 1, `caption ${n} below the preview`);
      }
      await waitForPreview(page, 0);
      await expectNoHorizontalScroll(page);
      await checkAccessibility(page, 'editor');
      await screenshot(page, 'editor');
      expectNoPageProblems(page);
    });

    test('the picker finds templates by name', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/memes/new');
      const fold = page.locator('[data-picture-choice]');
      if (!(await fold.evaluate((d) => d.open))) await fold.locator('summary').click();
      const items = page.locator('[data-picker-item]:visible');
      const all = await items.count();
      assert.ok(all >= 9, `8 starter templates and the upload: ${all}`);
      await page.getByLabel('Search templates').fill('cat');
      // Each name has its use count under it ("3 memes").
      assert.deepEqual((await items.allInnerTexts()).map((text) => text.split('\n')[0]), ['Chelsea the Cat']);
      await page.getByLabel('Search templates').fill('zzz');
      assert.equal(await items.count(), 0);
      assert.equal(await page.locator('[data-picker-empty]').isVisible(), true);
      await page.getByLabel('Search templates').fill('astro');
      await renderPreview(page, () => chooseTemplate(page, 'astronaut'));
      assert.equal(await chosenTemplate(page), 'astronaut');
      assert.equal(await page.locator('[data-picture-name]').innerText(), 'Astronaut');
      if (viewport === 'phone') assert.equal(await fold.evaluate((d) => d.open), false, 'the choice folds away once made');
      assert.match(await page.locator('[data-share-link]').getAttribute('href'), /^\/i\/astronaut\//);
      await checkAccessibility(page, 'editor-picker');
      await screenshot(page, 'editor-picker');
      expectNoPageProblems(page);
    });

    test('work survives "sign up to save"', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/memes/new?template=astronaut');
      const captions = [`kept ${viewport}`, 'through sign-up'];
      await page.locator('#caption-1').fill(captions[0]);
      await page.locator('#caption-2').fill(captions[1]);
      await page.locator('.box-handle').nth(1).focus();
      for (let i = 0; i < 4; i += 1) await page.keyboard.press('ArrowUp');
      const moved = await geometry(page, 1);

      const user = freshUser(`keep${viewport[0]}`);
      await clickAndWaitForPage(page, page.locator('a[data-keep-work]', { hasText: 'Sign up' }));
      assert.equal(new URL(page.url()).searchParams.get('next'), '/memes/new?restore=1');
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Username').fill(user.username);
      await page.getByLabel('Password').fill(user.password);
      await clickAndWaitForPage(page, submitButton(page, '/signup'));
      // The confirmation link, opened as from the email, then signing in.
      await visit(page, await emailedLink(user.email, '/verify/'));
      await page.getByLabel('Password').fill(user.password);
      await clickAndWaitForPage(page, submitButton(page, '/login'));
      assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/memes/new?restore=1');
      await expectSignedInAs(page, user.username);

      await page.locator('[data-status]', { hasText: 'as you left it' }).waitFor();
      assert.equal(await page.locator('#caption-1').inputValue(), captions[0]);
      assert.equal(await page.locator('#caption-2').inputValue(), captions[1]);
      assert.equal(await chosenTemplate(page), 'astronaut');
      assert.deepEqual(await geometry(page, 1), moved);
      await clickAndWaitForPage(page, page.getByRole('button', { name: 'Save to my memes' }));
      assert.deepEqual(await page.locator('ol.captions li').allInnerTexts(), captions);
      expectNoPageProblems(page);
    });

    test('an open redirect is not where "next" leads', LIMIT, async () => {
      const page = await newPage({ viewport });
      const user = freshUser(`next${viewport[0]}`);
      await signUp(page, user);
      await page.context().clearCookies();
      await visit(page, '/login?next=//evil.example/');
      await page.getByLabel('Username or email').fill(user.username);
      await page.getByLabel('Password').fill(user.password);
      await clickAndWaitForPage(page, submitButton(page, '/login'));
      assert.equal(new URL(page.url()).origin, new URL(BASE_URL).origin);
    });

    test('copy link and copy image, flash messages, and the delete confirmation', LIMIT, async () => {
      const page = await newPage({ viewport });
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE_URL });
      const user = freshUser(`share${viewport[0]}`);
      await signUp(page, user);
      const id = await saveMeme(page, { template: 'chelsea', captions: ['copy me', 'please'] });
      const flash = page.locator('.flash[role=status]');
      assert.equal(await flash.innerText(), 'Your meme is saved to your portfolio.');

      await page.getByRole('button', { name: 'Copy link' }).click();
      await page.locator('[data-share-status]', { hasText: 'Link copied.' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${BASE_URL}/memes/${id}`);
      await page.getByRole('button', { name: 'Copy image' }).click();
      await page.locator('[data-share-status]', { hasText: 'Image copied.' }).waitFor();
      const types = await page.evaluate(async () => (await navigator.clipboard.read()).flatMap((item) => item.types));
      assert.deepEqual(types, ['image/png']);

      await page.locator('#body').fill('first!');
      await clickAndWaitForPage(page, page.getByRole('button', { name: 'Post comment' }));
      assert.equal(await flash.innerText(), 'Your comment is posted.');
      await checkAccessibility(page, 'meme-with-flash');
      await screenshot(page, 'meme-with-flash');

      // Delete asks first, in a dialog: "Keep it" keeps it.
      await page.getByRole('link', { name: 'Delete this meme' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete this meme?' });
      await dialog.waitFor();
      await checkAccessibility(page, 'delete-dialog');
      await dialog.getByRole('link', { name: 'Keep it' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(new URL(page.url()).pathname, `/memes/${id}`);
      await page.getByRole('link', { name: 'Delete this meme' }).click();
      await clickAndWaitForPage(page, dialog.getByRole('button', { name: 'Delete it' }));
      assert.equal(new URL(page.url()).pathname, `/u/${user.username}`);
      assert.equal(await flash.innerText(), 'The meme is deleted, with its comments.');
      await visit(page, `/memes/${id}`, { status: 404 });
      expectNoPageProblems(page);
    });

    test('without JavaScript the delete confirmation is a page, and boxes are placed by number', LIMIT, async () => {
      const setup = await newPage({ viewport });
      const user = freshUser(`nojs${viewport[0]}`);
      await signUp(setup, user);
      const cookies = await setup.context().cookies();
      const page = await newPage({ viewport, javaScriptEnabled: false });
      await page.context().addCookies(cookies);

      await visit(page, '/memes/new?template=chelsea');
      const first = page.locator('[data-box]').nth(0);
      await first.locator('summary', { hasText: 'Position and size' }).click();
      await first.getByLabel('Top %').fill('60');
      await first.locator('input[name=fill]').fill(GREEN);
      await page.locator('#caption-1').fill('BY NUMBER');
      await clickAndWaitForPage(page, page.getByRole('button', { name: 'Save to my memes' }));
      const id = memeIdFrom(page.url());
      assert.ok(id);
      assert.equal(await page.locator('.flash').innerText(), 'Your meme is saved to your portfolio.');
      const green = await setup.goto(`${BASE_URL}/memes/${id}`).then(() => greenByTenth(setup, 'figure.meme-figure img'));
      assert.equal(green[0] + green[1] + green[2] + green[3] + green[4], 0, `nothing at the top: ${green}`);
      assert.ok(green[6] + green[7] + green[8] > 200, `the text 60% down: ${green}`);

      await clickAndWaitForPage(page, page.getByRole('link', { name: 'Delete this meme' }));
      assert.equal(new URL(page.url()).pathname, `/memes/${id}/delete`);
      await screenshot(page, 'delete-confirmation');
      await clickAndWaitForPage(page, page.getByRole('button', { name: 'Delete it' }));
      assert.equal(new URL(page.url()).pathname, `/u/${user.username}`);
      await visit(setup, `/memes/${id}/delete`, { status: 404 });
      await visit(setup, `/memes/${id}`, { status: 404 });
    });

    test('a bad upload says so in the error colour and clears the stale preview', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/memes/new?template=chelsea');
      await renderPreview(page, () => page.locator('#caption-1').fill('before'));
      const fold = page.locator('[data-picture-choice]');
      if (!(await fold.evaluate((d) => d.open))) await fold.locator('summary').click();
      await page.locator('#image').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture at all') });
      const error = page.locator('[data-upload-error]');
      await error.waitFor({ state: 'visible' });
      assert.match(await error.innerText(), /not an image/);
      const [colour, danger] = await error.evaluate((el) => [getComputedStyle(el).color, getComputedStyle(document.documentElement).getPropertyValue('--danger')]);
      const probe = await page.evaluate((c) => { const d = document.createElement('div'); d.style.color = c; document.body.append(d); const v = getComputedStyle(d).color; d.remove(); return v; }, danger.trim());
      assert.equal(colour, probe, 'the error is in the error colour');
      assert.equal(await page.locator('#preview').evaluate((img) => img.classList.contains('is-stale')), true, 'the old preview is not left as if current');
      await checkAccessibility(page, 'editor-upload-error');
      await screenshot(page, 'editor-upload-error');
    });

    test('an upload cut off can be tried again, and nothing typed is lost', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/memes/new');
      await page.locator('#caption-1').fill('still here');
      let attempts = 0;
      // The file goes to the app locally, straight to storage on aws.
      const isUpload = (url) => (STORAGE_ORIGIN ? url.origin === STORAGE_ORIGIN : url.pathname === '/memes/drafts');
      await page.context().route(isUpload, (route) => {
        if (route.request().method() !== 'POST') return route.continue(); // a CORS preflight
        attempts += 1;
        return attempts === 1 ? route.abort('connectionreset') : route.continue();
      });
      const fold = page.locator('[data-picture-choice]');
      if (!(await fold.evaluate((d) => d.open))) await fold.locator('summary').click();
      const rendered = await page.locator('#preview').evaluate((img) => Number(img.dataset.rendered || 0));
      await page.locator('#image').setInputFiles({ name: 'pic.png', mimeType: 'image/png', buffer: tinyPng(90, 60) });
      const retry = page.getByRole('button', { name: 'Try the upload again' });
      await retry.waitFor();
      await retry.click();
      await waitForPreview(page, rendered);
      assert.equal(attempts, 2);
      assert.equal(await page.locator('#caption-1').inputValue(), 'still here');
      assert.equal(await retry.isVisible(), false);
      assert.ok((await page.locator('[data-draft]').inputValue()).length > 10, 'the draft id is in the form');
    });

    test('the header is a menu on a narrow screen', LIMIT, async () => {
      const page = await newPage({ viewport });
      await signUp(page, freshUser(`menu${viewport[0]}`));
      const menu = page.getByRole('button', { name: 'Menu' });
      const templates = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Templates' });
      if (viewport === 'phone') {
        assert.equal(await templates.isVisible(), false, 'links folded away');
        const header = await page.locator('.site-header').boundingBox();
        assert.ok(header.height < 80, `one row: ${header.height}px`);
        await menu.click();
        assert.equal(await menu.getAttribute('aria-expanded'), 'true');
        await clickAndWaitForPage(page, templates);
        assert.equal(new URL(page.url()).pathname, '/templates');
      } else {
        assert.equal(await menu.isVisible(), false);
        assert.equal(await templates.isVisible(), true);
      }
      await checkAccessibility(page, 'header-menu');
      expectNoPageProblems(page);
    });
  });
}
