// Draft uploads (issue 15) in a real browser: static/draft-upload.js, loaded by the editor,
// uploads a picture once with progress, and its id then stands for the file in a preview. A
// failure rejects with an Error the editor can show (and retry from). The editor's own wiring is
// tested with the editor; this tests the module it calls, at phone and desktop width.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VIEWPORTS, expectNoPageProblems, newPage, tinyPng, useBrowser, visit } from './lib.mjs';

useBrowser();

const LIMIT = { timeout: 60_000 };

/**
 * Run against the aws backend (`SKYHIGH_BACKEND=aws` and moto's `AWS_ENDPOINT_URL` in run.sh's
 * environment), the file goes straight to the emulated S3: the one other origin these pages may
 * reach (lib.mjs blocks every other).
 */
const STORAGE_ORIGIN =
  process.env.SKYHIGH_BACKEND === 'aws' && process.env.AWS_ENDPOINT_URL ? new URL(process.env.AWS_ENDPOINT_URL).origin : null;

async function editorPage(viewport) {
  const page = await newPage({ viewport });
  if (STORAGE_ORIGIN) {
    // Routes registered later are asked first.
    await page.context().route((url) => url.origin === STORAGE_ORIGIN, (route) => route.continue());
  }
  await visit(page, '/memes/new');
  await page.waitForFunction(() => typeof window.SkyHighDraft?.upload === 'function');
  return page;
}

/** Calls window.SkyHighDraft.upload in the page with `bytes` as a file; returns what happened. */
async function uploadInPage(page, bytes, { name = 'picture.png', type = 'image/png' } = {}) {
  return page.evaluate(
    async ({ bytes, name, type }) => {
      const file = new File([new Uint8Array(bytes)], name, { type });
      const csrfToken = document.querySelector('form[data-editor] input[name=csrf_token]').value;
      const progress = [];
      try {
        const result = await window.SkyHighDraft.upload(file, { csrfToken, onProgress: (f) => progress.push(f) });
        return { result, progress };
      } catch (error) {
        return { error: { isError: error instanceof Error, message: error.message, status: error.status }, progress };
      }
    },
    { bytes: [...bytes], name, type },
  );
}

/** POSTs the editor's preview with draft=id from the page; returns its status and type. */
async function previewInPage(page, draft) {
  return page.evaluate(async (draft) => {
    const form = new FormData();
    form.append('csrf_token', document.querySelector('form[data-editor] input[name=csrf_token]').value);
    form.append('draft', draft);
    form.append('caption', 'uploaded once');
    form.append('caption', 'previewed by id');
    const response = await fetch('/memes/preview', { method: 'POST', body: form, credentials: 'same-origin' });
    return { status: response.status, type: response.headers.get('content-type'), size: (await response.blob()).size };
  }, draft);
}

for (const viewport of Object.keys(VIEWPORTS)) {
  describe(`draft uploads at ${viewport} width`, () => {
    test('a picture is uploaded once with progress, and its id previews', LIMIT, async () => {
      const page = await editorPage(viewport);

      const { result, progress, error } = await uploadInPage(page, tinyPng(640, 400));

      assert.equal(error, undefined, `the upload succeeds: ${JSON.stringify(error)}`);
      assert.match(result.draft, /^\d+-[0-9a-f]{32}$/);
      assert.ok(progress.length >= 1, 'progress was reported');
      assert.ok(progress.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= progress[i - 1])), `${progress}`);
      assert.equal(progress.at(-1), 1, 'ending at the whole file');
      const preview = await previewInPage(page, result.draft);
      assert.equal(preview.status, 200);
      assert.equal(preview.type, 'image/jpeg');
      assert.ok(preview.size > 1000, `a real picture: ${preview.size} bytes`);
      await expectNoPageProblems(page);
      await page.context().close();
    });

    test('a file that is no picture is refused, with a message to show', LIMIT, async () => {
      const page = await editorPage(viewport);
      // (No expectNoPageProblems here: Chromium logs the 422 this test asks for.)

      const { error, result } = await uploadInPage(page, Buffer.from('not a picture at all'), {
        name: 'notes.txt',
        type: 'text/plain',
      });

      if (STORAGE_ORIGIN) {
        // S3 takes any bytes within the policy; the app sniffs them when the draft is first used.
        assert.equal(error, undefined, `the upload to storage succeeds: ${JSON.stringify(error)}`);
        const preview = await page.evaluate(async (draft) => {
          const form = new FormData();
          form.append('csrf_token', document.querySelector('form[data-editor] input[name=csrf_token]').value);
          form.append('draft', draft);
          const response = await fetch('/memes/preview', { method: 'POST', body: form, credentials: 'same-origin' });
          return { status: response.status, text: await response.text() };
        }, result.draft);
        assert.equal(preview.status, 422);
        assert.match(preview.text, /not an image we can read/);
      } else {
        assert.equal(result, undefined);
        assert.ok(error.isError, 'rejects with an Error');
        assert.equal(error.status, 422);
        assert.match(error.message, /not an image we can read/);
      }
      await page.context().close();
    });
  });
}
