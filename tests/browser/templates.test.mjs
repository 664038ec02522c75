// The template gallery and pages (issue 15), at desktop (1280×800) and phone (390×844) width:
// one click on a gallery card opens the editor with that template chosen; a template page shows
// the newest memes made with it and a chart that reads without JavaScript (labels in the
// drawing, the numbers in a table). The gallery and a template page go through axe at both
// widths, and screenshots land in test-output/screenshots.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAccessibility,
  chosenTemplate,
  clickAndWaitForPage,
  expectNoHorizontalScroll,
  expectNoPageProblems,
  freshUser,
  loadAllImages,
  memeAlt,
  newPage,
  saveMeme,
  screenshot,
  signUp,
  useBrowser,
  visit,
} from './lib.mjs';

useBrowser();

const LIMIT = { timeout: 90_000 };
const WIDTHS = ['desktop', 'phone'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A day as the chart labels it ("11 Jun"), `daysAgo` days before today (UTC). */
function chartDay(daysAgo = 0) {
  const day = new Date(Date.now() - daysAgo * 86_400_000);
  return `${day.getUTCDate()} ${MONTHS[day.getUTCMonth()]}`;
}

for (const viewport of WIDTHS) {
  describe(`templates at ${viewport} width`, () => {
    test('one click on a gallery card opens the editor with that template chosen', LIMIT, async () => {
      const page = await newPage({ viewport });
      await visit(page, '/templates');
      await loadAllImages(page);
      await expectNoHorizontalScroll(page);
      await checkAccessibility(page, 'templates-gallery');
      await screenshot(page, 'templates-gallery');

      const card = page.locator('.template-card', { hasText: 'Coffee' });
      assert.equal(await card.getByRole('link', { name: 'Details & stats of Coffee' }).getAttribute('href'), '/templates/coffee');
      await clickAndWaitForPage(page, card.getByRole('link', { name: /Make a meme with it/ }));

      const url = new URL(page.url());
      assert.equal(`${url.pathname}${url.search}`, '/memes/new?template=coffee');
      assert.equal(await chosenTemplate(page), 'coffee');
      assert.equal(await page.locator('[data-picture-name]').innerText(), 'Coffee');
      expectNoPageProblems(page);
    });

    test('a template page shows its newest memes and a labelled chart with a table', LIMIT, async () => {
      const page = await newPage({ viewport });
      await signUp(page, freshUser(`tpl${viewport[0]}`));
      const captions = [`on coins at ${viewport}`, 'newest first'];
      const id = await saveMeme(page, { template: 'coins', captions });

      await visit(page, '/templates/coins');

      const newest = page.locator('.template-recent .meme-card-link').first();
      assert.equal(await newest.getAttribute('href'), `/memes/${id}`);
      assert.equal(await newest.locator('img').getAttribute('alt'), memeAlt(captions));
      const chart = page.getByRole('img', { name: /Memes made per day/ });
      assert.equal(await chart.isVisible(), true);
      const labels = await page.locator('.chart svg text').allTextContents();
      for (const day of [chartDay(29), chartDay(15), chartDay(0)]) {
        assert.ok(labels.includes(day), `the chart labels ${day}: ${labels.join(', ')}`);
      }
      assert.ok(labels.some((text) => /^[1-9]\d*$/.test(text)), `the top of the scale is labelled: ${labels.join(', ')}`);
      assert.match(await page.locator('.chart figcaption').innerText(), /memes? in the last 30 days/);
      await page.getByText('Memes per day as a table').click();
      const table = page.getByRole('table');
      assert.equal(await table.isVisible(), true);
      assert.equal(await table.getByRole('row').count(), 31, 'a header and one row a day');
      const today = table.getByRole('row').last();
      assert.ok(Number((await today.getByRole('cell').innerText()).trim()) >= 1, 'today counts the meme just made');

      await loadAllImages(page);
      await expectNoHorizontalScroll(page);
      await checkAccessibility(page, 'template-coins');
      await screenshot(page, 'template-coins');
      expectNoPageProblems(page);
    });
  });
}
