// The automation builder works without JavaScript ("Update the form" shows the inputs a trigger or an
// action type needs); with it, changing a trigger, an action type or a condition's field does that at once.
(function () {
  "use strict";
  var form = document.getElementById("automation-builder");
  if (!form) { return; }
  form.addEventListener("change", function (event) {
    var target = event.target;
    var name = target.name || "";
    if (name === "trigger" || /^a-\d+-type$/.test(name) || /-field$/.test(name) || /-op$/.test(name)) {
      var update = form.querySelector("[data-testid='update-form']");
      if (update) { update.click(); }
    }
  });
})();
