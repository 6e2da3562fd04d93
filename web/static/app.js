// Tandem's own script: progressive enhancement only. Every page works without it.
"use strict";

// Forms marked data-inline post in the background and swap in the page the server
// answers with, so a rep's accept or reject does not reload the page.
document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-inline")) return;
  ev.preventDefault();
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  try {
    const res = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
    const html = await res.text();
    const doc = new DOMParser().parseFromString(html, "text/html");
    const main = doc.querySelector("main");
    if (main) {
      document.querySelector("main").replaceWith(main);
      if (res.redirected) history.replaceState(null, "", res.url);
      const note = main.querySelector(".flash, .error");
      if (note) note.focus?.();
    } else {
      form.submit();
    }
  } catch (e) {
    form.submit();
  }
});

// The agreement editor checks the document as it is typed and lists each problem with
// its line, column and rule.
const editor = document.querySelector("form[data-validate]");
if (editor) {
  const area = editor.querySelector("textarea");
  const live = document.getElementById("live");
  let timer = 0;
  const check = async () => {
    const body = new URLSearchParams({ document: area.value, csrf: editor.querySelector("input[name=csrf]").value });
    const res = await fetch(editor.dataset.validate, { method: "POST", body, credentials: "same-origin" });
    if (!res.ok) return;
    const { errors } = await res.json();
    live.replaceChildren();
    if (errors.length === 0) {
      live.className = "live ok";
      live.textContent = "No problems.";
      return;
    }
    live.className = "live bad";
    const list = document.createElement("ol");
    for (const e of errors) {
      const item = document.createElement("li");
      item.className = "problem";
      item.dataset.line = e.line;
      item.textContent = (e.rule ? e.rule + ": " : "") + (e.line ? "line " + e.line + ", column " + e.column + ": " : "") + e.message;
      list.append(item);
    }
    live.append(list);
  };
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
}
