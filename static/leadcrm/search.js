/* The global search box in the navigation (progressive enhancement: without scripts the box is a
   plain GET form to /search/).  "/" or Ctrl-K (Cmd-K) focuses it; htmx fills the dropdown while
   typing; ArrowDown walks into the results, Escape closes them; Enter opens the results page.
   A page with its own "/" (the lead list's filter) handles it first and calls preventDefault:
   this listener sits on window, so it sees that and leaves the key alone. */
(function () {
  "use strict";
  var box = document.getElementById("global-search");
  var results = document.getElementById("global-search-results");
  if (!box || !results) { return; }

  function typing(target) {
    var tag = (target.tagName || "").toLowerCase();
    return target.isContentEditable || tag === "input" || tag === "textarea" || tag === "select";
  }
  function show(on) { results.classList.toggle("show", on && results.textContent.trim() !== ""); }
  function focusBox() {
    var nav = document.getElementById("main-nav");
    if (nav && !nav.classList.contains("show") && window.getComputedStyle(nav).display === "none" && window.bootstrap) {
      window.bootstrap.Collapse.getOrCreateInstance(nav).show();
    }
    box.focus();
    box.select();
  }

  window.addEventListener("keydown", function (event) {
    if (event.defaultPrevented) { return; }
    var ctrlK = (event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K");
    var slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target);
    if (ctrlK || slash) { event.preventDefault(); focusBox(); }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === results) { show(document.activeElement === box || results.contains(document.activeElement)); }
  });
  box.addEventListener("focus", function () { show(box.value.trim() !== ""); });
  box.addEventListener("input", function () { if (!box.value.trim()) { results.innerHTML = ""; show(false); } });

  function hits() { return Array.prototype.slice.call(results.querySelectorAll("a")); }
  box.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && hits().length) { event.preventDefault(); show(true); hits()[0].focus(); }
    else if (event.key === "Escape") { show(false); }
  });
  results.addEventListener("keydown", function (event) {
    var list = hits();
    var index = list.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && index < list.length - 1) { event.preventDefault(); list[index + 1].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); if (index > 0) { list[index - 1].focus(); } else { box.focus(); } }
    else if (event.key === "Escape") { event.preventDefault(); show(false); box.focus(); }
  });
  // Close when the focus or a click goes elsewhere.
  document.addEventListener("click", function (event) { if (!box.form.contains(event.target)) { show(false); } });
  box.form.addEventListener("focusout", function () {
    window.setTimeout(function () { if (!box.form.contains(document.activeElement)) { show(false); } }, 0);
  });
})();
