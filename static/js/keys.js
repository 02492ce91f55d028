// Keyboard shortcuts of the lists (ui/list_region.html, ui/filter_form.html): "/" the
// search, j and k the next and previous row, Enter opens the row (its first link), "?"
// lists them (ui/keyboard_shortcuts.html). A key typed into a field, or held with Ctrl,
// Alt or Meta, stays the field's or the browser's.
(function () {
  "use strict";

  // The current row; its id and place let a swap that replaced it find it again.
  var current = null;
  var currentId = "";
  var currentIndex = -1;
  var hadFocus = false;

  function region() {
    return document.querySelector(".list-region");
  }

  function rows() {
    var list = region();
    if (!list) return [];
    return Array.prototype.filter.call(list.querySelectorAll("tbody > tr"), function (row) {
      return !row.querySelector("td.empty");
    });
  }

  function highlight(row, focus) {
    if (current && current !== row) current.removeAttribute("aria-current");
    current = row;
    currentId = row.id;
    row.setAttribute("aria-current", "true");
    row.tabIndex = -1;
    if (focus) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) return false;
    var at = all.indexOf(current);
    highlight(all[at === -1 ? 0 : Math.min(Math.max(at + step, 0), all.length - 1)], true);
    return true;
  }

  function open() {
    var active = document.activeElement;
    if (!current || !current.isConnected || (active !== current && active !== document.body)) return false;
    var link = current.querySelector("a[href]");
    if (!link) return false;
    link.click();
    return true;
  }

  function search() {
    var field = document.querySelector("[data-list-search] input");
    if (!field) return false;
    var filters = field.closest("details");
    if (filters) filters.open = true;
    field.focus();
    field.select();
    return true;
  }

  function help() {
    var dialog = document.getElementById("keyboard-shortcuts");
    if (!dialog || dialog.open) return false;
    dialog.showModal();
    return true;
  }

  var ACTIONS = {
    "/": search,
    "j": function () { return move(1); },
    "k": function () { return move(-1); },
    "Enter": open,
    "?": help
  };

  function typing(target) {
    return target.isContentEditable || Boolean(target.closest("input, textarea, select"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.altKey || event.metaKey) return;
    if (!Object.prototype.hasOwnProperty.call(ACTIONS, event.key)) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    if (ACTIONS[event.key]()) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-keys-help]")) help();
  });

  // Before a swap: where the current row is, and whether it has the focus.
  function remember() {
    if (!current || !current.isConnected) return;
    currentIndex = rows().indexOf(current);
    hadFocus = document.activeElement === current;
  }

  // After a swap that replaced the current row: the live status swapping it in out of
  // band, or the region reloading itself (a row action, a timer), keep it current, by
  // its id or else its place. Other swaps (a search, a sort, a page) start afresh.
  function restore(event, outOfBand) {
    if (!current || current.isConnected) return;
    var config = event.detail.requestConfig;
    var reloaded = Boolean(config && config.elt && config.elt.classList.contains("list-region"));
    current = null;
    if (!outOfBand && !reloaded) return;
    var all = rows();
    var row = currentId ? document.getElementById(currentId) : null;
    if (!row && reloaded) row = all[Math.min(currentIndex, all.length - 1)];
    if (!row || all.indexOf(row) === -1) return;
    highlight(row, false);
    var active = document.activeElement;
    if (hadFocus && (!active || active === document.body)) row.focus({ preventScroll: true });
  }

  document.body.addEventListener("htmx:beforeSwap", remember);
  document.body.addEventListener("htmx:oobBeforeSwap", remember);
  document.body.addEventListener("htmx:afterSwap", function (event) { restore(event, false); });
  document.body.addEventListener("htmx:oobAfterSwap", function (event) { restore(event, true); });

  // The hint under each list is shown only where the keys work.
  document.documentElement.dataset.keys = "on";
})();
