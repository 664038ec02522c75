// Sky-High Memes editor: progressive enhancement only. Without this script the editor is a
// plain form (Preview / Save / Download buttons). With it: a live preview rendered by the
// server as you type (debounced), add/remove caption boxes in place, and an upload progress bar.
"use strict";

(function () {
  const form = document.querySelector("[data-editor]");
  if (!form) return;
  const preview = form.querySelector("[data-preview]");
  const status = form.querySelector("[data-status]");
  const boxes = form.querySelector("[data-boxes]");
  const progress = form.querySelector("[data-progress]");
  const token = form.querySelector("input[name=csrf_token]").value;
  const DEBOUNCE_MS = 250;
  let timer = null;
  let inFlight = null;
  let lastUrl = null;

  function say(text) {
    status.textContent = text;
  }

  // Renders the current state through POST /memes/preview: the exact server rendering.
  async function refresh() {
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    const data = new FormData(form);
    data.delete("save");
    say("Rendering…");
    try {
      const response = await fetch("/memes/preview", {
        method: "POST",
        body: data,
        headers: { "X-CSRF-Token": token },
        signal: inFlight.signal,
        credentials: "same-origin",
      });
      if (!response.ok) {
        const text = await response.text();
        const match = text.match(/<p class="lead">([^<]*)<\/p>/);
        say(match ? decode(match[1]) : "Preview failed (" + response.status + ").");
        return;
      }
      const blob = await response.blob();
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = URL.createObjectURL(blob);
      preview.src = lastUrl;
      preview.dataset.rendered = String(Number(preview.dataset.rendered || 0) + 1);
      say("");
    } catch (error) {
      if (error.name !== "AbortError") say("Preview unavailable: " + error.message);
    }
  }

  function decode(html) {
    const el = document.createElement("textarea");
    el.innerHTML = html;
    return el.value;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);

  // The meme as a link that draws itself (/i/template/line/line.jpg, memegen's escapes), kept
  // in step with the captions; only for a template (an upload has no URL).
  const share = document.querySelector("[data-share-url]");
  const shareLink = share && share.querySelector("[data-share-link]");
  const ESCAPES = { " ": "_", "_": "__", "-": "--", "\n": "~n", "?": "~q", "&": "~a", "%": "~p",
    "#": "~h", "/": "~s", "\\": "~b", "<": "~l", ">": "~g", "\"": "''" };
  function line(text) {
    if (text === "") return "_";
    return Array.from(text.replace(/\r\n?/g, "\n"))
      .map((c) => ESCAPES[c] || encodeURIComponent(c))
      .join("");
  }
  function updateShare() {
    if (!shareLink) return;
    const chosen = template ? template.value : share.dataset.template;
    if (!chosen || (image && image.files && image.files.length)) { share.hidden = true; return; }
    const captions = Array.from(form.querySelectorAll("textarea[name=caption]")).map((t) => line(t.value));
    const url = "/i/" + chosen + (captions.length ? "/" + captions.join("/") : "") + ".jpg";
    shareLink.href = url;
    shareLink.textContent = url;
    share.hidden = false;
  }
  form.addEventListener("input", updateShare);
  form.addEventListener("change", updateShare);

  // Choosing a template clears a chosen upload, and the other way round.
  const template = form.querySelector("[data-template]");
  const image = form.querySelector("[data-image]");
  if (template && image) {
    template.addEventListener("change", () => { if (template.value) image.value = ""; });
    image.addEventListener("change", () => { if (image.files.length) template.value = ""; });
  }

  // Caption boxes: add and remove in place.
  function renumber() {
    const all = boxes.querySelectorAll("[data-box]");
    all.forEach((box, i) => {
      const label = box.querySelector("label");
      const area = box.querySelector("textarea");
      area.id = "caption-" + (i + 1);
      label.htmlFor = area.id;
      label.textContent = "Text " + (i + 1);
      box.querySelector("[data-remove-box]").hidden = all.length <= 1;
    });
  }
  const add = form.querySelector("[data-add-box]");
  add.addEventListener("click", (event) => {
    event.preventDefault();
    const all = boxes.querySelectorAll("[data-box]");
    if (all.length >= 20) return;
    const copy = all[all.length - 1].cloneNode(true);
    copy.querySelector("textarea").value = "";
    all[all.length - 1].after(copy);
    renumber();
    copy.querySelector("textarea").focus();
    schedule();
  });
  boxes.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-box]");
    if (!button) return;
    button.closest("[data-box]").remove();
    renumber();
    schedule();
  });
  renumber();

  // Submitting with an upload: send with XMLHttpRequest to show upload progress.
  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-preview-button")) {
      event.preventDefault();
      refresh();
      return;
    }
    if (!image || !image.files.length) return; // small form: let the browser post it
    event.preventDefault();
    const data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.responseType = "blob";
    progress.hidden = false;
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        progress.value = Math.round((e.loaded / e.total) * 100);
        progress.textContent = progress.value + "%";
      }
    });
    xhr.addEventListener("load", () => {
      progress.hidden = true;
      const type = xhr.getResponseHeader("Content-Type") || "";
      if (xhr.status >= 400) {
        xhr.response.text().then((text) => {
          const match = text.match(/<p class="lead">([^<]*)<\/p>/);
          say(match ? decode(match[1]) : "Saving failed (" + xhr.status + ").");
        });
      } else if (type.startsWith("image/")) {
        const link = document.createElement("a");
        link.href = URL.createObjectURL(xhr.response);
        link.download = type === "image/gif" ? "sky-high-meme.gif" : "sky-high-meme.jpg";
        document.body.append(link);
        link.click();
        link.remove();
      } else {
        window.location.assign(xhr.responseURL);
      }
    });
    xhr.addEventListener("error", () => { progress.hidden = true; say("Upload failed. Please try again."); });
    xhr.send(data);
  });
})();
