// Behaviour of the portal's pages. Loaded by base.html after htmx (both deferred, so they run
// in order once the page is parsed). The content security policy allows scripts from this
// site only: no inline script and no on...= attribute in any template; pages mark elements
// with data- attributes and this file gives them their behaviour.
(function () {
  "use strict";

  // <select data-submit-on-change>: choosing an option submits its form (the language switch;
  // without JavaScript its form shows a button instead).
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-submit-on-change]");
    if (select && select.form) {
      select.form.requestSubmit();
    }
  });

  // <form data-confirm="question">: ask before submitting; "Cancel" keeps the page as it is.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // <datalist id="group-suggestions" data-url="...">: every input with list="group-suggestions"
  // fetches matching groups of the user's area as the user types (htmx; scoped on the server).
  function suggestGroups(root) {
    var suggestions = document.getElementById("group-suggestions");
    if (!suggestions || !suggestions.dataset.url) {
      return;
    }
    root.querySelectorAll('input[list="group-suggestions"]:not([hx-get])').forEach(function (input) {
      input.setAttribute("hx-get", suggestions.dataset.url);
      input.setAttribute("hx-trigger", "input changed delay:250ms");
      input.setAttribute("hx-target", "#group-suggestions");
      window.htmx.process(input);
    });
  }

  suggestGroups(document);
  document.addEventListener("htmx:load", function (event) {
    suggestGroups(event.target);
  });
})();
