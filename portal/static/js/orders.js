/* Order pages, as progressive enhancement: everything works without this file.
 *
 * - Product picker: suggests the client's products while a code is typed (a <datalist>
 *   filled from /orders/products.json) and shows the chosen product's name and free stock.
 * - Rows are added in place by line_rows.js; the server's "More lines" button then hides.
 * - Choosing an address from the address book fills the address fields.
 * - The picklist's print button.
 */
(function () {
  "use strict";

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      var self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, wait);
    };
  }

  function setupPicker(form) {
    var url = form.getAttribute("data-products-url");
    var list = form.querySelector("#product-suggestions");
    if (!url || !list) { return; }
    var availableText = form.getAttribute("data-available-text") || "{num}";
    var known = {};
    var pending = null;

    function clientId() {
      var select = form.querySelector("select[name=client]");
      return select ? select.value : (form.getAttribute("data-client") || "");
    }

    function describe(product) {
      return product.name + " · " + availableText.replace("{num}", String(product.available));
    }

    function showName(input) {
      var row = input.closest("[data-line-row]");
      var output = row ? row.querySelector("[data-product-name]") : null;
      if (!output) { return; }
      var product = known[input.value.trim().toLowerCase()];
      output.textContent = product ? describe(product) : "";
    }

    function fill(products) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      products.forEach(function (product) {
        known[product.code.toLowerCase()] = product;
        var option = document.createElement("option");
        option.value = product.code;
        option.textContent = describe(product);
        list.appendChild(option);
      });
    }

    var search = debounce(function (input) {
      var query = input.value.trim();
      if (!query) { fill([]); return; }
      if (pending) { pending.abort(); }
      pending = new AbortController();
      var params = new URLSearchParams({ q: query });
      if (clientId()) { params.set("client", clientId()); }
      fetch(url + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: pending.signal
      })
        .then(function (response) { return response.ok ? response.json() : { products: [] }; })
        .then(function (data) {
          fill(data.products || []);
          showName(input);
        })
        .catch(function () { /* aborted or offline: typing the code still works */ });
    }, 200);

    form.addEventListener("input", function (event) {
      var input = event.target;
      if (input.matches && input.matches("[data-product-code]")) {
        showName(input);
        search(input);
      }
    });
    form.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("select[name=client]")) {
        known = {};
        fill([]);
      }
    });
  }

  function setupMoreLines(form) {
    // line_rows.js adds rows in place; the server's "More lines" button is then not needed.
    var adder = form.querySelector("[data-add-line]");
    var more = form.querySelector("[data-more-lines]");
    if (adder && more && !adder.hidden) { more.hidden = true; }
  }

  function setupAddressBook(form) {
    var choice = form.querySelector("[data-address-choice]");
    var book = form.querySelector("template[data-address-book]");
    if (!choice || !book) { return; }
    var fields = ["name", "company", "street", "street2", "postcode", "city", "state", "country", "phone", "email"];
    choice.addEventListener("change", function () {
      var entries = book.content.querySelectorAll("data");
      for (var i = 0; i < entries.length; i += 1) {
        if (entries[i].getAttribute("value") === choice.value) {
          var entry = entries[i];
          fields.forEach(function (name) {
            var field = form.elements.namedItem(name);
            if (field) { field.value = entry.getAttribute("data-" + name) || ""; }
          });
          return;
        }
      }
    });
  }

  function setupPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.querySelectorAll("[data-order-form]").forEach(function (form) {
    setupPicker(form);
    setupMoreLines(form);
    setupAddressBook(form);
  });
  setupPrint();
}());
