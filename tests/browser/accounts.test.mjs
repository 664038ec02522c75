// Accounts in a real browser: sign up, sign out, sign in, errors, the 404 page; and for each of
// those pages at phone and desktop width: no serious/critical axe violation, no sideways
// scrolling, no script/console/sub-resource problem, and a full-page screenshot.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VIEWPORTS,
  checkAccessibility,
  clickAndWaitForPage,
  expectNoHorizontalScroll,
  expectNoPageProblems,
  expectSignedInAs,
  expectSignedOut,
  freshUser,
  newPage,
  screenshot,
  signIn,
  signOut,
  signUp,
  submitButton,
  submitLogin,
  useBrowser,
  visit,
} from './lib.mjs';

useBrowser();

const WRONG_CREDENTIALS = "That username or email and password don't match an account.";

describe('accounts', () => {
  test('sign up: the header then names the new user', async () => {
    const page = await newPage();
    const user = freshUser('signup');
    await signUp(page, user);
    assert.equal(new URL(page.url()).pathname, '/');
    await expectSignedInAs(page, user.username);
    // The session survives a fresh navigation.
    await visit(page, '/');
    await expectSignedInAs(page, user.username);
    expectNoPageProblems(page);
  });

  test('sign out: the header then offers "Sign in"', async () => {
    const page = await newPage();
    const user = freshUser('signout');
    await signUp(page, user);
    await expectSignedInAs(page, user.username);
    await signOut(page);
    await expectSignedOut(page);
    // Signed out for good, not just on this page.
    await visit(page, '/');
    await expectSignedOut(page);
    expectNoPageProblems(page);
  });

  test('sign in by email, and by username', async () => {
    const setup = await newPage();
    const user = freshUser('signin');
    await signUp(setup, user);

    const byEmail = await newPage();
    await signIn(byEmail, { login: user.email, password: user.password });
    await expectSignedInAs(byEmail, user.username);

    const byName = await newPage();
    await signIn(byName, { login: user.username.toUpperCase(), password: user.password });
    await expectSignedInAs(byName, user.username);
    expectNoPageProblems(byEmail);
    expectNoPageProblems(byName);
  });

  test('a wrong password shows the error and keeps the login, not the password', async () => {
    const setup = await newPage();
    const user = freshUser('wrongpw');
    await signUp(setup, user);

    const page = await newPage();
    const response = await submitLogin(page, { login: user.email, password: 'not the right password' });
    assert.equal(response.status(), 422);
    const alert = page.getByRole('alert');
    await alert.waitFor({ state: 'visible' });
    assert.equal((await alert.innerText()).trim(), WRONG_CREDENTIALS);
    assert.equal(await page.getByLabel('Username or email').inputValue(), user.email);
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    await expectSignedOut(page);
    expectNoPageProblems(page);
  });

  test('sign-up with a taken username re-renders with the error and the input kept', async () => {
    const setup = await newPage();
    const user = freshUser('taken');
    await signUp(setup, user);

    const page = await newPage();
    await visit(page, '/signup');
    await page.getByLabel('Email').fill(`other-${user.email}`);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    const response = await clickAndWaitForPage(page, submitButton(page, '/signup'));
    assert.equal(response.status(), 422);
    await page.locator('#username-error').waitFor({ state: 'visible' });
    assert.match(await page.locator('#username-error').innerText(), /taken/i);
    assert.equal(await page.getByLabel('Username').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Email').inputValue(), `other-${user.email}`);
    assert.equal(await page.getByLabel('Username').inputValue(), user.username);
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    expectNoPageProblems(page);
  });

  test('the 404 page renders inside the site layout', async () => {
    const page = await newPage();
    await visit(page, '/nope', { status: 404 });
    const heading = page.getByRole('heading', { level: 1 });
    await heading.waitFor({ state: 'visible' });
    assert.notEqual((await heading.innerText()).trim(), '');
    await page.getByRole('link', { name: 'Back to the home page' }).waitFor({ state: 'visible' });
    await expectSignedOut(page);
    assert.match(await page.title(), /Sky-High Memes/);
    expectNoPageProblems(page);
  });
});

describe('without JavaScript', () => {
  test('sign up, sign out and sign in work with JavaScript disabled', async () => {
    const page = await newPage({ javaScriptEnabled: false });
    const user = freshUser('nojs');
    await signUp(page, user);
    await expectSignedInAs(page, user.username);
    await signOut(page);
    await expectSignedOut(page);
    await signIn(page, { login: user.email, password: user.password });
    await expectSignedInAs(page, user.username);
    expectNoPageProblems(page);
  });
});

describe('keyboard', () => {
  test('the first Tab shows the skip link, and it moves focus to the main content', async () => {
    const page = await newPage();
    await visit(page, '/');
    await page.keyboard.press('Tab');
    const skip = page.locator('a.skip-link');
    assert.equal(await skip.evaluate((el) => el === document.activeElement), true, 'first Tab did not reach the skip link');
    const box = await skip.boundingBox();
    assert.ok(box && box.x >= 0 && box.y >= 0, `focused skip link is off screen: ${JSON.stringify(box)}`);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'main');
    expectNoPageProblems(page);
  });

  test('sign in with the keyboard only: type, Tab, Enter', async () => {
    const setup = await newPage();
    const user = freshUser('keys');
    await signUp(setup, user);

    const page = await newPage();
    await visit(page, '/login');
    await page.getByLabel('Username or email').focus();
    await page.keyboard.type(user.username);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    await page.keyboard.type(user.password);
    const loaded = page.waitForEvent('load');
    await page.keyboard.press('Enter');
    await loaded;
    await expectSignedInAs(page, user.username);
    expectNoPageProblems(page);
  });
});

// Every page, at every width: accessibility, layout, screenshot.
// To cover a new page, add an entry: `open` brings a fresh page to the state to check.
const PAGES = [
  { name: 'home', open: (page) => visit(page, '/') },
  { name: 'signup', open: (page) => visit(page, '/signup') },
  {
    name: 'signup-errors',
    open: async (page) => {
      await visit(page, '/signup');
      await page.getByLabel('Email').fill('not-an-email');
      await page.getByLabel('Username').fill('x');
      await page.getByLabel('Password').fill('short');
      const response = await clickAndWaitForPage(page, submitButton(page, '/signup'));
      assert.equal(response.status(), 422);
    },
  },
  { name: 'login', open: (page) => visit(page, '/login') },
  {
    name: 'login-error',
    open: async (page) => {
      const response = await submitLogin(page, { login: 'nobody-here', password: 'wrong password!' });
      assert.equal(response.status(), 422);
    },
  },
  { name: '404', open: (page) => visit(page, '/nope', { status: 404 }) },
  {
    name: 'home-signed-in',
    open: async (page) => {
      const user = freshUser('tour');
      await signUp(page, user);
      await visit(page, '/');
      await expectSignedInAs(page, user.username);
    },
  },
];

for (const viewport of Object.keys(VIEWPORTS)) {
  describe(`pages at ${viewport} width`, () => {
    for (const { name, open } of PAGES) {
      test(`${name}: accessible, fits the width, screenshot`, async () => {
        const page = await newPage({ viewport });
        await open(page);
        await screenshot(page, name);
        await expectNoHorizontalScroll(page);
        await checkAccessibility(page, name);
        expectNoPageProblems(page);
      });
    }
  });
}
