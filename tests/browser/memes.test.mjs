// Making and sharing memes in a real browser: the editor's live preview, downloads, caption boxes,
// uploads with a progress bar, the editor without JavaScript, and a two-account journey (save,
// subscribe, notification, comment, remix, delete). Then a tour of the meme pages at phone and
// desktop width: no serious/critical axe violation, no sideways scrolling, no broken image or
// script problem, and a full-page screenshot of each.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VIEWPORTS,
  checkAccessibility,
  chooseTemplate,
  chosenTemplate,
  clickAndWaitForPage,
  downloadFrom,
  expectNoHorizontalScroll,
  expectNoPageProblems,
  expectSignedInAs,
  fillEditor,
  freshUser,
  isJpeg,
  loadAllImages,
  memeAlt,
  memeIdFrom,
  newPage,
  renderPreview,
  previewRenderCount,
  saveMeme,
  screenshot,
  signUp,
  tinyPng,
  useBrowser,
  visit,
  waitForPreview,
} from './lib.mjs';

useBrowser();

/** Every test ends within this, pass or fail (node:test has no default limit: a hang would hang the run). */
const LIMIT = { timeout: 90_000 };

/** A few random letters, so that texts typed by one test never match another test's. */
const tag = () => Math.random().toString(36).slice(2, 8);

/** The meme's image on its page, found by its alt text; waits until it has loaded. */
async function expectMemeImage(page, captions) {
  const img = page.locator('figure.meme-figure img');
  await img.waitFor({ state: 'visible' });
  assert.equal(await img.getAttribute('alt'), memeAlt(captions));
  await page.waitForFunction(() => {
    const el = document.querySelector('figure.meme-figure img');
    return el.complete && el.naturalWidth > 0;
  });
}

/** Reloads `path` until `locator` (built on the page) matches something; at most ~10 s. */
async function reloadUntil(page, path, makeLocator, { attempts = 20, pauseMs = 500 } = {}) {
  for (let i = 0; i < attempts; i += 1) {
    await visit(page, path);
    if ((await makeLocator(page).count()) > 0) return;
    await page.waitForTimeout(pauseMs);
  }
  assert.fail(`${path}: still nothing matching after ${attempts} reloads`);
}

describe('editor with JavaScript', () => {
  test('anonymous: the live preview follows the captions, and Download gives a JPEG', LIMIT, async () => {
    const page = await newPage();
    await visit(page, '/memes/new');
    await expectNoSaveButton(page);
    assert.equal(await previewRenderCount(page), 0);

    const plain = await renderPreview(page, () => chooseTemplate(page, 'astronaut'));
    assert.ok(plain.count >= 1);
    assert.equal(plain.contentType, 'image/jpeg');

    const withTop = await renderPreview(page, () => page.locator('#caption-1').fill(`Houston ${tag()}`));
    assert.ok(withTop.count > plain.count, `data-rendered went from ${plain.count} to ${withTop.count}`);
    assert.ok(withTop.pixels !== plain.pixels, 'typing a caption did not change the preview');

    const again = await renderPreview(page, () => page.locator('#caption-2').fill(`we have a meme ${tag()}`));
    assert.ok(again.count > withTop.count, `data-rendered went from ${withTop.count} to ${again.count}`);
    assert.ok(again.pixels !== withTop.pixels, 'the second caption did not change the preview');
    const { naturalWidth, src } = await page.locator('#preview').evaluate((img) => ({ naturalWidth: img.naturalWidth, src: img.src }));
    assert.ok(src.startsWith('blob:'), `preview src is ${src}`);
    assert.ok(naturalWidth > 0);

    const { download, bytes } = await downloadFrom(page, page.getByRole('button', { name: 'Download', exact: true }));
    assert.match(download.suggestedFilename(), /^houston-[a-z0-9-]+-we-have-a-meme-[a-z0-9-]+\.jpg$/, 'named after the captions');
    assert.ok(isJpeg(bytes), `the download starts with ${bytes.subarray(0, 4).toString('hex')}, not FF D8 FF`);
    assert.ok(bytes.length > 1000, `the download is only ${bytes.length} bytes`);
    // A download leaves the editor as it was.
    assert.equal(new URL(page.url()).pathname, '/memes/new');
    expectNoPageProblems(page);
  });

  test('the /i/ link follows the captions as they are typed, and draws the meme', LIMIT, async () => {
    const page = await newPage();
    await visit(page, '/memes/new');
    await chooseTemplate(page, 'astronaut');
    await page.locator('#caption-1').fill('why? 100%');
    await page.locator('#caption-2').fill('and/or "this"');
    const link = page.locator('[data-share-link]');
    assert.equal(await link.getAttribute('href'), "/i/astronaut/why~q_100~p/and~sor_''this''.jpg");
    const drawn = await page.request.get(await link.getAttribute('href'));
    assert.equal(drawn.status(), 200);
    assert.ok(isJpeg(await drawn.body()));
    expectNoPageProblems(page);
    // "Upload instead" (no file yet): an upload has no link. (The live preview of an editor
    // without a picture is refused, so the page's problems are checked before this.)
    await chooseTemplate(page, '');
    assert.equal(await page.locator('[data-share-url]').isHidden(), true, 'no link for an upload');
  });

  test('"Add a text box" adds a third box in place, and Remove takes boxes away', LIMIT, async () => {
    const page = await newPage();
    const user = freshUser('boxes');
    await signUp(page, user);
    await visit(page, '/memes/new');
    const boxes = page.locator('[data-box]');
    assert.equal(await boxes.count(), 2);

    await page.getByRole('button', { name: 'Add a text box' }).click();
    assert.equal(await boxes.count(), 3);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/memes/new', 'adding a box navigated away');
    const third = page.getByLabel('Text 3', { exact: true });
    await third.waitFor({ state: 'visible' });
    assert.equal(await third.getAttribute('id'), 'caption-3');
    assert.equal(await third.inputValue(), '', 'the new box is not empty');
    assert.equal(await third.evaluate((el) => el === document.activeElement), true, 'the new box does not have focus');
    assert.equal(await page.locator('[data-remove-box]:visible').count(), 3);

    const captions = [`one ${tag()}`, `two ${tag()}`, `three ${tag()}`];
    for (const [i, text] of captions.entries()) await page.locator(`#caption-${i + 1}`).fill(text);
    await waitForPreview(page, 0);

    // Remove the middle box: the others are renumbered and keep their text.
    await boxes.nth(1).getByRole('button', { name: 'Remove' }).click();
    assert.equal(await boxes.count(), 2);
    assert.equal(await page.locator('#caption-1').inputValue(), captions[0]);
    assert.equal(await page.locator('#caption-2').inputValue(), captions[2]);
    assert.equal(await page.getByLabel('Text 2', { exact: true }).inputValue(), captions[2]);
    assert.equal(await page.locator('#caption-3').count(), 0);

    // Down to one box. (That it then has no visible Remove button is the todo test below.)
    await boxes.nth(1).getByRole('button', { name: 'Remove' }).click();
    assert.equal(await boxes.count(), 1);
    assert.equal(await page.locator('#caption-1').inputValue(), captions[0]);

    // Back to three and save: the server gets the boxes in their order.
    await page.getByRole('button', { name: 'Add a text box' }).click();
    await page.getByRole('button', { name: 'Add a text box' }).click();
    assert.equal(await boxes.count(), 3);
    const saved = [captions[0], `new two ${tag()}`, `new three ${tag()}`];
    await page.getByLabel('Text 2', { exact: true }).fill(saved[1]);
    await page.getByLabel('Text 3', { exact: true }).fill(saved[2]);
    await clickAndWaitForPage(page, page.getByRole('button', { name: 'Save to my memes' }));
    assert.ok(memeIdFrom(page.url()), `saving did not land on a meme page: ${page.url()}`);
    await expectMemeImage(page, saved);
    assert.deepEqual(await page.locator('ol.captions li').allInnerTexts(), saved);
    expectNoPageProblems(page);
  });

  test('upload: the file goes up once with progress, previews and Save name its draft, and it lands on the meme', LIMIT, async () => {
    const page = await newPage();
    const user = freshUser('upload');
    await signUp(page, user);
    await visit(page, '/memes/new');
    const png = tinyPng(120, 80);
    // Hold the draft upload until the progress bar is seen, then let it through.
    const upload = { csrfHeader: null, carriesFile: false, progressShown: false, drafts: 0 };
    await page.route(
      (url) => url.pathname === '/memes/drafts',
      async (route) => {
        const request = route.request();
        upload.drafts += 1;
        upload.csrfHeader = await request.headerValue('x-csrf-token');
        upload.carriesFile = (request.postDataBuffer() ?? Buffer.alloc(0)).includes(png);
        await page.locator('progress[data-progress]').waitFor({ state: 'visible' });
        upload.progressShown = true;
        return route.continue();
      },
    );
    const previews = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/memes/preview') previews.push(request.postDataBuffer() ?? Buffer.alloc(0));
    });
    await page.locator('#image').setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: png });
    // Choosing a file clears the template choice, and the preview is drawn on the upload.
    assert.equal(await chosenTemplate(page), '');
    let rendered = await waitForPreview(page, 0);
    const ratio = await page.locator('#preview').evaluate((img) => img.naturalWidth / img.naturalHeight);
    assert.ok(Math.abs(ratio - 1.5) < 0.05, `the preview of a 120×80 upload has aspect ratio ${ratio}`);
    const captions = [`uploaded ${tag()}`, `and saved ${tag()}`];
    await page.locator('#caption-1').fill(captions[0]);
    await page.locator('#caption-2').fill(captions[1]);
    rendered = await waitForPreview(page, rendered);
    assert.equal(upload.drafts, 1, 'the file went up once');
    assert.ok(upload.csrfHeader, 'the upload was not sent by the script (no X-CSRF-Token header)');
    assert.ok(upload.carriesFile, 'the upload request does not carry the PNG');
    assert.ok(upload.progressShown, 'the progress bar was not shown during the upload');
    assert.ok(previews.length >= 2, `previews: ${previews.length}`);
    assert.ok(previews.every((body) => !body.includes(png)), 'a preview sent the file again');

    const saved = page.waitForRequest((r) => new URL(r.url()).pathname === '/memes' && r.method() === 'POST');
    await clickAndWaitForPage(page, page.getByRole('button', { name: 'Save to my memes' }));
    assert.ok(!((await saved).postDataBuffer() ?? Buffer.alloc(0)).includes(png), 'Save sent the file again');
    assert.equal(upload.drafts, 1);
    await expectMemeImage(page, captions);
    const size = await page.locator('figure.meme-figure img').evaluate((img) => img.naturalWidth / img.naturalHeight);
    assert.ok(Math.abs(size - 1.5) < 0.05, `the saved meme has aspect ratio ${size}, not the upload's 1.5`);
    await expectSignedInAs(page, user.username);
    expectNoPageProblems(page);
  });

  test('upload while signed out: Download hands over the rendered JPEG', LIMIT, async () => {
    const page = await newPage();
    await visit(page, '/memes/new');
    await page.locator('#image').setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: tinyPng(64, 64) });
    await page.locator('#caption-1').fill(`anon upload ${tag()}`);
    await waitForPreview(page, 0);
    const { download, bytes } = await downloadFrom(page, page.getByRole('button', { name: 'Download', exact: true }));
    assert.match(download.suggestedFilename(), /^anon-upload-[a-z0-9-]+\.jpg$/, 'named after the caption');
    assert.ok(isJpeg(bytes), `the download starts with ${bytes.subarray(0, 4).toString('hex')}`);
    assert.equal(await page.locator('progress[data-progress]').isHidden(), true, 'the progress bar stayed visible');
    expectNoPageProblems(page);
  });
});

async function expectNoSaveButton(page) {
  assert.equal(await page.getByRole('button', { name: 'Save to my memes' }).count(), 0, 'anonymous editor offers Save');
}

describe('editor without JavaScript', () => {
  test('choose a template, type captions, Download gives a JPEG; signed in, Save lands on the meme', LIMIT, async () => {
    const page = await newPage({ javaScriptEnabled: false });
    const captions = [`no script ${tag()}`, `still works ${tag()}`];
    await fillEditor(page, { template: 'rocket', captions });
    await expectNoSaveButton(page);
    const { download, bytes } = await downloadFrom(page, page.getByRole('button', { name: 'Download', exact: true }));
    assert.match(download.suggestedFilename(), /^no-script-[a-z0-9-]+-still-works-[a-z0-9-]+\.jpg$/);
    assert.ok(isJpeg(bytes), `the download starts with ${bytes.subarray(0, 4).toString('hex')}`);

    // Without the script, "Add a text box" posts the form back: three boxes, the typed text kept.
    await clickAndWaitForPage(page, page.getByRole('button', { name: 'Add a text box' }));
    assert.equal(new URL(page.url()).pathname, '/memes/new');
    assert.equal(await page.locator('textarea[name=caption]').count(), 3);
    assert.equal(await page.locator('#caption-1').inputValue(), captions[0]);
    assert.equal(await page.locator('#caption-2').inputValue(), captions[1]);
    assert.equal(await chosenTemplate(page), 'rocket');
    // (No axe or width check here: both run scripts in the page, which this context forbids.)
    await screenshot(page, 'editor-no-js');

    const user = freshUser('nojsmeme');
    await signUp(page, user);
    const id = await saveMeme(page, { template: 'rocket', captions });
    await expectMemeImage(page, captions);
    assert.equal(await page.locator('figcaption a[href="/templates/rocket"]').count(), 1);
    assert.ok(id);
    expectNoPageProblems(page);
  });
});

describe('two accounts', () => {
  test('save, subscribe, get notified, comment, remix, see the remix, delete', LIMIT, async () => {
    const alice = await newPage();
    const a = freshUser('alice');
    await signUp(alice, a);
    const first = [`first top ${tag()}`, `first bottom ${tag()}`];
    const firstId = await saveMeme(alice, { template: 'chelsea', captions: first });
    await expectMemeImage(alice, first);
    await alice.locator('figcaption').getByRole('link', { name: a.username }).waitFor({ state: 'visible' });
    assert.equal(await alice.getByRole('link', { name: 'Delete this meme' }).count(), 1);

    // B follows A.
    const bob = await newPage();
    const b = freshUser('bob');
    await signUp(bob, b);
    await visit(bob, `/u/${a.username}`);
    assert.equal((await bob.locator('[data-subscribers]').innerText()).trim(), '0 subscribers');
    await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Subscribe' }));
    assert.equal(new URL(bob.url()).pathname, `/u/${a.username}`);
    assert.equal((await bob.locator('[data-subscribers]').innerText()).trim(), '1 subscriber');
    await bob.getByRole('button', { name: 'Unsubscribe' }).waitFor({ state: 'visible' });
    await visit(bob, '/subscriptions');
    await bob.locator('ul.chips').getByRole('link', { name: a.username }).waitFor({ state: 'visible' });

    // A's next meme reaches B's notifications.
    const second = [`second top ${tag()}`, `second bottom ${tag()}`];
    const secondId = await saveMeme(alice, { template: 'coffee', captions: second });
    await reloadUntil(bob, '/notifications', (p) => p.locator(`.notification-list a[href="/memes/${secondId}"]`));
    const item = bob.locator('.notification-list li', { has: bob.locator(`a[href="/memes/${secondId}"]`) });
    assert.match((await item.innerText()).replace(/\s+/g, ' '), new RegExp(`${a.username} posted a new meme`));
    assert.equal(await bob.locator(`.notification-list a[href="/memes/${firstId}"]`).count(), 0, 'notified about a meme saved before subscribing');
    // Opening the notifications read them: the next visit shows them read.
    await visit(bob, '/notifications');
    assert.equal(await bob.locator('.notification.unread').count(), 0);
    await clickAndWaitForPage(bob, item.getByRole('link', { name: 'a new meme' }));
    await expectMemeImage(bob, second);

    // B comments on A's first meme.
    await visit(bob, `/memes/${firstId}`);
    const comment = `Nice one ${tag()}`;
    await bob.getByLabel('Add a comment').fill(comment);
    await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Post comment' }));
    assert.equal(new URL(bob.url()).pathname, `/memes/${firstId}`);
    const posted = bob.locator('ol.comments li.comment', { hasText: comment });
    await posted.waitFor({ state: 'visible' });
    await posted.getByRole('link', { name: b.username }).waitFor({ state: 'visible' });
    await posted.getByRole('button', { name: 'Delete comment' }).waitFor({ state: 'visible' });
    await bob.getByRole('heading', { name: 'Comments (1)' }).waitFor({ state: 'visible' });

    // B remixes it: the editor comes prefilled with the captions; change the second one.
    await clickAndWaitForPage(bob, bob.locator('.meme-actions').getByRole('link', { name: 'Remix' }));
    assert.equal(new URL(bob.url()).searchParams.get('remix'), firstId);
    await bob.getByRole('heading', { name: 'Remix a meme', level: 1 }).waitFor({ state: 'visible' });
    assert.equal(await bob.locator('#caption-1').inputValue(), first[0]);
    assert.equal(await bob.locator('#caption-2').inputValue(), first[1]);
    const remixed = [first[0], `remixed bottom ${tag()}`];
    await bob.locator('#caption-2').fill(remixed[1]);
    await waitForPreview(bob, 0);
    await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Save to my memes' }));
    const remixId = memeIdFrom(bob.url());
    assert.ok(remixId && remixId !== firstId, `the remix did not land on a new meme page: ${bob.url()}`);
    await expectMemeImage(bob, remixed);
    const from = bob.locator('section.remix-of');
    await from.getByRole('heading', { name: 'Remixed from' }).waitFor({ state: 'visible' });
    await from.locator(`a[href="/memes/${firstId}"]`).first().waitFor({ state: 'visible' });
    // (textContent: the labels are upper-cased by CSS.)
    assert.match(await from.locator('li.change-same').textContent(), new RegExp(`Kept\\s+“${first[0]}”`));
    assert.match(await from.locator('li.change-edited').textContent(), /Changed/);
    const edited = from.locator('li.change-edited');
    assert.equal(await edited.locator('del').innerText(), `“${first[1]}”`);
    assert.equal(await edited.locator('ins').innerText(), `“${remixed[1]}”`);

    // A's meme lists the remix, and the comment.
    await visit(alice, `/memes/${firstId}`);
    const remixes = alice.locator('section', { has: alice.getByRole('heading', { name: 'Remixes' }) });
    await remixes.locator(`a[href="/memes/${remixId}"]`).waitFor({ state: 'visible' });
    assert.equal(await remixes.getByRole('img', { name: memeAlt(remixed) }).count(), 1);
    await alice.locator('ol.comments li.comment', { hasText: comment }).waitFor({ state: 'visible' });

    // A deletes the first meme: back to the portfolio, and the meme is gone.
    await alice.getByRole('link', { name: 'Delete this meme' }).click();
    await clickAndWaitForPage(alice, alice.getByRole('dialog').getByRole('button', { name: 'Delete it' }));
    assert.equal(new URL(alice.url()).pathname, `/u/${a.username}`);
    assert.equal(await alice.locator(`a[href="/memes/${firstId}"]`).count(), 0, 'the portfolio still lists the deleted meme');
    await alice.locator(`a[href="/memes/${secondId}"]`).first().waitFor({ state: 'visible' });
    await visit(alice, `/memes/${firstId}`, { status: 404 });
    await visit(bob, `/memes/${firstId}`, { status: 404 });
    // The remix stays, and says its original is gone.
    await visit(bob, `/memes/${remixId}`);
    await bob.locator('section.remix-of').getByText('The original meme has been deleted.').waitFor({ state: 'visible' });
    expectNoPageProblems(alice);
    expectNoPageProblems(bob);
  });
});

// Remove buttons are `.button`s; their `hidden` attribute must still hide them.
describe('editor caption boxes: hidden Remove buttons', () => {
  test('with one box left, it has no Remove button', LIMIT, async () => {
    const page = await newPage();
    await visit(page, '/memes/new');
    await page.locator('[data-box]').nth(1).getByRole('button', { name: 'Remove' }).click();
    assert.equal(await page.locator('[data-box]').count(), 1);
    assert.equal(await page.locator('[data-remove-box]').evaluate((el) => el.hidden), true);
    assert.equal(await page.locator('[data-remove-box]:visible').count(), 0, 'the only box still shows a Remove button');
  });

  test('without JavaScript the editor shows no Remove buttons (they would do nothing)', LIMIT, async () => {
    const page = await newPage({ javaScriptEnabled: false });
    await visit(page, '/memes/new');
    assert.equal(await page.locator('[data-remove-box]:visible').count(), 0, 'dead Remove buttons are shown without JavaScript');
  });
});

// ---- the page tour -------------------------------------------------------------------------

/**
 * Made once for the tour: A with a meme that B commented on and remixed, and a second meme that
 * B (a subscriber) was notified about. Each tour page opens its own context from these saved
 * sessions (no sign-in per page).
 */
const world = {};

async function makeWorld() {
  const alice = await newPage();
  const a = freshUser('tourowner');
  await signUp(alice, a);
  const captions = [`tour top ${tag()}`, `tour bottom ${tag()}`];
  const memeId = await saveMeme(alice, { template: 'grace-hopper', captions });

  const bob = await newPage();
  const b = freshUser('tourfan');
  await signUp(bob, b);
  await visit(bob, `/u/${a.username}`);
  await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Subscribe' }));
  await visit(bob, `/memes/${memeId}`);
  await bob.getByLabel('Add a comment').fill('A comment long enough to wrap on a phone, to see how the comment list copes with it.');
  await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Post comment' }));
  await fillEditor(bob, { template: null, path: `/memes/new?remix=${memeId}` });
  await bob.locator('#caption-2').fill(`tour remix ${tag()}`);
  await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Save to my memes' }));
  const remixId = memeIdFrom(bob.url());
  assert.ok(remixId);

  await saveMeme(alice, { template: 'coins', captions: ['a second meme', 'for the notifications'] });
  Object.assign(world, {
    owner: a.username,
    memeId,
    remixId,
    ownerState: await alice.context().storageState(),
    fanState: await bob.context().storageState(),
  });
  await alice.context().close();
  await bob.context().close();
}

async function typeAndRender(page) {
  await page.locator('#caption-1').fill('when the build');
  await page.locator('#caption-2').fill('is finally green');
  await waitForPreview(page, 0);
}

const PAGES = [
  {
    name: 'editor',
    open: async (page) => {
      await visit(page, '/memes/new');
      await typeAndRender(page);
    },
  },
  {
    name: 'editor-signed-in',
    as: 'owner',
    open: async (page) => {
      await visit(page, '/memes/new');
      await typeAndRender(page);
    },
  },
  { name: 'meme', as: 'fan', open: (page) => visit(page, `/memes/${world.memeId}`) },
  { name: 'meme-remix', as: 'fan', open: (page) => visit(page, `/memes/${world.remixId}`) },
  { name: 'meme-anonymous', open: (page) => visit(page, `/memes/${world.memeId}`) },
  { name: 'meme-owner', as: 'owner', open: (page) => visit(page, `/memes/${world.memeId}`) },
  { name: 'delete-confirmation', as: 'owner', open: (page) => visit(page, `/memes/${world.memeId}/delete`) },
  { name: 'editor-remix', as: 'fan', open: (page) => visit(page, `/memes/new?remix=${world.memeId}`) },
  { name: 'account', as: 'owner', open: (page) => visit(page, '/account') },
  { name: 'portfolio-owner', as: 'owner', open: (page) => visit(page, `/u/${world.owner}`) },
  { name: 'portfolio-visitor', as: 'fan', open: (page) => visit(page, `/u/${world.owner}`) },
  { name: 'templates', open: (page) => visit(page, '/templates') },
  { name: 'template-chelsea', open: (page) => visit(page, '/templates/chelsea') },
  { name: 'subscriptions', as: 'fan', open: (page) => visit(page, '/subscriptions') },
  { name: 'notifications', as: 'fan', open: (page) => visit(page, '/notifications') },
  {
    name: 'unsubscribe-unknown',
    open: async (page) => {
      await visit(page, `/unsubscribe/${'0'.repeat(32)}`);
      await page.getByRole('heading', { name: 'Nothing to unsubscribe', level: 1 }).waitFor({ state: 'visible' });
    },
  },
];

describe('meme pages', () => {
  before(makeWorld, LIMIT);

  for (const viewport of Object.keys(VIEWPORTS)) {
    describe(`at ${viewport} width`, () => {
      for (const { name, as, open } of PAGES) {
        const who = as ? ` (as ${as})` : '';
        const openPage = async () => {
          const storageState = as === 'owner' ? world.ownerState : as === 'fan' ? world.fanState : undefined;
          const page = await newPage({ viewport, ...(storageState ? { storageState } : {}) });
          await open(page);
          await loadAllImages(page);
          return page;
        };
        test(`${name}${who}: accessible, fits the width, screenshot`, LIMIT, async () => {
          const page = await openPage();
          await screenshot(page, name);
          await expectNoHorizontalScroll(page);
          await checkAccessibility(page, name);
          expectNoPageProblems(page);
        });
      }
    });
  }
});
