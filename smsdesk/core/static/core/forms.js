// While a form posts, its submit buttons are disabled: a second click does not send it again.
// (The server refuses a second submission of the same form anyway: core/once.py.)
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") return;
  // after this event, so that the clicked button's name=value is still sent
  window.setTimeout(function () {
    form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]")
      .forEach(function (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
      });
  }, 0);
});
// Back to a page kept by the browser: its buttons work again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("button[aria-busy=true], input[aria-busy=true]").forEach(function (b) {
    b.disabled = false;
    b.removeAttribute("aria-busy");
  });
});
