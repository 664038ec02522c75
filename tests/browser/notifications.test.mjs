// Notifications for creators, at desktop and phone width: B comments on, remixes and subscribes
// to A; A's header shows the unread count (its accessible name says it in words), A opens
// Notifications and finds the three with their links, and the badge is gone. The page passes axe
// and is screenshotted at both widths.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAccessibility,
  clickAndWaitForPage,
  expectNoHorizontalScroll,
  expectNoPageProblems,
  fillEditor,
  freshUser,
  loadAllImages,
  memeIdFrom,
  newPage,
  saveMeme,
  screenshot,
  signUp,
  useBrowser,
  visit,
} from './lib.mjs';

useBrowser();

const LIMIT = { timeout: 90_000 };

/** The header's link to the notifications (also while a narrow header folds its links away). */
const notificationsLink = (page) => page.locator('header.site-header a[href="/notifications"]');

/** The accessible name of the header's Notifications link: its visible text without the badge's
 * number (hidden from screen readers), with the visually hidden ", N unread". */
async function notificationsLinkName(page) {
  return notificationsLink(page).evaluate((link) => {
    const spoken = [...link.childNodes].filter((n) => !(n instanceof Element && n.getAttribute('aria-hidden') === 'true'));
    return spoken.map((n) => n.textContent).join('').replace(/\s+/g, ' ').trim();
  });
}

for (const viewport of ['desktop', 'phone']) {
  describe(`creator notifications (${viewport})`, () => {
    test('B comments on, remixes and subscribes to A: A sees a badge of 3, opens them, and the badge is gone', LIMIT, async () => {
      const alice = await newPage({ viewport });
      const a = freshUser('creator');
      await signUp(alice, a);
      const memeId = await saveMeme(alice, { template: 'chelsea', captions: ['notify me', 'please'] });
      assert.equal(await alice.locator('header .nav-badge').count(), 0, 'nothing unread yet');

      const bob = await newPage({ viewport });
      const b = freshUser('fan');
      await signUp(bob, b);
      // B comments on A's meme.
      await visit(bob, `/memes/${memeId}`);
      await bob.getByLabel('Add a comment').fill('This one made my day');
      await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Post comment' }));
      // B remixes it.
      await fillEditor(bob, { template: null, path: `/memes/new?remix=${memeId}`, captions: ['my take', 'on it'] });
      await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Save to my memes' }));
      const remixId = memeIdFrom(bob.url());
      assert.ok(remixId, `the remix was saved: ${bob.url()}`);
      // B subscribes to A.
      await visit(bob, `/u/${a.username}`);
      await clickAndWaitForPage(bob, bob.getByRole('button', { name: 'Subscribe' }));
      await bob.getByRole('button', { name: 'Unsubscribe' }).waitFor({ state: 'visible' });

      // A's header counts the three, in numbers and in words.
      await visit(alice, '/');
      assert.equal((await alice.locator('header .nav-badge').textContent()).trim(), '3');
      assert.equal(await notificationsLinkName(alice), 'Notifications, 3 unread');
      await visit(alice, `/u/${a.username}`);
      assert.equal((await alice.locator('header .nav-badge').textContent()).trim(), '3', 'on every signed-in page');
      await screenshot(alice, 'notifications-badge');

      // A opens Notifications: the three, with their links.
      if (await notificationsLink(alice).isVisible()) {
        await clickAndWaitForPage(alice, notificationsLink(alice));
      } else {
        await visit(alice, '/notifications'); // folded into a closed menu on a narrow header
      }
      assert.equal(new URL(alice.url()).pathname, '/notifications');
      const items = alice.locator('.notification-list li');
      assert.equal(await items.count(), 3);
      assert.equal(await alice.locator('.notification.unread').count(), 3, 'shown as new this once');
      const texts = (await items.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
      assert.match(texts[0], new RegExp(`^${b.username} subscribed to you`));
      assert.match(texts[1], new RegExp(`^${b.username} remixed your meme: see the remix`));
      assert.match(texts[2], new RegExp(`^${b.username} commented on your meme`));
      await items.nth(0).getByRole('link', { name: b.username }).waitFor();
      assert.equal(await items.nth(1).locator(`a[href="/memes/${remixId}"]`).count(), 2, 'thumbnail and link');
      assert.equal(await items.nth(2).locator(`a[href^="/memes/${memeId}#comment-"]`).count(), 1);
      assert.equal(await alice.locator('header .nav-badge').count(), 0, 'read on opening');
      assert.equal(await notificationsLinkName(alice), 'Notifications');
      await loadAllImages(alice);
      await checkAccessibility(alice, 'notifications-creator');
      await expectNoHorizontalScroll(alice);
      await screenshot(alice, 'notifications-creator');

      // The links lead where they say, and the badge stays gone.
      await clickAndWaitForPage(alice, items.nth(1).getByRole('link', { name: 'see the remix' }));
      assert.equal(new URL(alice.url()).pathname, `/memes/${remixId}`);
      assert.equal(await alice.locator('header .nav-badge').count(), 0);
      await visit(alice, '/notifications');
      assert.equal(await alice.locator('.notification.unread').count(), 0);
      await clickAndWaitForPage(alice, items.nth(0).getByRole('link', { name: b.username }));
      assert.equal(new URL(alice.url()).pathname, `/u/${b.username}`);
      expectNoPageProblems(alice);
      expectNoPageProblems(bob);
    });
  });
}
