// Adds rows to a form's line table ("Add a line"). Without JavaScript the form still offers
// a few empty rows, so this is a convenience, not a requirement.
(function () {
  "use strict";

  function renumber(element, from, to) {
    ["name", "id", "for", "aria-describedby"].forEach(function (attribute) {
      var value = element.getAttribute(attribute);
      if (value) {
        element.setAttribute(attribute, value.replace("-" + from + "-", "-" + to + "-"));
      }
    });
  }

  function addRow(fieldset) {
    var rows = fieldset.querySelectorAll("[data-line-row]");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    var index = rows.length; // rows are numbered lines-0-..., lines-1-...
    copy.classList.remove("has-error");
    copy.querySelectorAll(".errors").forEach(function (list) { list.remove(); });
    copy.querySelectorAll("input, select, label").forEach(function (element) {
      renumber(element, index - 1, index);
      element.removeAttribute("aria-invalid");
      element.removeAttribute("aria-describedby");
      if (element.tagName === "INPUT") { element.value = ""; }
      if (element.tagName === "SELECT") { element.selectedIndex = 0; }
      if (element.tagName === "LABEL") {
        element.textContent = element.textContent.replace(/\d+(?!.*\d)/, String(index + 1));
      }
    });
    var number = copy.querySelector("[data-line-number]");
    if (number) { number.textContent = String(index + 1); }
    last.parentNode.appendChild(copy);
    var first = copy.querySelector("input, select");
    if (first) { first.focus(); }
  }

  document.querySelectorAll("[data-line-rows]").forEach(function (fieldset) {
    var button = fieldset.querySelector("[data-add-line]");
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () { addRow(fieldset); });
  });
})();
