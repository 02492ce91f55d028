// Bulk selection (dashboard/ui/bulk.py, ui/bulk_bar.html): the count follows the ticked
// rows, the header box ticks the page, and "Select all N matching" selects every row the
// filters match, in place. Without this script the same form works by plain submits.
(function () {
  "use strict";

  function bar() { return document.querySelector("[data-bulk]"); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-bulk-row]")); }

  function refresh() {
    var form = bar();
    if (!form) return;
    var all = form.querySelector("[data-bulk-all]").value === "1";
    var ticked = rows().filter(function (box) { return box.checked; }).length;
    var noun = form.dataset.bulkNoun;
    var count = form.querySelector("[data-bulk-count]");
    var selectAll = form.querySelector("[data-bulk-select-all]");
    var clear = form.querySelector("[data-bulk-clear]");
    if (all) {
      count.textContent = "All " + form.dataset.bulkMatching + " matching " + noun + " are selected.";
    } else if (ticked) {
      count.textContent = ticked + " " + (ticked === 1 ? form.dataset.bulkNounOne : noun) + " ticked on this page, or";
    } else {
      count.textContent = "Tick " + noun + " to act on them, or";
    }
    selectAll.hidden = all;
    clear.hidden = !all && !ticked;
    form.querySelectorAll("[data-bulk-action]").forEach(function (button) { button.disabled = !all && !ticked; });
    var page = document.querySelector("[data-bulk-page]");
    if (page) {
      page.checked = all || (ticked > 0 && ticked === rows().length);
      page.indeterminate = !all && ticked > 0 && ticked < rows().length;
    }
  }

  document.addEventListener("change", function (event) {
    var form = bar();
    if (!form) return;
    if (event.target.matches("[data-bulk-page]")) {
      form.querySelector("[data-bulk-all]").value = "";
      rows().forEach(function (box) { box.checked = event.target.checked; });
    } else if (event.target.matches("[data-bulk-row]")) {
      form.querySelector("[data-bulk-all]").value = "";
    } else {
      return;
    }
    refresh();
  });

  document.addEventListener("click", function (event) {
    var form = bar();
    if (!form) return;
    if (event.target.closest("[data-bulk-select-all]")) {
      event.preventDefault();
      form.querySelector("[data-bulk-all]").value = "1";
      rows().forEach(function (box) { box.checked = true; });
      refresh();
    } else if (event.target.closest("[data-bulk-clear]")) {
      form.querySelector("[data-bulk-all]").value = "";
      rows().forEach(function (box) { box.checked = false; });
      refresh();
    }
  });

  // A second click on an action while the first is on its way posts nothing more.
  document.addEventListener("submit", function (event) {
    if (!event.target.matches("[data-bulk]")) return;
    if (event.target.dataset.sent) { event.preventDefault(); return; }
    event.target.dataset.sent = "1";
  });

  // Back to the list from the confirmation: the form may be sent again.
  window.addEventListener("pageshow", function () {
    var form = bar();
    if (form) delete form.dataset.sent;
  });

  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:afterSettle", refresh);
})();
