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
// "Select all" in a list's header ticks (or unticks) the boxes of that name on the page; it
// shows as partly ticked when only some are.
document.addEventListener("change", function (event) {
  var box = event.target;
  var form = box.form;
  if (!form) return;
  if (box.dataset.selectAll) {
    form.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]')
      .forEach(function (b) { b.checked = box.checked; });
    return;
  }
  var all = form.querySelector('[data-select-all="' + box.name + '"]');
  if (!all) return;
  var boxes = Array.prototype.slice.call(
    form.querySelectorAll('input[type=checkbox][name="' + box.name + '"]'));
  var ticked = boxes.filter(function (b) { return b.checked; }).length;
  all.checked = ticked === boxes.length;
  all.indeterminate = ticked > 0 && ticked < boxes.length;
});
