// Toasts for Django messages: rendered into #toasts on a full page, or delivered to
// htmx requests as a "messages" event through the HX-Trigger header.
(function () {
  "use strict";

  var TOAST_SECONDS = 6;

  function toasts() {
    return document.getElementById("toasts");
  }

  function dismiss(toast) {
    toast.classList.add("leaving");
    window.setTimeout(function () { toast.remove(); }, 200);
  }

  function arm(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "1";
    var close = toast.querySelector(".toast-close");
    if (close) close.addEventListener("click", function () { dismiss(toast); });
    // Errors stay until dismissed; everything else fades on its own.
    if (!toast.classList.contains("error")) {
      window.setTimeout(function () { dismiss(toast); }, TOAST_SECONDS * 1000);
    }
  }

  function show(message, tags) {
    var toast = document.createElement("div");
    toast.className = "toast " + (tags || "info");
    toast.setAttribute("role", tags === "error" ? "alert" : "status");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    toast.append(text, close);
    toasts().append(toast);
    arm(toast);
  }

  document.addEventListener("DOMContentLoaded", function () {
    toasts().querySelectorAll(".toast").forEach(arm);
  });

  document.body.addEventListener("messages", function (event) {
    (event.detail.value || []).forEach(function (m) { show(m.message, m.tags); });
  });

  // What htmx does not swap still deserves an answer on screen.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = {
      403: "You are not allowed to do that. If you think you should be, ask an administrator.",
      404: "That no longer exists. Reload the page to see the current state.",
      409: "That was already done with different details. Reload the page and check.",
      429: "Too many attempts. Wait a little and try again."
    }[status] || "Something went wrong on our side (" + status + "). Try again in a moment.";
    show(text, "error");
  });
  document.body.addEventListener("htmx:sendError", function () {
    show("The server could not be reached. Check your connection and try again.", "error");
  });
})();

// Dialogs: a fragment swapped into #dialog that holds a <dialog> opens as a modal;
// [data-close-dialog], Escape or a successful submit (which empties #dialog) close it.
(function () {
  "use strict";

  function container() {
    return document.getElementById("dialog");
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== container()) return;
    var dialog = container().querySelector("dialog");
    if (dialog && !dialog.open) {
      dialog.addEventListener("close", function () { container().replaceChildren(); });
      dialog.showModal();
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (!closer || !closer.closest("dialog")) return;
    event.preventDefault();
    closer.closest("dialog").close();
  });
})();

// The column chooser (ui/columns_form.html): ↑ and ↓ move a column in the list at once,
// keeping the focus on the button, instead of saving each move; Apply saves the order.
// Once a list tool's form has done its work through htmx, its popover closes.
(function () {
  "use strict";

  function refreshArrows(list) {
    var items = list.children;
    Array.prototype.forEach.call(items, function (item, index) {
      item.querySelector("[data-move=up]").disabled = index === 0;
      item.querySelector("[data-move=down]").disabled = index === items.length - 1;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-column-choices] [data-move]");
    if (!button) return;
    event.preventDefault();
    var item = button.closest("li");
    var up = button.dataset.move === "up";
    var sibling = up ? item.previousElementSibling : item.nextElementSibling;
    if (!sibling) return;
    if (up) sibling.before(item); else sibling.after(item);
    refreshArrows(item.parentElement);
    if (button.disabled) {
      button.parentElement.querySelector("[data-move=" + (up ? "down" : "up") + "]").focus();
    } else {
      button.focus();
    }
  });

  document.body.addEventListener("htmx:afterRequest", function (event) {
    var popover = event.target.closest && event.target.closest(".list-tools details[open]");
    // An HX-Location answer ends the request before htmx marks it successful: read the status.
    if (popover && event.detail.xhr.status < 400 && event.target.classList.contains("columns-form")) {
      popover.open = false;
    }
  });
})();
