// Sky-High Memes editor: progressive enhancement only. Without this script the editor is a
// plain form (Preview / Save / Download buttons, each box's place as numbers). With it: a live
// preview rendered by the server as you type (debounced); text boxes drawn over the preview that
// mouse, touch and keyboard move and resize (writing the same number fields, so the server's
// render stays the one truth); boxes added and removed in place; a template picker with search;
// the work kept through "sign up to save"; and an upload progress bar.
"use strict";

(function () {
  const form = document.querySelector("[data-editor]");
  if (!form) return;
  const preview = form.querySelector("[data-preview]");
  const stage = form.querySelector("[data-stage]");
  const layer = form.querySelector("[data-box-layer]");
  const status = form.querySelector("[data-status]");
  const boxes = form.querySelector("[data-boxes]");
  const progress = form.querySelector("[data-progress]");
  const uploadError = form.querySelector("[data-upload-error]");
  const layout = form.querySelector("[data-layout]");
  const image = form.querySelector("[data-image]");
  const draft = form.querySelector("[data-draft]");
  const retryRow = form.querySelector("[data-upload-retry-row]");
  const token = form.querySelector("input[name=csrf_token]").value;
  const DEBOUNCE_MS = 250;
  const GEOMETRY = ["x", "y", "w", "h"];
  const MIN_SIZE = 1; // percent: the server's smallest box
  let timer = null;
  let inFlight = null;
  let lastUrl = null;

  // The stage takes the picture's shape, so a tall picture fits the screen's height.
  function fitStage() {
    if (preview.naturalWidth && preview.naturalHeight) stage.style.setProperty("--ratio", String(preview.naturalWidth / preview.naturalHeight));
  }
  preview.addEventListener("load", fitStage);
  fitStage();

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("is-error", Boolean(isError));
  }

  // A refused render leaves no stale picture behind: the preview says what went wrong instead.
  function showFailure(message) {
    say(message, true);
    preview.classList.add("is-stale");
  }

  function errorText(html, fallback) {
    const match = html.match(/<p class="lead">([^<]*)<\/p>/);
    return match ? decode(match[1]) : fallback;
  }

  function decode(html) {
    const el = document.createElement("textarea");
    el.innerHTML = html;
    return el.value;
  }

  // Renders the current state through POST /memes/preview: the exact server rendering.
  async function refresh() {
    if (inFlight) inFlight.abort();
    inFlight = new AbortController();
    const data = new FormData(form);
    data.delete("save");
    // The picture went up once as a draft: previews name it instead of sending it again.
    if (draft && draft.value) data.delete("image");
    if (uploading) return; // the preview follows when the upload is in
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
        showFailure(errorText(await response.text(), "Preview failed (" + response.status + ")."));
        // On aws storage takes any bytes: a file that is no picture is first refused here.
        if ((image && image.files.length) || (draft && draft.value)) {
          showUploadError(status.textContent);
          if (choice) choice.open = true;
        }
        return;
      }
      const blob = await response.blob();
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = URL.createObjectURL(blob);
      preview.src = lastUrl;
      preview.classList.remove("is-stale");
      preview.dataset.rendered = String(Number(preview.dataset.rendered || 0) + 1);
      showUploadError("");
      say("");
    } catch (error) {
      if (error.name !== "AbortError") showFailure("Preview unavailable: " + error.message);
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  function showUploadError(text) {
    if (!uploadError) return;
    uploadError.textContent = text;
    uploadError.hidden = !text;
  }

  form.addEventListener("input", (event) => { if (!event.target.matches("[data-picker-search]")) schedule(); });
  form.addEventListener("change", (event) => { if (!event.target.matches("[data-picker-search]")) schedule(); });

  // ---- The picture: template picker, upload, and the fold that hides them once chosen ----
  const choice = form.querySelector("[data-picture-choice]");
  const pictureName = form.querySelector("[data-picture-name]");
  const narrow = window.matchMedia("(max-width: 760px)");
  function chosenTemplate() {
    const checked = form.querySelector("input[name=template]:checked");
    return checked ? checked : null;
  }
  function ownBoxes() {
    const checked = chosenTemplate();
    const list = (checked && checked.dataset.boxes) || form.dataset.uploadBoxes || "";
    return list.split("|").filter(Boolean).map((box) => box.split(" ").map(Number));
  }
  // A new picture: its own boxes take the places of the first boxes; added ones stay put.
  function pictureChanged() {
    const own = ownBoxes();
    allBoxes().forEach((box, i) => { if (own[i]) setGeometry(box, own[i]); });
    showPictureChoice();
  }
  function showPictureChoice() {
    const checked = chosenTemplate();
    if (pictureName && checked) pictureName.textContent = checked.dataset.name;
    // An upload folds away once it is up (its errors and retry live in the fold).
    if (choice && narrow.matches && checked && (checked.value || (draft && draft.value))) choice.open = false;
    drawHandles();
  }
  form.querySelectorAll("input[name=template]").forEach((radio) => radio.addEventListener("change", () => {
    if (radio.value && image) { image.value = ""; forgetDraft(); showUploadError(""); }
    pictureChanged();
  }));

  // ---- Upload once: a chosen file goes up as a draft (straight to S3 on aws), with progress ----
  let uploading = false;
  let pendingFile = null;
  function forgetDraft() {
    if (draft) draft.value = "";
    pendingFile = null;
    if (retryRow) retryRow.hidden = true;
  }
  async function uploadDraft(file) {
    if (!window.SkyHighDraft || !draft) return; // the form then carries the file itself
    pendingFile = file;
    uploading = true;
    retryRow.hidden = true;
    showUploadError("");
    progress.value = 0;
    progress.textContent = "0%";
    progress.hidden = false;
    say("Uploading your picture…");
    try {
      const made = await window.SkyHighDraft.upload(file, {
        csrfToken: token,
        onProgress: (fraction) => {
          progress.value = Math.round(fraction * 100);
          progress.textContent = progress.value + "%";
        },
      });
      if (pendingFile !== file) return; // another choice came since
      draft.value = made.draft;
      // The file is up: the form sends the draft's id from now on, never the file again.
      image.value = "";
      uploading = false;
      progress.hidden = true;
      showPictureChoice();
      refresh();
    } catch (error) {
      uploading = false;
      progress.hidden = true;
      showFailure(error.message);
      showUploadError(error.message);
      // A lost connection can be tried again; a refused file cannot.
      retryRow.hidden = error.status !== 0;
      if (choice) choice.open = true;
    }
  }
  const retry = form.querySelector("[data-upload-retry]");
  if (retry) retry.addEventListener("click", () => { if (pendingFile) uploadDraft(pendingFile); });
  if (image) {
    image.addEventListener("change", () => {
      showUploadError("");
      if (!image.files.length) return;
      forgetDraft();
      const upload = form.querySelector("[data-upload-choice]");
      if (upload) upload.checked = true;
      pictureChanged();
      uploadDraft(image.files[0]);
    });
  }
  if (choice && narrow.matches && chosenTemplate()) choice.open = false;

  // Search by name, as you type.
  const searchRow = form.querySelector("[data-picker-search-row]");
  const search = form.querySelector("[data-picker-search]");
  const empty = form.querySelector("[data-picker-empty]");
  if (search) {
    searchRow.hidden = false;
    search.addEventListener("input", () => {
      const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      form.querySelectorAll("[data-picker-item]").forEach((item) => {
        const match = words.every((w) => item.dataset.name.includes(w));
        item.hidden = !match;
        if (match) shown += 1;
      });
      empty.hidden = shown > 0;
    });
    // Enter in the search box must not submit the whole form.
    search.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  }

  // ---- The meme as a link that draws itself (/i/template/line/line.jpg, memegen's escapes) ----
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
    const checked = chosenTemplate();
    const chosen = choice ? (checked ? checked.value : "") : share.dataset.template;
    if (!chosen || (image && image.files && image.files.length) || (draft && draft.value)) { share.hidden = true; return; }
    const captions = Array.from(form.querySelectorAll("textarea[name=caption]")).map((t) => line(t.value));
    const url = "/i/" + chosen + (captions.length ? "/" + captions.join("/") : "") + ".jpg";
    shareLink.href = url;
    shareLink.textContent = url;
    share.hidden = false;
  }
  form.addEventListener("input", updateShare);
  form.addEventListener("change", updateShare);

  // ---- Caption boxes: their fields, adding and removing in place ----
  function allBoxes() {
    return Array.from(boxes.querySelectorAll("[data-box]"));
  }
  function geometryOf(box) {
    return GEOMETRY.map((name) => Number(box.querySelector("[data-geometry=" + name + "]").value) || 0);
  }
  function setGeometry(box, values) {
    GEOMETRY.forEach((name, i) => {
      box.querySelector("[data-geometry=" + name + "]").value = String(Math.round(values[i] * 10) / 10);
    });
  }
  function labelOf(box, i) {
    return box.dataset.name || "Text " + (i + 1);
  }
  function renumber() {
    const all = allBoxes();
    all.forEach((box, i) => {
      const label = box.querySelector("label");
      const area = box.querySelector("textarea");
      area.id = "caption-" + (i + 1);
      label.htmlFor = area.id;
      label.textContent = labelOf(box, i);
      box.querySelector("[data-remove-box]").hidden = all.length <= 1;
    });
  }
  // Where an added box goes: the page's rule ("x w h top,top,…"), the first top no box has.
  function addedBoxPlace() {
    const [x, w, h, tops] = form.dataset.addedBox.split(" ");
    const candidates = tops.split(",").map(Number);
    const taken = allBoxes().map((box) => geometryOf(box)[1]);
    const y = candidates.find((top) => taken.every((t) => Math.abs(t - top) >= 4));
    return [Number(x), y === undefined ? candidates[0] : y, Number(w), Number(h)];
  }
  const add = form.querySelector("[data-add-box]");
  add.addEventListener("click", (event) => {
    event.preventDefault();
    const all = allBoxes();
    if (all.length >= 20) { say("A meme can have at most 20 text boxes.", true); return; }
    const place = addedBoxPlace();
    const copy = all[all.length - 1].cloneNode(true);
    copy.dataset.name = "";
    copy.querySelector("textarea").value = "";
    copy.querySelector("details").open = false;
    setGeometry(copy, place);
    all[all.length - 1].after(copy);
    renumber();
    drawHandles();
    copy.querySelector("textarea").focus();
    schedule();
  });
  boxes.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-box]");
    if (!button) return;
    button.closest("[data-box]").remove();
    renumber();
    drawHandles();
    allBoxes()[0].querySelector("textarea").focus();
    schedule();
  });
  renumber();

  // ---- Direct manipulation: a handle per box over the preview ----
  function clampGeometry([x, y, w, h]) {
    w = Math.min(Math.max(w, MIN_SIZE), 100);
    h = Math.min(Math.max(h, MIN_SIZE), 100);
    x = Math.min(Math.max(x, 0), 100 - w);
    y = Math.min(Math.max(y, 0), 100 - h);
    return [x, y, w, h];
  }
  function describe(box, i) {
    const [x, y, w, h] = geometryOf(box).map((v) => Math.round(v));
    return labelOf(box, i) + ": " + x + "% from the left, " + y + "% from the top, " + w + "% wide, " + h + "% high";
  }
  function place(handle, box, i) {
    const [x, y, w, h] = geometryOf(box);
    handle.style.left = x + "%";
    handle.style.top = y + "%";
    handle.style.width = w + "%";
    handle.style.height = h + "%";
    handle.setAttribute("aria-label", describe(box, i));
    handle.querySelector(".box-handle-text").textContent = box.querySelector("textarea").value;
  }
  function drawHandles() {
    const modern = layout && layout.value === "modern";
    layer.hidden = modern;
    if (modern) return;
    const all = allBoxes();
    while (layer.children.length > all.length) layer.lastElementChild.remove();
    while (layer.children.length < all.length) layer.append(makeHandle());
    all.forEach((box, i) => place(layer.children[i], box, i));
  }
  function makeHandle() {
    const handle = document.createElement("button");
    handle.type = "button";
    handle.className = "box-handle";
    handle.setAttribute("aria-describedby", "box-keys");
    const text = document.createElement("span");
    text.className = "box-handle-text";
    text.setAttribute("aria-hidden", "true");
    const grip = document.createElement("span");
    grip.className = "box-resize";
    grip.setAttribute("aria-hidden", "true");
    handle.append(text, grip);
    return handle;
  }
  function boxOfHandle(handle) {
    const index = Array.prototype.indexOf.call(layer.children, handle);
    return [allBoxes()[index], index];
  }
  function change(handle, next) {
    const [box, i] = boxOfHandle(handle);
    setGeometry(box, clampGeometry(next));
    place(handle, box, i);
    updateShare();
  }

  let drag = null;
  layer.addEventListener("pointerdown", (event) => {
    const handle = event.target.closest(".box-handle");
    if (!handle || event.button > 0) return;
    event.preventDefault();
    handle.focus();
    handle.setPointerCapture(event.pointerId);
    const [box] = boxOfHandle(handle);
    drag = {
      handle,
      pointer: event.pointerId,
      resize: Boolean(event.target.closest(".box-resize")),
      startX: event.clientX,
      startY: event.clientY,
      start: geometryOf(box),
      rect: stage.getBoundingClientRect(),
    };
    handle.classList.add("is-dragging");
  });
  layer.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    const dx = ((event.clientX - drag.startX) / drag.rect.width) * 100;
    const dy = ((event.clientY - drag.startY) / drag.rect.height) * 100;
    const [x, y, w, h] = drag.start;
    change(drag.handle, drag.resize ? [x, y, w + dx, h + dy] : [x + dx, y + dy, w, h]);
  });
  function endDrag(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    drag.handle.classList.remove("is-dragging");
    drag = null;
    schedule();
  }
  layer.addEventListener("pointerup", endDrag);
  layer.addEventListener("pointercancel", endDrag);

  const KEY_STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  layer.addEventListener("keydown", (event) => {
    const handle = event.target.closest(".box-handle");
    const step = KEY_STEPS[event.key];
    if (!handle || !step) return;
    event.preventDefault();
    const [box] = boxOfHandle(handle);
    const [x, y, w, h] = geometryOf(box);
    const [dx, dy] = step;
    change(handle, event.shiftKey ? [x, y, w + dx, h + dy] : [x + dx, y + dy, w, h]);
    schedule();
  });
  // A handle's click (Enter, Space) takes you to the box's text.
  layer.addEventListener("click", (event) => {
    const handle = event.target.closest(".box-handle");
    if (!handle || event.detail > 0) return;
    const [box] = boxOfHandle(handle);
    box.querySelector("textarea").focus();
  });
  // Typed numbers and text move the handles too.
  form.addEventListener("input", (event) => {
    if (event.target.matches("[data-geometry], textarea[name=caption]")) drawHandles();
  });
  if (layout) layout.addEventListener("change", drawHandles);
  drawHandles();

  // ---- Keeping the work through "sign up to save" / "sign in to save" ----
  // In localStorage, not sessionStorage: the confirmation link of a sign-up opens from an email,
  // in another tab. Kept a day at most, and removed once restored.
  const KEPT = "skyhigh-editor-draft";
  const KEPT_FOR_MS = 24 * 60 * 60 * 1000;
  function keepWork() {
    const state = { keptAt: Date.now(), template: null, layout: layout ? layout.value : null, boxes: [] };
    const checked = chosenTemplate();
    if (checked) state.template = checked.value;
    // An uploaded picture is kept as its draft's id (the draft belongs to this browser and
    // outlives signing in); a file still in the picker cannot be kept.
    if (draft && draft.value) state.draft = draft.value;
    allBoxes().forEach((box) => {
      const kept = { name: box.dataset.name, caption: box.querySelector("textarea").value };
      ["font", "fill", "outline"].forEach((field) => { kept[field] = box.querySelector("[name=" + field + "]").value; });
      kept.geometry = geometryOf(box);
      state.boxes.push(kept);
    });
    try { localStorage.setItem(KEPT, JSON.stringify(state)); } catch (error) { /* storage refused: nothing kept */ }
  }
  form.querySelectorAll("[data-keep-work]").forEach((link) => link.addEventListener("click", keepWork));
  function restoreWork() {
    if (new URLSearchParams(window.location.search).get("restore") !== "1") return;
    let state = null;
    try { state = JSON.parse(localStorage.getItem(KEPT) || "null"); } catch (error) { state = null; }
    try { localStorage.removeItem(KEPT); } catch (error) { /* nothing to remove */ }
    if (!state || !Array.isArray(state.boxes) || !state.boxes.length) return;
    if (!(Date.now() - Number(state.keptAt) < KEPT_FOR_MS)) return;
    if (state.template !== null) {
      const radio = Array.from(form.querySelectorAll("input[name=template]")).find((r) => r.value === state.template);
      if (radio) radio.checked = true;
    }
    if (layout && state.layout) layout.value = state.layout;
    if (draft && typeof state.draft === "string" && state.template === "") draft.value = state.draft;
    let all = allBoxes();
    while (all.length < Math.min(state.boxes.length, 20)) {
      const copy = all[all.length - 1].cloneNode(true);
      all[all.length - 1].after(copy);
      all = allBoxes();
    }
    while (all.length > state.boxes.length) { all[all.length - 1].remove(); all = allBoxes(); }
    all.forEach((box, i) => {
      const kept = state.boxes[i];
      box.dataset.name = kept.name || "";
      box.querySelector("textarea").value = String(kept.caption || "");
      ["font", "fill", "outline"].forEach((field) => {
        if (kept[field]) box.querySelector("[name=" + field + "]").value = kept[field];
      });
      if (Array.isArray(kept.geometry) && kept.geometry.length === 4) setGeometry(box, clampGeometry(kept.geometry.map(Number)));
    });
    renumber();
    showPictureChoice();
    updateShare();
    refresh().then(() => say("Your meme is back, as you left it."));
  }
  restoreWork();

  // The first caption is where work starts (on a phone the keyboard would cover the preview).
  const first = form.querySelector("[data-first-caption]");
  if (first && window.matchMedia("(pointer: fine)").matches && !window.location.hash) first.focus({ preventScroll: true });

  // ---- Submitting with an upload: XMLHttpRequest, to show upload progress ----
  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-preview-button")) {
      event.preventDefault();
      refresh();
      return;
    }
    if (!image || !image.files.length) return; // small form (a template, or a draft's id): let the browser post it
    event.preventDefault();
    const data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    const xhr = new XMLHttpRequest();
    // (A button's formAction is the page's URL when it has no formaction of its own.)
    xhr.open("POST", submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action);
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
          const message = errorText(text, "Saving failed (" + xhr.status + ").");
          showFailure(message);
          showUploadError(message);
        });
      } else if (type.startsWith("image/")) {
        const disposition = xhr.getResponseHeader("Content-Disposition") || "";
        const named = disposition.match(/filename="([^"]+)"/);
        const link = document.createElement("a");
        link.href = URL.createObjectURL(xhr.response);
        link.download = named ? named[1] : (type === "image/gif" ? "sky-high-meme.gif" : "sky-high-meme.jpg");
        document.body.append(link);
        link.click();
        link.remove();
      } else {
        window.location.assign(xhr.responseURL);
      }
    });
    xhr.addEventListener("error", () => {
      progress.hidden = true;
      showUploadError("The upload was interrupted. Your meme is still here: try again.");
    });
    xhr.send(data);
  });
})();
