// The console's only script: progressive enhancement over pages that work
// without it. Every element with data-refresh-url is replaced by what that
// URL answers, every data-refresh-ms milliseconds, while the tab is shown;
// a "select all" box appears above the dead letters.
"use strict";

(function () {
  function refresh(box) {
    var url = box.getAttribute("data-refresh-url");
    var every = parseInt(box.getAttribute("data-refresh-ms") || "2000", 10);
    var busy = false;
    function tick() {
      if (busy || document.hidden) {
        return;
      }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (answer) {
          if (answer.status === 401) {
            window.location.reload(); // signed out: the page goes to sign-in
            return null;
          }
          return answer.ok ? answer.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined) {
            box.innerHTML = html;
            box.setAttribute("data-refreshed", new Date().toISOString());
          }
        })
        .catch(function () { /* the server is away: try again next tick */ })
        .then(function () { busy = false; });
    }
    window.setInterval(tick, every);
  }

  function selectAll(box) {
    var form = box.form;
    box.hidden = false;
    box.addEventListener("change", function () {
      form.querySelectorAll('input[type="checkbox"][name="ids"]').forEach(function (each) {
        each.checked = box.checked;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh-url]").forEach(refresh);
    document.querySelectorAll("input.select-all").forEach(selectAll);
  });
})();
