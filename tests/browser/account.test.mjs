// The account page and the forgotten password in a real browser, at phone and desktop width:
// a password reset end to end (ask for it, read the email from the outbox, set the new
// password, sign in with it), and the account, forgot and reset pages checked with axe, for
// sideways scrolling, and photographed.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VIEWPORTS,
  checkAccessibility,
  clickAndWaitForPage,
  emailedLink,
  expectNoHorizontalScroll,
  expectNoPageProblems,
  expectSignedInAs,
  expectSignedOut,
  freshUser,
  newPage,
  screenshot,
  signIn,
  signUp,
  submitButton,
  submitLogin,
  useBrowser,
  visit,
} from './lib.mjs';

useBrowser();

const NEW_PASSWORD = 'a whole new sentence to remember';

/** Fits the width, passes axe, and is photographed as `name`. */
async function checkPage(page, name) {
  await screenshot(page, name);
  await expectNoHorizontalScroll(page);
  await checkAccessibility(page, name);
}

for (const viewport of Object.keys(VIEWPORTS)) {
  describe(`account at ${viewport} width`, () => {
    test('password reset end to end: the emailed link sets a new password, which then signs in', async () => {
      const user = freshUser(`reset-${viewport}`);
      const setup = await newPage({ viewport });
      await signUp(setup, user);
      await visit(setup, '/account');
      await checkPage(setup, 'account');
      expectNoPageProblems(setup);

      const page = await newPage({ viewport });
      await visit(page, '/login');
      await clickAndWaitForPage(page, page.getByRole('link', { name: 'Forgot your password?' }));
      assert.equal(new URL(page.url()).pathname, '/password/forgot');
      await checkPage(page, 'forgot');
      await page.getByLabel('Email').fill(user.email);
      const asked = await clickAndWaitForPage(page, submitButton(page, '/password/forgot'));
      assert.equal(asked.status(), 200);
      await page.locator('#forgot-sent').waitFor({ state: 'visible' });
      await checkPage(page, 'forgot-sent');

      const link = await emailedLink(user.email, '/password/reset/');
      await visit(page, link);
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor({ state: 'visible' });
      await checkPage(page, 'reset');
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      const reset = await clickAndWaitForPage(page, submitButton(page, link));
      assert.equal(reset.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/login');
      await page.getByRole('status').filter({ hasText: 'Your password is changed' }).waitFor({ state: 'visible' });

      await signIn(page, { login: user.username, password: NEW_PASSWORD });
      await expectSignedInAs(page, user.username);
      // The session made before the reset is over, and the old password no longer works.
      await visit(setup, '/');
      await expectSignedOut(setup);
      const old = await submitLogin(setup, { login: user.username, password: user.password });
      assert.equal(old.status(), 422);

      // The used link shows a clear "no longer works" page.
      await visit(page, link, { status: 410 });
      await page.getByRole('heading', { name: 'This link no longer works' }).waitFor({ state: 'visible' });
      await checkPage(page, 'reset-used');
      expectNoPageProblems(page);
    });
  });
}
