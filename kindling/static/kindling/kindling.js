// Copy buttons: <button data-copy-target="#field-id"> copies the field's value.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copyTarget);
  if (!field) return;
  const icon = button.querySelector(".bi");
  const done = () => {
    icon?.classList.replace("bi-clipboard", "bi-clipboard-check");
    setTimeout(() => icon?.classList.replace("bi-clipboard-check", "bi-clipboard"), 1500);
  };
  // The clipboard API exists only on https and localhost; elsewhere select the text for Ctrl+C.
  if (navigator.clipboard) {
    navigator.clipboard.writeText(field.value).then(done, () => field.select());
  } else {
    field.select();
  }
});

// Trigger form: show the fields of the chosen kind (without JavaScript every kind's fields show).
function showKindFields(select) {
  document.querySelectorAll(".kindling-kind-fields[data-kinds]").forEach((fieldset) => {
    const shown = fieldset.dataset.kinds.split(" ").includes(select.value);
    fieldset.hidden = !shown;
    fieldset.disabled = !shown;
  });
}

// History filters: the From and To days only count for a custom range.
function showCustomRange(select) {
  document.querySelectorAll(".kindling-custom-range").forEach((field) => {
    field.hidden = select.value !== "custom";
  });
}

document.querySelectorAll("[data-kind-select]").forEach(showKindFields);
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-kind-select]")) showKindFields(event.target);
  if (event.target.matches("[data-period-select]")) showCustomRange(event.target);
});

// An eye button shows or hides a secret field (<button data-reveal-target="#field-id">).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-reveal-target]");
  if (!button) return;
  const field = document.querySelector(button.dataset.revealTarget);
  if (!field) return;
  const shown = field.type === "password";
  field.type = shown ? "text" : "password";
  button.setAttribute("aria-pressed", String(shown));
  button.setAttribute("aria-label", shown ? "Hide the inbox URL" : "Show the inbox URL");
  button.querySelector(".bi")?.classList.replace(shown ? "bi-eye" : "bi-eye-slash", shown ? "bi-eye-slash" : "bi-eye");
});

// Sliders show their value as they move (<output data-range-output="input-id">).
document.addEventListener("input", (event) => {
  const output = document.querySelector(`[data-range-output="${event.target.id}"]`);
  if (output) output.textContent = event.target.value;
});

// Sessions end 24 hours after login (kindling/accounts/sessions.py). Every open tab asks now and then,
// and when it comes back into view, whether its session still lives; once it has ended the tab shows the
// login page, keeping what was typed in its forms (this tab only) to fill them in again after login.
const KEPT_PREFIX = "kindling-kept:";

function formData(form) {
  const data = {};
  for (const field of form.elements) {
    if (!field.name || field.type === "password" || field.name === "csrfmiddlewaretoken") continue;
    if ((field.type === "checkbox" || field.type === "radio") && !field.checked) continue;
    if (field.type === "submit" || field.type === "button" || field.type === "file") continue;
    (data[field.name] ||= []).push(field.value);
  }
  return data;
}

function fillForm(form, data) {
  if (JSON.stringify(formData(form)) === JSON.stringify(data)) return;  // nothing was typed in it
  for (const field of form.elements) {
    const values = data[field.name];
    if (!values || field.type === "password" || field.name === "csrfmiddlewaretoken") continue;
    if (field.type === "checkbox" || field.type === "radio") field.checked = values.includes(field.value);
    else if (field.multiple) [...field.options].forEach((o) => { o.selected = values.includes(o.value); });
    else field.value = values[0];
  }
  const note = document.createElement("div");
  note.className = "alert alert-warning kindling-kept-note";
  note.setAttribute("role", "status");
  note.textContent = "Your session had ended, so this form was not sent. What you typed is filled in again: check it and send it.";
  form.prepend(note);
}

function postForms() {
  return [...document.querySelectorAll("form[method=post], form[method=POST]")].filter(
    (form) => !form.closest(".dropdown-menu"));
}

function keepTypedForms() {
  const kept = postForms().map((form) => ({action: form.getAttribute("action") || "", data: formData(form)}));
  sessionStorage.setItem(KEPT_PREFIX + location.pathname + location.search, JSON.stringify(kept));
}

function restoreKeptForms() {
  const key = KEPT_PREFIX + location.pathname + location.search;
  const server = document.getElementById("kindling-kept-form");
  if (server) {
    // Posted after the session ended: the server kept it for the page it came from.
    const kept = JSON.parse(server.textContent);
    const form = postForms().find((f) => new URL(f.action, location.href).pathname === kept.action) || postForms()[0];
    if (form) fillForm(form, kept.data);
  }
  const stored = sessionStorage.getItem(key);
  if (!stored || !document.body.dataset.sessionCheck) return;
  sessionStorage.removeItem(key);
  const forms = postForms();
  JSON.parse(stored).forEach((kept, i) => {
    const form = forms.find((f) => (f.getAttribute("action") || "") === kept.action) || forms[i];
    if (form && Object.keys(kept.data).length) fillForm(form, kept.data);
  });
}

function watchSession() {
  const body = document.body;
  if (!body.dataset.sessionCheck) return;
  let ended = false;
  const toLogin = () => {
    if (ended) return;
    ended = true;
    keepTypedForms();
    const next = location.pathname + location.search;
    location.assign(`${body.dataset.loginUrl}?next=${encodeURIComponent(next)}`);
  };
  const ask = () => {
    if (ended) return;
    fetch(body.dataset.sessionCheck, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then((response) => { if (response.status === 401) toLogin(); })
      .catch(() => {});  // offline: ask again later
  };
  setInterval(ask, Number(body.dataset.sessionCheckSeconds || 30) * 1000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) ask(); });
}

restoreKeptForms();
watchSession();

// Trigger form: inclusion criteria of {} match every message; say so as they are typed (the form
// asks for the confirmation box to be ticked before it saves them).
function noteMatchAll(criteria) {
  const note = document.getElementById("match-all-note");
  if (!note) return;
  let value;
  try {
    value = JSON.parse(criteria.value);
  } catch (e) {
    value = null;
  }
  note.hidden = !(value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0);
}

document.addEventListener("input", (event) => {
  if (event.target.matches("#id_criteria")) noteMatchAll(event.target);
});
