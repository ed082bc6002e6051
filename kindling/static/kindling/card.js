// Add Card: Stripe Elements collects the card and confirms a SetupIntent with Stripe; the form then
// posts only the SetupIntent's id to Kindling.
(() => {
  const form = document.getElementById("card-form");
  if (!form) return;
  const errors = document.getElementById("card-errors");
  if (!window.Stripe) {
    errors.textContent = "The payment form could not be loaded: check your connection and reload the page.";
    return;
  }
  const stripe = window.Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  form.addEventListener("submit", async (event) => {
    if (document.getElementById("setup-intent").value) return;
    event.preventDefault();
    const save = document.getElementById("card-save");
    save.disabled = true;
    errors.textContent = "";
    const result = await stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card } });
    if (result.error) {
      errors.textContent = result.error.message;
      save.disabled = false;
      return;
    }
    document.getElementById("setup-intent").value = result.setupIntent.id;
    form.submit();
  });
})();
