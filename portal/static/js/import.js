// Follows a running order import: updates the progress bar, reloads the page when done.
(function () {
  "use strict";
  var box = document.getElementById("import-job");
  if (!box || box.dataset.finished === "true") {
    return;
  }
  var bar = document.getElementById("import-progress");
  var url = box.dataset.progressUrl;
  var polls = 0;
  function poll() {
    polls += 1;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        bar.value = state.percent;
        bar.textContent = state.percent + "%";
        if (state.finished) {
          window.location.reload();
        } else if (polls < 3600) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        if (polls < 3600) {
          window.setTimeout(poll, 3000);
        }
      });
  }
  window.setTimeout(poll, 500);
})();
