/* Branding page, as progressive enhancement: without this file the form works and the
 * preview shows the saved colours.
 *
 * - The preview follows the form as the admin types: colours, theme and title.
 * - Each colour gets a colour picker next to its #rrggbb field; the two stay in step.
 *
 * Colours are set with element.style.setProperty (CSSOM), which the Content-Security-Policy
 * allows; the page has no inline scripts or style attributes.
 */
(function () {
  "use strict";

  var COLOUR = /^#[0-9a-fA-F]{6}$/;
  var form = document.getElementById("branding-form");
  var preview = document.getElementById("branding-preview");
  if (!form || !preview) { return; }

  var colourInputs = Array.prototype.slice.call(form.querySelectorAll("input[data-colour-key]"));
  var themeLabel = preview.querySelector("[data-preview-theme]");
  var titleTarget = preview.querySelector("[data-preview-title]");
  var titleInput = form.querySelector("input[name=title]");

  function dataName(key) {
    return "data-" + key.replace(/_/g, "-");
  }

  function chosenTheme() {
    return form.querySelector("input[name=theme]:checked");
  }

  function pickerOf(input) {
    return document.getElementById(input.id + "-picker");
  }

  function update() {
    var theme = chosenTheme();
    colourInputs.forEach(function (input) {
      var key = input.getAttribute("data-colour-key");
      var fallback = theme ? theme.getAttribute(dataName(key)) : "";
      var typed = input.value.trim();
      var value = COLOUR.test(typed) ? typed : fallback;
      if (fallback) { input.placeholder = fallback; }
      if (value) {
        preview.style.setProperty("--" + key.replace(/_/g, "-"), value);
        var picker = pickerOf(input);
        if (picker && picker !== document.activeElement) { picker.value = value.toLowerCase(); }
      }
    });
    if (theme) {
      if (themeLabel) { themeLabel.textContent = theme.getAttribute("data-label"); }
      var dark = theme.getAttribute("data-scheme") === "dark";
      preview.classList.toggle("scheme-dark", dark);
      preview.classList.toggle("scheme-light", !dark);
    }
    if (titleInput && titleTarget) {
      titleTarget.textContent = titleInput.value.trim() || titleTarget.getAttribute("data-fallback");
    }
  }

  colourInputs.forEach(function (input) {
    var picker = pickerOf(input);
    if (!picker) { return; }
    picker.hidden = false;
    picker.addEventListener("input", function () {
      input.value = picker.value;
      update();
    });
  });

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
