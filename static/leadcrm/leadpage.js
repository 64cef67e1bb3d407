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
})();
