// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    // The language dropdown switches at once when a choice is made with the mouse or by touch.
    // A keyboard user browsing the options with the arrow keys (which fires "change" on every
    // step in some browsers) is not sent away mid-choice (WCAG 3.2.2): Enter applies the choice,
    // and the "change language" button shows up for them as well.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var initial = select.value;
      var byKeyboard = false;
      var button = select.form && select.form.querySelector("button[type=submit]");
      select.addEventListener("pointerdown", function () { byKeyboard = false; });
      select.addEventListener("mousedown", function () { byKeyboard = false; });
      select.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          if (select.value !== initial) {
            event.preventDefault();
            select.form.submit();
          }
          return;
        }
        if (event.key !== "Tab" && event.key !== "Shift") { byKeyboard = true; }
      });
      select.addEventListener("change", function () {
        if (select.value === initial) { return; }
        if (byKeyboard) {
          if (button) { button.classList.remove("js-hidden"); }
          return;
        }
        select.form.submit();
      });
    });
    // Show/hide beside each password field.
    document.querySelectorAll("button.toggle-password").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-target"));
      if (!input) { return; }
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        button.textContent = show ? button.getAttribute("data-hide") : button.getAttribute("data-show");
      });
      // Never send (or let the browser remember) a password as a plain text field.
      if (input.form) {
        input.form.addEventListener("submit", function () {
          input.type = "password";
          button.textContent = button.getAttribute("data-show");
        });
      }
    });
    // A link in the error summary puts the cursor in its field and keeps the field's label
    // (and its error message) in view, instead of scrolling the label off the top.
    document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var input = document.getElementById(link.getAttribute("href").slice(1));
        if (!input) { return; }
        event.preventDefault();
        var field = input.closest(".field") || input;
        field.scrollIntoView();
        input.focus({ preventScroll: true });
      });
    });
    // Move focus to the error summary so screen readers announce it.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
