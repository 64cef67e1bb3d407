/* Keyboard navigation on the lead list (progressive enhancement: the page works without it).
   j / k  move the selection down / up      Enter  open the selected lead
   x      tick / untick the selected row    /      focus the search field
   ?      show the shortcut help                                                           */
(function () {
  "use strict";
  var table = document.querySelector("[data-testid=lead-table]");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-url]"));
  var current = -1;

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    return target.isContentEditable || tag === "input" || tag === "textarea" || tag === "select";
  }

  function select(index) {
    if (!rows.length) { return; }
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0 && rows[current]) {
      rows[current].classList.remove("is-selected");
    }
    current = index;
    var row = rows[current];
    row.classList.add("is-selected");
    row.focus({ preventScroll: false });
  }

  // Clicking a row (not its link or checkbox) selects it too, so the keys continue from there.
  rows.forEach(function (row, index) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, input, button, label")) { return; }
      select(index);
    });
  });

  // A "tick every row on this page" box, only when scripts run.
  var head = table.querySelector("thead th.select-col");
  if (head && rows.length) {
    var all = document.createElement("input");
    all.type = "checkbox";
    all.className = "form-check-input";
    all.setAttribute("aria-label", head.textContent.trim() + " (all)");
    all.addEventListener("change", function () {
      rows.forEach(function (row) { var box = row.querySelector(".row-check"); if (box) { box.checked = all.checked; } });
    });
    head.appendChild(all);
  }

  // Show only the inputs of the chosen bulk action.
  var action = document.getElementById("bulk-action");
  function showAction() {
    document.querySelectorAll("[data-bulk]").forEach(function (part) {
      part.hidden = part.getAttribute("data-bulk") !== action.value;
    });
  }
  if (action) { action.addEventListener("change", showAction); showAction(); }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (document.querySelector(".modal.show") && event.key !== "?") { return; }
    var key = event.key;
    if (key === "j") { event.preventDefault(); select(current + 1); }
    else if (key === "k") { event.preventDefault(); select(current < 0 ? 0 : current - 1); }
    else if (key === "Enter" && current >= 0 && document.activeElement === rows[current]) {
      event.preventDefault();
      window.location.href = rows[current].getAttribute("data-url");
    }
    else if (key === "x" && current >= 0) {
      event.preventDefault();
      var box = rows[current].querySelector(".row-check");
      if (box) { box.checked = !box.checked; }
    }
    else if (key === "/") {
      var search = document.getElementById("id_search");
      if (search) {
        event.preventDefault();
        var panel = document.getElementById("filter-panel");
        if (panel && !panel.classList.contains("show") && window.bootstrap) {
          window.bootstrap.Collapse.getOrCreateInstance(panel).show();
        }
        search.focus();
        search.select();
      }
    }
    else if (key === "?") {
      var help = document.getElementById("shortcut-help");
      if (help && window.bootstrap) { event.preventDefault(); window.bootstrap.Modal.getOrCreateInstance(help).toggle(); }
    }
  });
})();
