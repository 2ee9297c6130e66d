// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    // The language dropdown switches at once.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // Show/hide beside each password field.
    document.querySelectorAll("button.toggle-password").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-target"));
      if (!input) { return; }
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        button.textContent = show ? button.getAttribute("data-hide") : button.getAttribute("data-show");
        button.setAttribute("aria-pressed", show ? "true" : "false");
      });
    });
    // Move focus to the error summary so screen readers announce it.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
