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
