// Sky-High Memes draft uploads (issue 15): send a chosen picture once, then name it by id.
//
//   window.SkyHighDraft.upload(file, { csrfToken, onProgress(fraction) }) → Promise<{ draft, expiresAt }>
//
// Then post `draft=<id>` instead of the `image` file to /memes/preview and /memes. The promise
// rejects with an Error whose message can be shown as is (`error.status` is the HTTP status,
// 0 for a network failure or an abort); nothing is kept between calls, so the caller retries by
// calling again with the same file, keeping its own state.
//
// Which way the file goes is the server's answer to POST /memes/drafts/presign: on the aws
// backend a presigned S3 POST (the file goes straight to the bucket, bounded by the policy's
// content-length-range, never through an instance); otherwise `{"upload": null}`, and the file
// is posted to /memes/drafts. Progress comes from XMLHttpRequest's upload events (fetch has
// none), as fractions from 0 to 1, ending with 1.
"use strict";

(function () {
  function failure(message, status) {
    const error = new Error(message);
    error.status = status;
    return error;
  }

  // The app's JSON error body ({"error": {"message"}}), or a sentence of our own.
  function messageOf(xhr, fallback) {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) {
      // Not JSON (S3 answers XML): the fallback says what failed.
    }
    return fallback + " (" + xhr.status + ").";
  }

  // Sends `body` with XMLHttpRequest, reporting upload progress; resolves with the request once
  // it has answered 2xx.
  function send(url, body, { headers = {}, onProgress, withCredentials = false, what }) {
    return new Promise(function (resolve, reject) {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.withCredentials = withCredentials;
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      if (onProgress) {
        xhr.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable && event.total > 0) onProgress(Math.min(1, event.loaded / event.total));
        });
      }
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) resolve(xhr);
        else reject(failure(messageOf(xhr, what + " failed"), xhr.status));
      });
      xhr.addEventListener("error", function () {
        reject(failure(what + " failed: the connection was lost. Try again.", 0));
      });
      xhr.addEventListener("abort", function () {
        reject(failure(what + " was interrupted. Try again.", 0));
      });
      xhr.addEventListener("timeout", function () {
        reject(failure(what + " took too long. Try again.", 0));
      });
      xhr.send(body);
    });
  }

  function json(xhr) {
    try {
      return JSON.parse(xhr.responseText);
    } catch (_) {
      throw failure("The server's answer could not be read. Try again.", xhr.status);
    }
  }

  async function upload(file, options) {
    const { csrfToken, onProgress } = options || {};
    if (!file) throw failure("Choose a picture first.", 0);
    if (!csrfToken) throw failure("The page has no form token: reload it and try again.", 0);
    const report = typeof onProgress === "function" ? onProgress : null;
    const sameOrigin = { headers: { "X-CSRF-Token": csrfToken }, withCredentials: true };

    const asked = json(await send("/memes/drafts/presign", null, { ...sameOrigin, what: "Preparing the upload" }));
    if (asked.upload) {
      // Straight to storage: the signed fields first, the file last (S3 ignores what follows it).
      const form = new FormData();
      for (const [name, value] of Object.entries(asked.upload.fields)) form.append(name, value);
      form.append(asked.upload.file_field || "file", file);
      await send(asked.upload.url, form, { onProgress: report, what: "Uploading the picture" });
      if (report) report(1);
      return { draft: asked.draft, expiresAt: asked.expires_at };
    }
    const form = new FormData();
    form.append("csrf_token", csrfToken);
    form.append("image", file);
    const kept = json(await send("/memes/drafts", form, { ...sameOrigin, onProgress: report, what: "Uploading the picture" }));
    if (report) report(1);
    return { draft: kept.draft, expiresAt: kept.expires_at };
  }

  window.SkyHighDraft = Object.freeze({ upload });
})();
