// The lead page: htmx swaps 400 (a form with per-field errors) and 409 (conversion needs a
// choice) answers too, so the section shows its messages in place; other errors stay unswapped.
(function () {
  if (!window.htmx) { return; }
  htmx.config.responseHandling = [
    {code: "204", swap: false},
    {code: "[23]..", swap: true},
    {code: "40[09]", swap: true, error: false},
    {code: "[45]..", swap: false, error: true},
  ];
  // A successful action answers with HX-Trigger: lead-changed. The header comes back out-of-band;
  // the score explanation is loaded on demand, so once it has been opened it fetches itself again
  // (a new title or company can change the score and what explains it).
  document.body.addEventListener("lead-changed", function () {
    var panel = document.getElementById("score-explanation");
    if (panel && panel.dataset.url && panel.children.length) {
      htmx.ajax("GET", panel.dataset.url, {target: panel, swap: "innerHTML"});
    }
  });
})();
