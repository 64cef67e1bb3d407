// Fills the hidden landing-page and referrer fields of an embedded LeadCRM form.
(function () {
  "use strict";
  var form = document.querySelector("form.public-form");
  if (!form) { return; }
  function set(name, value) {
    var input = form.querySelector('input[name="' + name + '"]');
    if (input && !input.value && value) { input.value = value.slice(0, 2000); }
  }
  // In an iframe, document.referrer is the page that embeds the form.
  set("landing_page", window.self !== window.top ? document.referrer : window.location.href);
  set("referrer", document.referrer);
}());
