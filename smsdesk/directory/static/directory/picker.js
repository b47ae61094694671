// Type-ahead pickers (contacts, groups) and the "+" of New SMS's target numbers.
// Suggestions come from the server as an htmx fragment of buttons [data-pick]; a picked
// item becomes a chip holding a hidden input, so the form posts ids like any field.
// No inline script: this file is loaded with <script src> (Content-Security-Policy).
(function () {
  "use strict";

  function changed(element) {
    element.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function addChip(picker, id, label) {
    var kind = picker.dataset.picker;
    var picked = picker.querySelector("[data-picked]");
    if (picked.querySelector('[data-chip="' + CSS.escape(id) + '"]')) return;
    var chip = document.createElement("span");
    chip.className = "badge text-bg-primary sd-chip text-wrap text-break";
    chip.dataset.chip = id;
    chip.textContent = label;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = kind;
    input.value = id;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn-close btn-close-white sd-unpick";
    remove.dataset.unpick = "";
    remove.setAttribute("aria-label", picker.dataset.removeLabel || "×");
    chip.append(input, " ", remove);
    picked.append(chip);
    changed(picked);
  }

  document.addEventListener("click", function (event) {
    var pick = event.target.closest("[data-pick]");
    if (pick) {
      var picker = pick.closest("[data-picker]");
      addChip(picker, pick.dataset.pick, pick.dataset.label);
      var search = picker.querySelector("input[type=search]");
      search.value = "";
      picker.querySelector(".sd-suggestions").replaceChildren();
      search.focus();
      return;
    }
    var unpick = event.target.closest("[data-unpick]");
    if (unpick) {
      var box = unpick.closest("[data-picked]");
      unpick.closest("[data-chip]").remove();
      changed(box);
      return;
    }
    var add = event.target.closest("[data-add-number]");
    if (add) {
      var list = document.querySelector(add.dataset.addNumber);
      var template = document.getElementById("number-template");
      var row = template.content.firstElementChild.cloneNode(true);
      list.append(row);
      row.querySelector("input").focus();
    }
  });

  // Keyboard: Enter in a picker's search picks the first suggestion; the arrows move from
  // the search to the suggestions and among them (Enter or Space picks one, as any button);
  // Escape closes the list and goes back to the search.
  document.addEventListener("keydown", function (event) {
    var picker = event.target.closest("[data-picker]");
    if (!picker) return;
    var search = picker.querySelector("input[type=search]");
    var options = Array.prototype.slice.call(picker.querySelectorAll("[data-pick]"));
    var at = options.indexOf(event.target);
    if (event.key === "Enter" && event.target === search) {
      event.preventDefault();
      if (options.length) options[0].click();
    } else if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      options[Math.min(at + 1, options.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      (at === 0 ? search : options[at - 1]).focus();
    } else if (event.key === "Escape") {
      picker.querySelector(".sd-suggestions").replaceChildren();
      search.focus();
    }
  });
})();
