/* Keyboard navigation on the lead list (progressive enhancement: the page works without it).
   j / k  move the selection down / up      Enter  open the selected lead (the first when none is)
   x      tick / untick the selected row    /      focus the search field
   ?      show the shortcut help                                                           */
(function () {
  "use strict";
  var table = document.querySelector("[data-testid=lead-table]");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-url]"));
  var current = -1;

  // Enter on a link, button or form control keeps its own meaning (follow, press, submit).
  function interactive(target) {
    return typing(target) || !!(target.closest && target.closest("a, button, summary, label, [role=button], .modal"));
  }

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

  // Closing the help gives the keys back to the list: the focus returns to the selected row.
  var helpModal = document.getElementById("shortcut-help");
  if (helpModal) {
    helpModal.addEventListener("hidden.bs.modal", function () {
      // Bootstrap fires this after the backdrop's fade: a quick user may already be typing in the
      // search field ("?", Esc, "/"), and taking the focus from it would send their Enter to a row.
      var active = document.activeElement;
      if (active && active !== document.body && !helpModal.contains(active)) { return; }
      if (current >= 0 && rows[current]) { rows[current].focus({ preventScroll: true }); }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var shownModal = document.querySelector(".modal.show");
    if (shownModal && event.key === "Escape" && window.bootstrap && !shownModal.contains(event.target)) {
      // Bootstrap closes on Esc only once the focus is inside the dialog (after its fade-in).
      window.bootstrap.Modal.getOrCreateInstance(shownModal).hide();
      return;
    }
    if (shownModal && event.key !== "?") { return; }
    var key = event.key;
    if (key === "j") { event.preventDefault(); select(current + 1); }
    else if (key === "k") { event.preventDefault(); select(current < 0 ? 0 : current - 1); }
    else if (key === "Enter" && rows.length && !interactive(event.target)) {
      // The selected lead, or the first one: after "?" and Esc the focus is back on the page
      // (not on the row), and Enter used to do nothing at all.
      event.preventDefault();
      window.location.href = rows[current >= 0 ? current : 0].getAttribute("data-url");
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
