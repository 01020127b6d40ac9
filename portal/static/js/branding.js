/* Branding page, as progressive enhancement: without this file the form works and the
 * preview shows the saved colours.
 *
 * - The preview follows the form as the admin types: colours, theme and title.
 * - Each colour gets a colour picker next to its #rrggbb field; the two stay in step.
 * - Each pair of colours the chosen theme shows together (data-contrast of its radio button)
 *   is checked as on the server; pairs that saving would refuse are named under the preview.
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

  var MINIMUM = 4.5;
  var contrastBox = preview.querySelector("[data-preview-contrast]");
  var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    maximumFractionDigits: 2
  });

  function luminance(colour) {
    var channels = [1, 3, 5].map(function (i) {
      var value = parseInt(colour.substr(i, 2), 16) / 255;
      return value <= 0.04045 ? value / 12.92 : Math.pow((value + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
  }

  function ratio(first, second) {
    var a = luminance(first);
    var b = luminance(second);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  }

  function showContrast(theme, colours) {
    if (!contrastBox) { return; }
    var pairs = [];
    try { pairs = JSON.parse(theme.getAttribute("data-contrast") || "[]"); } catch (e) { pairs = []; }
    var low = [];
    pairs.forEach(function (pair) {
      var fg = colours[pair[1]] || pair[1];
      var bg = colours[pair[2]] || pair[2];
      if (!COLOUR.test(fg) || !COLOUR.test(bg)) { return; }
      var found = ratio(fg, bg);
      if (found < MINIMUM) {
        low.push(contrastBox.getAttribute("data-message")
          .replace("{pair}", pair[0])
          .replace("{ratio}", numbers.format(Math.floor(found * 100) / 100)));
      }
    });
    contrastBox.textContent = "";
    if (!low.length) { return; }
    var heading = document.createElement("p");
    heading.textContent = contrastBox.getAttribute("data-heading");
    var list = document.createElement("ul");
    low.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    contrastBox.appendChild(heading);
    contrastBox.appendChild(list);
  }

  function update() {
    var theme = chosenTheme();
    var colours = {};
    colourInputs.forEach(function (input) {
      var key = input.getAttribute("data-colour-key");
      var fallback = theme ? theme.getAttribute(dataName(key)) : "";
      var typed = input.value.trim();
      var value = COLOUR.test(typed) ? typed : fallback;
      if (fallback) { input.placeholder = fallback; }
      if (value) {
        colours[key] = value.toLowerCase();
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
      showContrast(theme, colours);
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
