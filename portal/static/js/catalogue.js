// Catalogue pages, as progressive enhancement: while containers are typed, shows
// "containers × container amount = units" next to the field (the server wrote the text for
// one container; the cart says the same after adding).
(function () {
  "use strict";

  var format;
  try {
    format = new Intl.NumberFormat((document.documentElement.lang || "").replace("_", "-") || undefined);
  } catch (error) {
    format = new Intl.NumberFormat();
  }

  function update(input) {
    var output = document.getElementById(input.getAttribute("data-units-output"));
    if (!output) { return; }
    var amount = parseInt(input.getAttribute("data-container-amount"), 10) || 1;
    var value = input.value.trim();
    if (!/^\d+$/.test(value) || parseInt(value, 10) < 1) {
      output.textContent = "";
      return;
    }
    var containers = parseInt(value, 10);
    output.textContent = (output.getAttribute("data-template") || "{containers} × {amount} = {units}")
      .replace("{containers}", format.format(containers))
      .replace("{amount}", format.format(amount))
      .replace("{units}", format.format(containers * amount));
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("input[data-container-amount]")) {
      update(target);
    }
  });
})();
