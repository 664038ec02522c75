// Sky-High Memes, every page: enhancements only. Without this script the header's links wrap,
// "Delete" opens a confirmation page, and share links sit in fields ready to be selected.
"use strict";

(function () {
  // The header on a narrow screen: one "Menu" button instead of two or three rows of links.
  const toggle = document.querySelector("[data-nav-toggle]");
  const links = document.getElementById("nav-links");
  if (toggle && links) {
    const nav = toggle.closest("nav");
    nav.dataset.menu = "closed";
    toggle.hidden = false;
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.dataset.menu = open ? "open" : "closed";
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && nav.dataset.menu === "open") {
        toggle.setAttribute("aria-expanded", "false");
        nav.dataset.menu = "closed";
        toggle.focus();
      }
    });
  }

  // A link to a confirmation page becomes a dialog on this page (the same form inside).
  document.querySelectorAll("[data-confirm-dialog]").forEach((link) => {
    const dialog = document.getElementById(link.dataset.confirmDialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      dialog.showModal();
    });
    dialog.querySelectorAll("[data-close-dialog]").forEach((button) =>
      button.addEventListener("click", () => dialog.close()));
  });

  // "Copy link" and "Copy image": the Clipboard API where there is one; otherwise the link's
  // field is selected, for the visitor to copy.
  function tell(button, text) {
    const status = button.closest("[data-share]").querySelector("[data-share-status]");
    if (status) status.textContent = text;
  }
  function selectField(button) {
    const field = button.closest("[data-share]").querySelector("[data-share-field]");
    if (field) { field.focus(); field.select(); }
  }
  document.querySelectorAll("[data-copy-link]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copyLink);
        tell(button, "Link copied.");
      } catch (error) {
        selectField(button);
        tell(button, "Press Ctrl+C (⌘C on a Mac) to copy the selected link.");
      }
    });
  });
  document.querySelectorAll("[data-copy-image]").forEach((button) => {
    if (!window.ClipboardItem || !navigator.clipboard || !navigator.clipboard.write) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        // Browsers take PNG on the clipboard; the meme is a JPEG, so it is drawn once to a canvas.
        const png = fetch(button.dataset.copyImage, { credentials: "omit" })
          .then((response) => {
            if (!response.ok) throw new Error("the image did not load");
            return response.blob();
          })
          .then((blob) => createImageBitmap(blob))
          .then((bitmap) => {
            const canvas = document.createElement("canvas");
            canvas.width = bitmap.width;
            canvas.height = bitmap.height;
            canvas.getContext("2d").drawImage(bitmap, 0, 0);
            return new Promise((resolve, reject) =>
              canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("no PNG"))), "image/png"));
          });
        await navigator.clipboard.write([new ClipboardItem({ "image/png": png })]);
        tell(button, "Image copied.");
      } catch (error) {
        tell(button, "This browser would not copy the image: use Download instead.");
      }
    });
  });
})();
