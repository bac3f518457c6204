// factbot desk: small enhancements over pages that work without any script.
// A form marked data-desk-inplace="SELECTOR" (Dismiss, Mark reviewed) is sent in the background; on success the
// element it belongs to (its closest SELECTOR) leaves the page and the desk's message is shown, without a reload.
// Anything unexpected falls back to an ordinary submit. No inline script, no third-party code: it runs under the
// desk's Content-Security-Policy (script-src 'self').
(function () {
  "use strict";

  function say(text, isError) {
    var box = document.getElementById("flashes");
    if (!box) { return; }
    var p = document.createElement("p");
    p.className = isError ? "flash error" : "flash";
    p.setAttribute("role", "status");
    p.textContent = text; // text, never markup
    box.replaceChildren(p);
  }

  function enhance(form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) { return; }
      event.preventDefault();
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (result) {
        if (!result.ok) {
          say(result.data.error || "", true);
          buttons.forEach(function (b) { b.disabled = false; });
          return;
        }
        var item = form.closest(form.getAttribute("data-desk-inplace"));
        if (item) { item.remove(); }
        say(result.data.message || "", false);
      }).catch(function () {
        form.submit(); // the page way: the server answers with a redirect and its message
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-desk-inplace]").forEach(enhance);
  });
})();
