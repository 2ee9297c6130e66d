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
      // The name says what the next press does: "Toon wachtwoord" or "Verberg wachtwoord".
      function shown(yes) {
        input.type = yes ? "text" : "password";
        var name = button.getAttribute(yes ? "data-hide" : "data-show");
        button.setAttribute("aria-label", name);
        button.setAttribute("title", name);
        if (yes) { button.setAttribute("data-shown", ""); } else { button.removeAttribute("data-shown"); }
      }
      button.addEventListener("click", function () { shown(input.type === "password"); });
      // Never send (or let the browser remember) a password as a plain text field.
      if (input.form) {
        input.form.addEventListener("submit", function () { shown(false); });
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
    // Passkeys (WebAuthn): a form with data-passkey="create" or "get" asks its options from
    // data-options, lets the browser talk to the authenticator, and posts the answer to
    // data-finish; the server says where to go next, or what went wrong (shown in the form's
    // role="alert" element). Without WebAuthn in the browser the form says so.
    document.querySelectorAll("form[data-passkey]").forEach(function (form) {
      var status = form.querySelector("[data-passkey-status]");
      function say(text) {
        if (status) { status.textContent = text; status.hidden = false; }
      }
      if (!window.PublicKeyCredential || !navigator.credentials) {
        say(form.getAttribute("data-unsupported"));
        var submit = form.querySelector("button");
        if (submit) { submit.disabled = true; }
        return;
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var create = form.getAttribute("data-passkey") === "create";
        var fields = { csrf_token: form.elements.csrf_token.value };
        if (form.elements.name) { fields.name = form.elements.name.value; }
        if (form.elements.next) { fields.next = form.elements.next.value; }
        post(form.getAttribute("data-options"), fields).then(function (answer) {
          if (answer.location) { window.location = answer.location; return null; }
          if (!answer.publicKey) { throw new Error(answer.error || ""); }
          var options = answer.publicKey;
          options.challenge = bytes(options.challenge);
          if (options.user) { options.user.id = bytes(options.user.id); }
          (options.excludeCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
          (options.allowCredentials || []).forEach(function (c) { c.id = bytes(c.id); });
          return create ? navigator.credentials.create({ publicKey: options })
                        : navigator.credentials.get({ publicKey: options });
        }).then(function (credential) {
          if (!credential) { return null; }
          fields.credential = toJson(credential);
          return post(form.getAttribute("data-finish"), fields);
        }).then(function (answer) {
          if (!answer) { return; }
          if (answer.location) { window.location = answer.location; return; }
          say(answer.error || form.getAttribute("data-failed"));
        }).catch(function (error) {
          say((error && error.message) || form.getAttribute("data-failed"));
        });
      });
    });
    function post(url, body) {
      return fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
      }).then(function (response) { return response.json(); });
    }
    function bytes(base64url) {
      var text = base64url.replace(/-/g, "+").replace(/_/g, "/");
      while (text.length % 4) { text += "="; }
      return Uint8Array.from(atob(text), function (c) { return c.charCodeAt(0); }).buffer;
    }
    function text(buffer) {
      return btoa(String.fromCharCode.apply(null, new Uint8Array(buffer)))
        .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }
    function toJson(credential) {
      if (typeof credential.toJSON === "function") { return credential.toJSON(); }
      var r = credential.response;
      var response = { clientDataJSON: text(r.clientDataJSON) };
      if (r.attestationObject) {
        response.attestationObject = text(r.attestationObject);
        response.transports = r.getTransports ? r.getTransports() : null;
      } else {
        response.authenticatorData = text(r.authenticatorData);
        response.signature = text(r.signature);
        response.userHandle = r.userHandle ? text(r.userHandle) : null;
      }
      return { id: credential.id, rawId: text(credential.rawId), type: credential.type,
               extensions: credential.getClientExtensionResults(), response: response };
    }
    // Move focus to the error summary so screen readers announce it.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
