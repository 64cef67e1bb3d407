// The segment builder, enhanced: the same form, sent with htmx. Changing a field or operator redraws
// the conditions (the server knows which inputs each field needs); any edit refreshes the live count
// and preview. Without JavaScript the form's own buttons do all of this with full page loads.
(function () {
  "use strict";
  var form = document.getElementById("segment-builder");
  if (!form || !window.htmx) { return; }
  var tree = document.getElementById("segment-tree");
  var preview = document.getElementById("segment-preview");
  var timer = null;

  Array.prototype.forEach.call(form.querySelectorAll("[data-builder-noscript]"), function (button) {
    button.hidden = true;
  });

  var latest = 0;

  function refreshPreview() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      // Only the newest answer is shown: a slow count must not overwrite a later one.
      var ticket = ++latest;
      fetch(form.dataset.previewUrl, {
        method: "POST", body: new FormData(form), credentials: "same-origin", headers: { "HX-Request": "true" }
      }).then(function (response) { return response.text(); })
        .then(function (html) { if (ticket === latest) { preview.innerHTML = html; } })
        .catch(function () { /* offline for a moment: the next edit asks again */ });
    }, 350);
  }

  function focusAfter(action, focusId) {
    var verb = action.split(":")[0];
    var path = action.split(":")[1] || "";
    var target = null;
    if (focusId) {
      target = document.getElementById(focusId);
    } else if (verb === "add" || verb === "addgroup") {
      var group = tree.querySelector('[data-node="' + path + '"]');
      var fields = group ? group.querySelectorAll('select[name$="-field"]') : [];
      target = fields.length ? fields[fields.length - 1] : null;
    } else if (verb === "remove") {
      var parent = path.split(".").slice(0, -1).join(".");
      target = tree.querySelector('button[value="add:' + parent + '"]');
    }
    if (target) { target.focus(); }
  }

  // What is typed while a redraw is on its way is put back into the redrawn inputs.
  var typedDuringRebuild = null;

  function rebuild(action, focusId) {
    typedDuringRebuild = {};
    htmx.ajax("POST", form.getAttribute("action") || window.location.href, {
      source: form, target: tree, swap: "innerHTML", values: { action: action }
    }).then(function () {
      Object.keys(typedDuringRebuild || {}).forEach(function (name) {
        var input = form.querySelector('input[name="' + name + '"]');
        if (input) { input.value = typedDuringRebuild[name]; }
      });
      typedDuringRebuild = null;
      focusAfter(action, focusId);
      refreshPreview();
    });
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=action]");
    if (!button || button.value === "save") { return; }
    event.preventDefault();
    rebuild(button.value, null);
  });

  form.addEventListener("change", function (event) {
    if (event.target.hasAttribute("data-builder-refresh")) {
      rebuild("update", event.target.id);
    } else {
      refreshPreview();
    }
  });
  form.addEventListener("input", function (event) {
    if (!event.target.matches("input[type=text], input:not([type]), input[type=number], input[type=date]")) { return; }
    if (typedDuringRebuild) { typedDuringRebuild[event.target.name] = event.target.value; }
    refreshPreview();
  });

  refreshPreview();
}());
