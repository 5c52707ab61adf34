// Administration, notifications and models pages: a form with `data-confirm` asks first
// (revoking a key, re-driving deliveries); a `data-copy` button copies its target's value.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const target = document.getElementById(button.dataset.copy);
  if (target && "value" in target) {
    target.select();
    navigator.clipboard?.writeText(target.value);
  }
});
// A long form (training) shows that it is working while the server does it.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.busy || event.defaultPrevented) return;
  const busy = document.getElementById(form.dataset.busy);
  if (busy) busy.hidden = false;
  form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
});
