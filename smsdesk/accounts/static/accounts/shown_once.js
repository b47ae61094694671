// A secret shown once (a new API token, a generated password) comes in the answer to the form
// that made it, never through the session. The address becomes the page's own, so that a
// reload shows the page, without the secret, and posts nothing again.
"use strict";
(function () {
  var shown = document.querySelector("[data-page-url]");
  if (shown && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", shown.getAttribute("data-page-url"));
  }
})();
