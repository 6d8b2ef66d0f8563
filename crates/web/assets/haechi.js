// Haechi portal: progressive enhancement only; every page works without this script.
"use strict";

// Forms marked data-confirm ask before they post (revocations, decisions).
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    ev.preventDefault();
  }
});

// Upload forms marked data-progress send their file with XMLHttpRequest so that a <progress>
// inside the form shows how much has been sent; then the browser follows the server's answer
// (a redirect to the import's status page). Without the script the form posts normally.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!form.hasAttribute("data-progress") || ev.defaultPrevented || !window.FormData) {
    return;
  }
  ev.preventDefault();
  var bar = form.querySelector("progress");
  var label = form.querySelector("[data-progress-label]");
  var xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.upload.onprogress = function (e) {
    if (e.lengthComputable && bar) {
      bar.max = e.total;
      bar.value = e.loaded;
      if (label) {
        label.textContent = Math.round((100 * e.loaded) / e.total) + "%";
      }
    }
  };
  xhr.onload = function () {
    if (xhr.responseURL && xhr.responseURL !== form.action) {
      window.location.assign(xhr.responseURL);
    } else {
      document.open();
      document.write(xhr.responseText);
      document.close();
    }
  };
  xhr.send(new FormData(form));
});

// Pages marked data-refresh reload themselves every N seconds (an import's live status).
(function () {
  var el = document.querySelector("[data-refresh]");
  if (el) {
    var secs = parseInt(el.getAttribute("data-refresh"), 10) || 2;
    window.setTimeout(function () { window.location.reload(); }, secs * 1000);
  }
})();
