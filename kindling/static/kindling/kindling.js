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
