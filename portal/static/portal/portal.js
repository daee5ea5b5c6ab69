// Progressive enhancement for portal pages. Loaded with the CSP nonce; no inline handlers.
(function () {
  "use strict";
  // Forms with data-confirm ask before submitting (e.g. revoke, remove).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // Buttons with data-copy copy the text of the element they name.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = "Copied";
    }
  });
})();
