/* LeadCRM built forms: renders a form from its layout in any page, no iframe needed.
 *
 *   <div data-lcrm-form="KEY"></div>
 *   <script src="https://crm.example.com/static/leadcrm/forms/embed.js" data-lcrm-base="https://crm.example.com" async></script>
 *
 * The layout comes from /f/KEY/schema.json (the view is counted there); our stylesheet embed.css is
 * added before the page's own styles so the page can override it (data-lcrm-css="none" leaves it
 * out). The public page /f/KEY uses this same script with the layout inline, so both send the same
 * submission to the same place. The server checks everything again; this script only helps.
 * Accessible: every input has its label, help and errors are tied to it (aria-describedby), errors
 * and progress are announced (aria-live), and it works with the keyboard alone.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = (script && script.getAttribute("data-lcrm-base")) || "";
  var uid = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (attrs[k] === true) node.setAttribute(k, "");
      else if (attrs[k] !== false && attrs[k] != null) node.setAttribute(k, attrs[k]);
    }
    if (text) node.textContent = text;
    return node;
  }

  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([A-Za-z0-9_-]{8,64})"));
    return m ? m[1] : "";
  }

  function param(name) {
    try { return new URLSearchParams(window.location.search).get(name) || ""; } catch (e) { return ""; }
  }

  function addStyles() {
    if (!script || script.getAttribute("data-lcrm-css") === "none" || document.getElementById("lcrm-form-css")) return;
    var link = el("link", { id: "lcrm-form-css", rel: "stylesheet", href: script.src.replace(/embed\.js(\?.*)?$/, "embed.css") });
    var first = document.head.querySelector("link[rel=stylesheet],style");
    document.head.insertBefore(link, first);  // first: the page's own CSS wins
  }

  function hiddenValue(source) {
    if (source === "referrer") return document.referrer;
    if (source === "page") return window.location.href;
    if (source === "visitor") return cookie("_lcrm_vid");
    if (source.indexOf("query:") === 0) return param(source.slice(6));
    return "";
  }

  function Form(root, config, token) {
    this.root = root;
    this.c = config;
    this.token = token || "";
    this.step = 0;
    this.inputs = {};
    this.started = false;
    this.render();
  }

  Form.prototype.beacon = function (metric) {
    if (!this.c.beacon) return;
    try {
      if (navigator.sendBeacon) navigator.sendBeacon(this.c.beacon, new Blob([metric], { type: "text/plain" }));
      else fetch(this.c.beacon, { method: "POST", body: metric, mode: "cors", keepalive: true });
    } catch (e) { /* counting must never break the form */ }
  };

  Form.prototype.field = function (item, box) {
    var id = "lcrm-" + (++uid) + "-" + item.name;
    var described = [];
    var wrap = el("div", { "class": "lcrm-field lcrm-" + item.type + (item.width === "half" ? " lcrm-half" : ""), "data-name": item.name });
    var input;
    if (item.type === "hidden") {
      input = el("input", { type: "hidden", name: item.name, value: hiddenValue(item.source || "") });
      wrap.hidden = true;
      wrap.appendChild(input);
      box.appendChild(wrap);
      this.inputs[item.name] = { item: item, wrap: wrap, nodes: [input] };
      return;
    }
    var help = item.help ? el("div", { "class": "lcrm-help", id: id + "-help" }, item.help) : null;
    var error = el("div", { "class": "lcrm-error", id: id + "-error" });
    if (help) described.push(id + "-help");
    described.push(id + "-error");
    var common = { name: item.name, "aria-describedby": described.join(" "), "aria-required": item.required ? "true" : false };
    var nodes = [];
    var group = item.type === "multi" || (item.type === "select" && item.display === "radio");
    if (group) {
      var set = el("fieldset", { "class": "lcrm-group", "aria-describedby": described.join(" ") });
      set.appendChild(el("legend", {}, item.label + (item.required ? " *" : "")));
      item.choices.forEach(function (choice, i) {
        var value = Array.isArray(choice) ? choice[0] : choice;
        var text = Array.isArray(choice) ? choice[1] : choice;
        var cid = id + "-" + i;
        var box2 = el("input", { type: item.type === "multi" ? "checkbox" : "radio", id: cid, name: item.name, value: value });
        var lab = el("label", { "for": cid, "class": "lcrm-choice" });
        lab.appendChild(box2);
        lab.appendChild(document.createTextNode(" " + text));
        set.appendChild(lab);
        nodes.push(box2);
      });
      wrap.appendChild(set);
    } else {
      var label = el("label", { "for": id }, item.label + (item.required ? " *" : ""));
      if (item.type === "select") {
        input = el("select", Object.assign({ id: id }, common));
        input.appendChild(el("option", { value: "" }, item.placeholder || "—"));
        item.choices.forEach(function (choice) { input.appendChild(el("option", { value: choice[0] }, choice[1])); });
      } else if (item.type === "textarea") {
        input = el("textarea", Object.assign({ id: id, rows: 4, placeholder: item.placeholder || false }, common));
      } else if (item.type === "checkbox") {
        input = el("input", Object.assign({ id: id, type: "checkbox", value: "on" }, common));
      } else {
        var types = { email: "email", phone: "tel", number: "number", date: "date" };
        var v = item.validation || {};
        input = el("input", Object.assign({
          id: id, type: types[item.type] || "text", placeholder: item.placeholder || false,
          autocomplete: { email: "email", first_name: "given-name", last_name: "family-name", phone: "tel", company: "organization" }[item.name] || false,
          min: v.min != null ? v.min : false, max: v.max != null ? v.max : false, maxlength: v.max_length || false,
        }, common));
      }
      if (item.type === "checkbox") { wrap.appendChild(input); wrap.appendChild(label); } else { wrap.appendChild(label); wrap.appendChild(input); }
      nodes.push(input);
    }
    if (help) wrap.appendChild(help);
    wrap.appendChild(error);
    box.appendChild(wrap);
    this.inputs[item.name] = { item: item, wrap: wrap, nodes: nodes, error: error };
  };

  Form.prototype.render = function () {
    var self = this, c = this.c;
    var form = this.form = el("form", { "class": "lcrm-form lcrm-cols-" + (c.columns || 1), novalidate: true, "aria-label": c.name });
    this.status = el("div", { "class": "lcrm-status", role: "status", "aria-live": "polite" });
    if (c.steps.length > 1) {
      this.progress = el("div", { "class": "lcrm-progress" });
      this.bar = el("progress", { max: c.steps.length, value: 1, "aria-hidden": "true" });
      this.progressText = el("span", { "class": "lcrm-progress-text" });
      this.progress.appendChild(this.progressText);
      this.progress.appendChild(this.bar);
      form.appendChild(this.progress);
    }
    this.stepNodes = c.steps.map(function (step, index) {
      var set = el("fieldset", { "class": "lcrm-step", "data-step": index });
      if (step.title) set.appendChild(el("legend", { "class": "lcrm-step-title" }, step.title));
      var grid = el("div", { "class": "lcrm-grid" });
      step.items.forEach(function (item) {
        if (item.type === "section") grid.appendChild(el("h3", { "class": "lcrm-section" }, item.heading));
        else self.field(item, grid);
      });
      if (index === c.steps.length - 1) {
        c.consents.forEach(function (consent) { self.field({ type: "checkbox", name: consent.name, label: consent.text, required: consent.required }, grid); });
      }
      set.appendChild(grid);
      form.appendChild(set);
      return set;
    });
    var trap = el("div", { "class": "lcrm-hp", "aria-hidden": "true" });
    trap.appendChild(el("input", { type: "text", name: c.honeypot, tabindex: "-1", autocomplete: "off" }));
    form.appendChild(trap);
    var nav = el("div", { "class": "lcrm-nav" });
    this.back = el("button", { type: "button", "class": "lcrm-back" }, "Back");
    this.next = el("button", { type: "submit", "class": "lcrm-submit" }, "Send");
    nav.appendChild(this.back);
    nav.appendChild(this.next);
    form.appendChild(nav);
    form.appendChild(this.status);
    this.back.addEventListener("click", function () { self.go(self.neighbour(-1)); });
    form.addEventListener("submit", function (e) { e.preventDefault(); self.submit(); });
    form.addEventListener("input", function () { self.touch(); self.apply(); });
    form.addEventListener("change", function () { self.touch(); self.apply(); });
    form.addEventListener("focusin", function () { self.touch(); });
    this.root.innerHTML = "";
    this.root.appendChild(form);
    this.apply();
    this.go(0);
  };

  Form.prototype.touch = function () {
    if (!this.started) { this.started = true; this.beacon("start"); }
  };

  Form.prototype.value = function (name) {
    var f = this.inputs[name];
    if (!f) return "";
    var item = f.item, nodes = f.nodes;
    if (item.type === "multi") return nodes.filter(function (n) { return n.checked; }).map(function (n) { return n.value; });
    if (item.type === "select" && item.display === "radio") {
      var on = nodes.filter(function (n) { return n.checked; })[0];
      return on ? on.value : "";
    }
    if (item.type === "checkbox") return nodes[0].checked;
    return nodes[0].value;
  };

  function met(cond, value) {
    if (!cond) return true;
    var answers = (Array.isArray(value) ? value : [value === true ? "true" : value === false ? "" : String(value || "")]).filter(Boolean);
    if (cond.op === "filled") return answers.length > 0;
    if (cond.op === "empty") return answers.length === 0;
    if (cond.op === "equals") return answers.indexOf(cond.value) >= 0;
    if (cond.op === "not_equals") return answers.indexOf(cond.value) < 0;
    return answers.some(function (a) { return cond.value.indexOf(a) >= 0; });
  }

  Form.prototype.shown = function (cond) { return !cond || met(cond, this.visible(cond.field) ? this.value(cond.field) : ""); };

  Form.prototype.visible = function (name) {
    var f = this.inputs[name];
    return f && !f.off;
  };

  // Conditions, in order: a field (or step) shows when the earlier answer matches.
  Form.prototype.apply = function () {
    var self = this;
    this.stepOn = this.c.steps.map(function (step) {
      var on = self.shown(step.condition);
      step.items.forEach(function (item) {
        var f = self.inputs[item.name];
        if (!f) return;
        f.off = !on || !self.shown(item.condition);
        if (item.type !== "hidden") f.wrap.hidden = f.off;
      });
      return on;
    });
    this.updateNav();
  };

  Form.prototype.neighbour = function (direction) {
    for (var i = this.step + direction; i >= 0 && i < this.c.steps.length; i += direction) {
      if (this.stepOn[i]) return i;
    }
    return -1;
  };

  Form.prototype.updateNav = function () {
    var last = this.neighbour(1) < 0;
    this.next.textContent = last ? "Send" : "Next";
    this.back.hidden = this.neighbour(-1) < 0;
    if (this.progress) {
      var visible = this.stepOn.filter(Boolean).length;
      var at = this.stepOn.slice(0, this.step + 1).filter(Boolean).length;
      this.progressText.textContent = "Step " + at + " of " + visible;
      this.bar.max = visible;
      this.bar.value = at;
    }
  };

  Form.prototype.go = function (index) {
    if (index < 0) return;
    var moved = index !== this.step;
    this.step = index;
    this.stepNodes.forEach(function (node, i) { node.hidden = i !== index; });
    this.updateNav();
    if (moved) {
      this.beacon("step:" + (index + 1));
      this.status.textContent = this.progressText ? this.progressText.textContent : "";
      var first = this.stepNodes[index].querySelector("input:not([type=hidden]),select,textarea");
      if (first) first.focus();
    }
  };

  Form.prototype.payload = function (upTo) {
    var data = { _ts: this.c.ts, visitor_id: cookie("_lcrm_vid"), landing_page: window.location.href, referrer: document.referrer, _pt: this.token };
    var self = this;
    this.c.steps.forEach(function (step, index) {
      if (index > upTo) return;
      step.items.forEach(function (item) { if (self.inputs[item.name] && !self.inputs[item.name].off) data[item.name] = self.value(item.name); });
    });
    if (upTo >= this.c.steps.length - 1) this.c.consents.forEach(function (c) { data[c.name] = self.value(c.name); });
    data[this.c.honeypot] = this.form.querySelector("[name=" + this.c.honeypot + "]").value;
    return data;
  };

  Form.prototype.clearErrors = function () {
    for (var name in this.inputs) {
      var f = this.inputs[name];
      if (f.error) f.error.textContent = "";
      f.nodes.forEach(function (n) { n.removeAttribute("aria-invalid"); });
    }
  };

  Form.prototype.showErrors = function (errors) {
    var first = null, count = 0, general = [];
    for (var name in errors) {
      var f = this.inputs[name];
      var text = [].concat(errors[name]).join(" ");
      if (!f || !f.error) { general.push(text); continue; }
      count++;
      f.error.textContent = text;
      f.nodes.forEach(function (n) { n.setAttribute("aria-invalid", "true"); });
      if (!first) first = f;
    }
    this.status.textContent = (count ? count + (count === 1 ? " field needs" : " fields need") + " your attention. " : "") + general.join(" ");
    if (first) {
      var index = this.stepNodes.indexOf(first.wrap.closest(".lcrm-step"));
      if (index >= 0 && index !== this.step) this.go(index);
      first.nodes[0].focus();
    }
  };

  // What the browser can tell before asking the server: required and well-formed.
  Form.prototype.check = function (index) {
    var errors = {}, self = this;
    var items = this.c.steps[index].items.slice();
    if (index === this.c.steps.length - 1) items = items.concat(this.c.consents.map(function (c) { return { name: c.name, required: c.required, type: "checkbox" }; }));
    items.forEach(function (item) {
      var f = self.inputs[item.name];
      if (!f || f.off || item.type === "hidden") return;
      var v = self.value(item.name);
      if (item.required && (v === "" || v === false || (Array.isArray(v) && !v.length))) errors[item.name] = "This field is required.";
      else if (f.nodes[0].validity && !f.nodes[0].validity.valid && f.nodes[0].type !== "radio" && f.nodes[0].type !== "checkbox") errors[item.name] = f.nodes[0].validationMessage;
    });
    return errors;
  };

  Form.prototype.post = function (data) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    var csrf = document.getElementById("lcrm-csrf");
    if (this.c.preview && csrf) headers["X-CSRFToken"] = csrf.value;
    return fetch(this.c.action, { method: "POST", headers: headers, body: JSON.stringify(data), mode: this.c.preview ? "same-origin" : "cors", credentials: this.c.preview ? "same-origin" : "omit" })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (body) { return { status: r.status, body: body }; }); });
  };

  Form.prototype.submit = function () {
    var self = this;
    this.clearErrors();
    var errors = this.check(this.step);
    if (Object.keys(errors).length) { this.showErrors(errors); return; }
    var next = this.neighbour(1);
    var partial = next >= 0 && this.step === 0;
    if (next >= 0 && !partial) { this.go(next); return; }
    var data = this.payload(partial ? 0 : this.c.steps.length - 1);
    if (partial) data._partial = "1";  // the first step makes the lead: a visitor who leaves later is not lost
    this.next.disabled = true;
    this.post(data).then(function (res) {
      self.next.disabled = false;
      if (res.status === 400) { self.showErrors(res.body); return; }
      if (res.status >= 300) { self.status.textContent = res.body.detail || "Sorry, the form could not be sent. Please try again."; return; }
      if (partial) { self.go(next); return; }
      if (self.c.redirect && !self.c.preview) { window.location.assign(self.c.redirect); return; }
      var done = el("div", { "class": "lcrm-thanks", role: "status", tabindex: "-1" }, self.c.preview ? "Preview: this would be captured: " + JSON.stringify(res.body.would_capture) : self.c.thank_you);
      self.root.replaceChild(done, self.form);
      done.focus();
    }, function () {
      self.next.disabled = false;
      self.status.textContent = "Sorry, the form could not be sent. Please check your connection and try again.";
    });
  };

  function boot() {
    var inline = document.querySelectorAll("[data-lcrm-form-inline]");
    for (var i = 0; i < inline.length; i++) {
      var source = document.getElementById(inline[i].getAttribute("data-lcrm-form-inline"));
      var config = JSON.parse(source.textContent);
      inline[i].lcrmForm = new Form(inline[i], config, config.profile_token || param("lcrm_pt"));
    }
    var embeds = document.querySelectorAll("[data-lcrm-form]");
    if (embeds.length) addStyles();
    Array.prototype.forEach.call(embeds, function (root) {
      var key = root.getAttribute("data-lcrm-form");
      var token = param("lcrm_pt");
      var url = (root.getAttribute("data-lcrm-base") || base) + "/f/" + encodeURIComponent(key) + "/schema.json?vid=" + encodeURIComponent(cookie("_lcrm_vid")) + "&pt=" + encodeURIComponent(token);
      root.setAttribute("aria-busy", "true");
      fetch(url, { mode: "cors", credentials: "omit" }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (config) {
        root.removeAttribute("aria-busy");
        root.lcrmForm = new Form(root, config, token);
      }, function () {
        root.removeAttribute("aria-busy");
        root.textContent = "This form is not available.";
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
