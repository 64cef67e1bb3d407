/* The Forms page's builder: edits a form's layout (steps, sections, fields, conditions, hidden
 * fields, consents, the profiling queue) in the browser and saves it as JSON; the server checks it
 * (leads/capture/forms_builder/schema.py) and answers errors by path, shown next to the field.
 * Order by drag (the ⠿ handle) or by keyboard (the ↑ ↓ buttons). */
(function () {
  "use strict";
  var root = document.getElementById("form-builder");
  if (!root) return;
  var cfg = JSON.parse(document.getElementById("form-builder-config").textContent);
  var model = JSON.parse(JSON.stringify(cfg.schema));
  model.steps = model.steps || [];
  model.queue = model.queue || [];
  model.consents = model.consents || [];
  var TYPE_LABELS = {
    text: "Short text", textarea: "Long text", email: "Email", phone: "Phone", number: "Number", date: "Date",
    select: "Single choice", multi: "Multiple choice", checkbox: "Checkbox", hidden: "Hidden"
  };
  var SOURCES = [["query:utm_source", "URL: utm_source"], ["query:utm_medium", "URL: utm_medium"], ["query:utm_campaign", "URL: utm_campaign"],
    ["query:utm_term", "URL: utm_term"], ["query:utm_content", "URL: utm_content"], ["query:campaign_id", "URL: campaign_id"],
    ["referrer", "Referring page"], ["page", "This page's address"], ["visitor", "Tracking visitor id"]];
  var OPS = [["equals", "is"], ["not_equals", "is not"], ["any_of", "is one of (comma separated)"], ["filled", "is filled in"], ["empty", "is empty"]];
  var drag = null;
  var errors = {};
  var uid = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === true) node.setAttribute(k, "");
      else if (attrs[k] !== false && attrs[k] != null) node.setAttribute(k, attrs[k]);
    });
    if (text != null) node.textContent = text;
    return node;
  }

  function labelled(text, input) {
    var id = "fb-" + (++uid);
    input.id = id;
    var wrap = el("div", { "class": "col-12 col-md-6 col-lg-4" });
    wrap.appendChild(el("label", { "for": id, "class": "form-label small mb-0" }, text));
    wrap.appendChild(input);
    return wrap;
  }

  function input(value, onInput, attrs) {
    var node = el("input", Object.assign({ "class": "form-control form-control-sm" }, attrs || {}));
    node.value = value == null ? "" : value;
    node.addEventListener("input", function () { onInput(node.type === "checkbox" ? node.checked : node.value); });
    return node;
  }

  function select(options, value, onChange, attrs) {
    var node = el("select", Object.assign({ "class": "form-select form-select-sm" }, attrs || {}));
    options.forEach(function (o) { node.appendChild(el("option", { value: o[0] }, o[1])); });
    node.value = value == null ? "" : value;
    node.addEventListener("change", function () { onChange(node.value); });
    return node;
  }

  function checkbox(text, checked, onChange, attrs) {
    var id = "fb-" + (++uid);
    var wrap = el("div", { "class": "form-check col-12 col-md-6 col-lg-4 mt-4" });
    var box = el("input", Object.assign({ type: "checkbox", "class": "form-check-input", id: id }, attrs || {}));
    box.checked = !!checked;
    box.addEventListener("change", function () { onChange(box.checked); });
    wrap.appendChild(box);
    wrap.appendChild(el("label", { "class": "form-check-label", "for": id }, text));
    return wrap;
  }

  // The fields before a place: those of earlier steps, and those above it in its own step
  // (for a step, `list` is its number: the fields of the steps before it).
  function earlierFields(list, index) {
    var names = [];
    for (var s = 0; s < model.steps.length; s++) {
      if (typeof list === "number" && s >= list) return names;
      var items = model.steps[s].items;
      for (var i = 0; i < items.length; i++) {
        if (items === list && i >= index) return names;
        if (items[i].type !== "section" && items[i].name) names.push(items[i].name);
      }
    }
    return names;
  }

  function conditionEditor(owner, names, prefix) {
    var box = el("div", { "class": "row g-2 mt-1 border-top pt-2", "data-testid": prefix + "-condition" });
    var cond = owner.condition || { field: "", op: "equals", value: "" };
    var fieldSel = select([["", "Always shown"]].concat(names.map(function (n) { return [n, "Only when " + n]; })), cond.field, function (v) {
      owner.condition = v ? { field: v, op: cond.op || "equals", value: cond.value || "" } : null;
      render();
    }, { "data-prop": "condition-field" });
    box.appendChild(labelled("Show", fieldSel));
    if (owner.condition) {
      box.appendChild(labelled("Condition", select(OPS, cond.op, function (v) { owner.condition.op = v; render(); }, { "data-prop": "condition-op" })));
      if (cond.op !== "filled" && cond.op !== "empty") {
        var shown = Array.isArray(cond.value) ? cond.value.join(", ") : cond.value;
        box.appendChild(labelled("Answer", input(shown, function (v) {
          owner.condition.value = owner.condition.op === "any_of" ? v.split(",").map(function (s) { return s.trim(); }).filter(Boolean) : v;
        }, { "data-prop": "condition-value" })));
      }
    }
    return box;
  }

  function itemEditor(item, list, index, path) {
    var box = el("div", { "class": "row g-2" });
    if (item.type === "section") {
      box.appendChild(labelled("Heading", input(item.heading, function (v) { item.heading = v; }, { "data-prop": "heading" })));
      return box;
    }
    var isLead = cfg.lead_fields.hasOwnProperty(item.name);
    var name = input(item.name, function (v) { item.name = v; }, { "data-prop": "name", list: "fb-attributes", readonly: isLead && !item._new ? true : false });
    box.appendChild(labelled(isLead ? "Lead field" : "Saved as attribute", name));
    if (item.type !== "hidden") {
      box.appendChild(labelled("Label", input(item.label, function (v) { item.label = v; }, { "data-prop": "label" })));
      box.appendChild(labelled("Help text", input(item.help, function (v) { item.help = v; }, { "data-prop": "help" })));
      box.appendChild(labelled("Placeholder", input(item.placeholder, function (v) { item.placeholder = v; }, { "data-prop": "placeholder" })));
      box.appendChild(labelled("Width", select([["full", "Full row"], ["half", "Half row (two columns)"]], item.width || "full", function (v) { item.width = v; })));
      box.appendChild(checkbox("Required", item.required, function (v) { item.required = v; }, { "data-prop": "required" }));
    } else {
      box.appendChild(labelled("Filled from", select(SOURCES, item.source, function (v) { item.source = v; }, { "data-prop": "source" })));
    }
    if ((item.type === "select" && !isLead) || item.type === "multi") {
      var choices = el("textarea", { "class": "form-control form-control-sm", rows: 3, "data-prop": "choices" });
      choices.value = (item.choices || []).join("\n");
      choices.addEventListener("input", function () { item.choices = choices.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean); });
      box.appendChild(labelled("Choices (one per line)", choices));
    }
    if (item.type === "select" && !isLead) {
      box.appendChild(labelled("Shown as", select([["dropdown", "Dropdown"], ["radio", "Radio buttons"]], item.display || "dropdown", function (v) { item.display = v; }, { "data-prop": "display" })));
    }
    item.validation = item.validation || {};
    var checks = { text: ["min_length", "max_length", "pattern"], textarea: ["min_length", "max_length"], number: ["min", "max"] }[item.type] || [];
    checks.forEach(function (key) {
      box.appendChild(labelled(key.replace("_", " "), input(item.validation[key], function (v) {
        if (v === "") delete item.validation[key]; else item.validation[key] = key === "pattern" ? v : Number(v);
      }, { "data-prop": "validation-" + key })));
    });
    if (list !== model.queue) box.appendChild(conditionEditor(item, earlierFields(list, index), path));
    return box;
  }

  function move(list, from, to) {
    if (to < 0 || to >= list.length) return;
    list.splice(to, 0, list.splice(from, 1)[0]);
  }

  function itemCard(item, list, index, path, stepLabel) {
    var title = item.type === "section" ? "Section: " + (item.heading || "…") : (item.label || item.name || "…") + " · " + TYPE_LABELS[item.type] + (item.required ? " · required" : "") + (item.condition ? " · conditional" : "");
    var card = el("li", { "class": "list-group-item", "data-testid": "item-" + (item.name || "section-" + index), "data-path": path });
    var head = el("div", { "class": "d-flex align-items-center gap-2" });
    var handle = el("span", { "class": "text-muted", draggable: "true", title: "Drag to reorder", "aria-hidden": "true", style: "cursor:grab" }, "⠿");
    handle.addEventListener("dragstart", function (e) { drag = { list: list, index: index }; e.dataTransfer.setData("text/plain", path); });
    card.addEventListener("dragover", function (e) { if (drag) e.preventDefault(); });
    card.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!drag) return;
      var moved = drag.list.splice(drag.index, 1)[0];
      var at = list.indexOf(item);
      list.splice(at < 0 ? list.length : at, 0, moved);
      drag = null;
      render();
    });
    head.appendChild(handle);
    var details = el("details", { "class": "flex-grow-1" });
    if (item._new) { item._open = true; delete item._new; }
    details.open = !!item._open;  // kept open across redraws (a condition chosen redraws the list)
    details.addEventListener("toggle", function () { item._open = details.open; });
    details.appendChild(el("summary", {}, title));
    details.appendChild(itemEditor(item, list, index, path));
    head.appendChild(details);
    var name = item.label || item.heading || item.name;
    [["↑", -1, "up"], ["↓", 1, "down"]].forEach(function (b) {
      var btn = el("button", { type: "button", "class": "btn btn-outline-secondary btn-sm", "aria-label": "Move " + name + " " + b[2] + " in " + stepLabel, "data-move": b[2] }, b[0]);
      btn.disabled = (b[1] < 0 && index === 0) || (b[1] > 0 && index === list.length - 1);
      btn.addEventListener("click", function () { move(list, index, index + b[1]); render(); focusMoved(item, b[2]); });
      head.appendChild(btn);
    });
    var remove = el("button", { type: "button", "class": "btn btn-outline-danger btn-sm", "aria-label": "Remove " + name }, "✕");
    remove.addEventListener("click", function () { list.splice(index, 1); render(); });
    head.appendChild(remove);
    card.appendChild(head);
    Object.keys(errors).forEach(function (key) {
      if (key.indexOf(path + ".") === 0 || key === path) card.appendChild(el("div", { "class": "text-danger small", "data-testid": "item-error" }, key.slice(path.length + 1) + ": " + errors[key].join(" ")));
    });
    return card;
  }

  function focusMoved(item, direction) {
    var card = root.querySelector("[data-testid='item-" + (item.name || "") + "'] [data-move=" + direction + "]");
    if (card && !card.disabled) card.focus();
  }

  function addControls(list, testid) {
    var row = el("div", { "class": "d-flex gap-2 mt-2 flex-wrap" });
    var options = [["", "Add…"]];
    Object.keys(cfg.lead_fields).forEach(function (n) { options.push(["lead:" + n, "Lead field: " + n.replace(/_/g, " ")]); });
    Object.keys(TYPE_LABELS).forEach(function (t) { options.push(["custom:" + t, "Question: " + TYPE_LABELS[t]]); });
    if (list !== model.queue) options.push(["section", "Section heading"]);
    var sel = select(options, "", function () {}, { "aria-label": "What to add", "data-testid": testid + "-kind", style: "max-width: 20rem" });
    var btn = el("button", { type: "button", "class": "btn btn-outline-primary btn-sm", "data-testid": testid }, "Add");
    btn.addEventListener("click", function () {
      var v = sel.value;
      if (!v) return;
      var item;
      if (v === "section") item = { type: "section", heading: "" };
      else if (v.indexOf("lead:") === 0) {
        var n = v.slice(5);
        item = { type: cfg.lead_fields[n], name: n, label: n.charAt(0).toUpperCase() + n.slice(1).replace(/_/g, " "), required: false, source: cfg.lead_fields[n] === "hidden" ? "query:" + n : undefined };
      } else {
        var t = v.slice(7);
        item = { type: t, name: "", label: "", required: false, choices: t === "select" || t === "multi" ? [] : undefined, source: t === "hidden" ? "page" : undefined };
      }
      item._new = true;
      list.push(item);
      render();
      var last = root.querySelectorAll("[data-list='" + testid + "'] > li");
      var target = last.length && last[last.length - 1].querySelector("[data-prop=name]:not([readonly]), [data-prop=label], [data-prop=heading]");
      if (target) target.focus();
    });
    row.appendChild(sel);
    row.appendChild(btn);
    return row;
  }

  function render() {
    root.innerHTML = "";
    var top = el("div", { "class": "row g-2 mb-2" });
    top.appendChild(labelled("Columns", select([["1", "One column"], ["2", "Two columns"]], String(model.columns || 1), function (v) { model.columns = Number(v); }, { "data-testid": "columns" })));
    root.appendChild(top);
    var dl = el("datalist", { id: "fb-attributes" });
    cfg.attributes.forEach(function (a) { dl.appendChild(el("option", { value: a })); });
    root.appendChild(dl);
    model.steps.forEach(function (step, s) {
      var card = el("section", { "class": "card mb-3", "data-testid": "step-" + (s + 1), "aria-label": "Step " + (s + 1) });
      var body = el("div", { "class": "card-body" });
      var head = el("div", { "class": "d-flex gap-2 align-items-end" });
      var title = labelled("Step " + (s + 1) + " title", input(step.title, function (v) { step.title = v; }, { "data-prop": "step-title" }));
      head.appendChild(title);
      if (model.steps.length > 1) {
        var rm = el("button", { type: "button", "class": "btn btn-outline-danger btn-sm ms-auto" }, "Remove step " + (s + 1));
        rm.addEventListener("click", function () { model.steps.splice(s, 1); render(); });
        head.appendChild(rm);
      }
      body.appendChild(head);
      if (s > 0) body.appendChild(conditionEditor(step, earlierFields(s, 0), "step-" + (s + 1)));
      var list = el("ul", { "class": "list-group mt-2", "data-list": "add-" + (s + 1) });
      step.items.forEach(function (item, i) { list.appendChild(itemCard(item, step.items, i, "steps." + s + ".items." + i, "step " + (s + 1))); });
      body.appendChild(list);
      body.appendChild(addControls(step.items, "add-" + (s + 1)));
      card.appendChild(body);
      root.appendChild(card);
    });
    var addStep = el("button", { type: "button", "class": "btn btn-outline-primary btn-sm mb-3", "data-testid": "add-step" }, "Add a step");
    addStep.addEventListener("click", function () { model.steps.push({ title: "", condition: null, items: [] }); render(); });
    root.appendChild(addStep);

    var consents = el("section", { "class": "card mb-3", "data-testid": "consents" });
    var cb = el("div", { "class": "card-body" });
    cb.appendChild(el("h3", { "class": "h6" }, "Consent checkboxes (the exact text is kept as proof)"));
    model.consents.forEach(function (c, i) {
      var row = el("div", { "class": "row g-2 mb-2 border-bottom pb-2" });
      var text = el("textarea", { "class": "form-control form-control-sm", rows: 2, "data-prop": "consent-text" });
      text.value = c.text || "";
      text.addEventListener("input", function () { c.text = text.value; });
      row.appendChild(labelled("Text", text));
      row.appendChild(labelled("Purpose", select(Object.entries(cfg.purposes), c.purpose || "email_marketing", function (v) { c.purpose = v; })));
      row.appendChild(labelled("Legal basis", select(Object.entries(cfg.bases), c.basis || "consent", function (v) { c.basis = v; })));
      row.appendChild(checkbox("Must be ticked", c.required, function (v) { c.required = v; }));
      var rm = el("button", { type: "button", "class": "btn btn-outline-danger btn-sm col-auto" }, "Remove");
      rm.addEventListener("click", function () { model.consents.splice(i, 1); render(); });
      row.appendChild(rm);
      Object.keys(errors).forEach(function (k) { if (k.indexOf("consents." + i + ".") === 0) row.appendChild(el("div", { "class": "text-danger small" }, errors[k].join(" "))); });
      cb.appendChild(row);
    });
    var addConsent = el("button", { type: "button", "class": "btn btn-outline-primary btn-sm" }, "Add a consent checkbox");
    addConsent.addEventListener("click", function () { model.consents.push({ text: "", purpose: "email_marketing", basis: "consent", required: false }); render(); });
    cb.appendChild(addConsent);
    consents.appendChild(cb);
    root.appendChild(consents);

    var queue = el("section", { "class": "card mb-3", "data-testid": "profiling" });
    var qb = el("div", { "class": "card-body" });
    qb.appendChild(el("h3", { "class": "h6" }, "Progressive profiling"));
    var on = checkbox("For a returning visitor, replace what we already know with the next questions below", model.progressive, function (v) { model.progressive = v; }, { "data-testid": "progressive" });
    on.className = "form-check mb-2";
    qb.appendChild(on);
    var ql = el("ul", { "class": "list-group", "data-list": "add-queue" });
    model.queue.forEach(function (item, i) { ql.appendChild(itemCard(item, model.queue, i, "queue.items." + i, "the queue")); });
    qb.appendChild(ql);
    qb.appendChild(addControls(model.queue, "add-queue"));
    queue.appendChild(qb);
    root.appendChild(queue);

    var bar = el("div", { "class": "d-flex gap-2 align-items-center" });
    var save = el("button", { type: "button", "class": "btn btn-primary", "data-testid": "save-layout" }, "Save layout");
    save.addEventListener("click", saveLayout);
    bar.appendChild(save);
    var status = el("div", { role: "status", "aria-live": "polite", "data-testid": "save-status", "class": "small" });
    status.textContent = root.dataset.status || "";
    bar.appendChild(status);
    root.appendChild(bar);
    var general = Object.keys(errors).filter(function (k) { return !/^(steps\.\d+\.items|queue\.items|consents\.)/.test(k); });
    if (general.length) {
      var alert = el("div", { "class": "alert alert-danger mt-2", role: "alert", "data-testid": "layout-errors" });
      general.forEach(function (k) { alert.appendChild(el("div", {}, k + ": " + errors[k].join(" "))); });
      root.appendChild(alert);
    }
  }

  function saveLayout() {
    root.dataset.status = "Saving…";
    fetch(cfg.save_url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf, Accept: "application/json" },
      body: JSON.stringify(model, function (key, value) { return key.charAt(0) === "_" ? undefined : value; })
    }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); }).then(function (res) {
      if (res.ok) {
        errors = {};
        model = res.body.schema;
        root.dataset.status = "Saved.";
      } else {
        errors = res.body;
        root.dataset.status = "Not saved: " + Object.keys(errors).length + " problem(s) to fix.";
      }
      render();
    }, function () { root.dataset.status = "Not saved: the connection failed."; render(); });
  }

  render();
})();
