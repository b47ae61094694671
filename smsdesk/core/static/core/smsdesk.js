/* smsdesk's own script, loaded on every page (no inline script: the pages run under a
   Content-Security-Policy). Bootstrap does the menu; this file does three small things:
   - notices of new SMS (a Bootstrap toast, optional sound): asks messaging:inbound_notices;
   - a discussion opens at its newest message, like a phone's messaging app;
   - a list's page size (select[data-autosubmit]) applies when chosen. */
(function () {
  "use strict";

  // --- notices of new SMS -------------------------------------------------------------
  var LAST_KEY = "smsdesk.inbound.last"; // kept across pages of the tab: none is missed

  function beep() {
    // A short, quiet tone made on the spot: no sound file to serve. Browsers allow it once
    // the user has interacted with the site; before that it is silently skipped.
    try {
      var Audio = window.AudioContext || window.webkitAudioContext;
      var ctx = beep.ctx || (beep.ctx = new Audio());
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.06, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no sound available: the notice is enough */ }
  }

  function show(box, node) {
    box.appendChild(node);
    var toast = window.bootstrap.Toast.getOrCreateInstance(node, { delay: 8000 });
    node.addEventListener("hidden.bs.toast", function () { node.remove(); });
    toast.show();
  }

  function notice(box, sms) {
    var node = document.getElementById("sd-notice-template").content.firstElementChild.cloneNode(true);
    // textContent, never innerHTML: the text and the number come from strangers
    node.querySelector(".sd-notice-from").textContent = sms.name || sms.from;
    node.querySelector(".sd-notice-at").textContent = sms.at;
    var body = node.querySelector(".sd-notice-text");
    body.textContent = sms.text;
    body.href = sms.url;
    node.dataset.messageId = sms.id;
    show(box, node);
  }

  function more(box) {
    var node = document.getElementById("sd-notice-template").content.firstElementChild.cloneNode(true);
    node.querySelector(".toast-header strong").textContent = "";
    node.querySelector(".sd-notice-text").replaceWith(
      document.getElementById("sd-notice-more").content.firstElementChild.cloneNode(true));
    show(box, node);
  }

  function startNotices() {
    var box = document.getElementById("sd-notices");
    if (!box || !window.fetch) return;
    var every = Math.max(1, parseInt(box.dataset.seconds, 10) || 10) * 1000;
    var openPeer = (document.querySelector("[data-conversation-peer]") || {}).dataset;
    openPeer = openPeer ? openPeer.conversationPeer : null;
    // the Received and Unread lists show new SMS themselves: no notice over them
    var showsInbound = !!document.querySelector("[data-shows-inbound]");
    var busy = false;

    function ask() {
      if (busy || document.hidden) return;
      busy = true;
      var last = sessionStorage.getItem(LAST_KEY);
      var url = box.dataset.url + (last ? "?after=" + encodeURIComponent(last) : "");
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          sessionStorage.setItem(LAST_KEY, String(data.last));
          var shown = 0;
          if (!showsInbound) {
            data.new.slice().reverse().forEach(function (sms) {
              if (sms.from === openPeer) return; // that discussion shows it already
              notice(box, sms);
              shown++;
            });
            if (data.more) { more(box); shown++; }
          }
          if (shown && box.dataset.sound === "on") beep();
          // what the page has seen, and how many answers it had (tests wait on these)
          box.dataset.last = data.last;
          box.dataset.answers = (parseInt(box.dataset.answers, 10) || 0) + 1;
        })
        .catch(function () { /* offline for a moment: ask again next time */ })
        .then(function () { busy = false; });
    }

    ask();
    setInterval(ask, every);
    document.addEventListener("visibilitychange", ask);
  }

  // --- a discussion opens at its newest message, the reply box under it ----------------
  function scrollThread() {
    if (document.querySelector(".sd-messages")) {
      window.scrollTo(0, document.documentElement.scrollHeight);
    }
  }

  // --- a list's "Afficher N" applies as soon as it is chosen -----------------------------
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
      select.form.submit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    startNotices();
    scrollThread();
  });
})();
