/*
 * LeadCRM page-view tracking (our own script; no third party).
 *
 *   <script src="https://crm.example.com/static/leadcrm/track.js" data-site="SITE_KEY" async></script>
 *
 * Optional attributes (the admin's snippet sets them from the site's settings):
 *   data-consent="required"  send nothing and set no cookie until consent:
 *                            window.leadcrmConsent = true before this script runs, or later
 *                            window.dispatchEvent(new Event("leadcrm:consent")) or window.leadcrm.consent()
 *   data-dnt="honour"        send nothing when the browser asks not to be tracked
 *   data-endpoint="https://crm.example.com"  where to send (default: where this script came from)
 *
 * The anonymous visitor id lives in a first-party cookie on this site (_lcrm_vid, one year).
 * It is exposed as window.leadcrm.visitorId() and filled into every empty
 * <input name="visitor_id"> and into embedded LeadCRM form iframes (?visitor_id=), so a
 * form submission links the visitor's page views to the lead.
 */
(function () {
  "use strict";
  var COOKIE = "_lcrm_vid";
  var MAX_AGE = 365 * 24 * 3600;
  var script = document.currentScript ||
    document.querySelector('script[data-site][src*="leadcrm/track"]');
  if (!script || (window.leadcrm && window.leadcrm.loaded)) { return; }
  var site = script.getAttribute("data-site");
  if (!site) { return; }
  var base = (script.getAttribute("data-endpoint") || new URL(script.src, window.location.href).origin).replace(/\/+$/, "");
  var endpoint = base + "/t/" + encodeURIComponent(site) + "/collect";
  var needsConsent = script.getAttribute("data-consent") === "required";
  var honourDnt = script.getAttribute("data-dnt") === "honour";
  var consented = window.leadcrmConsent === true;
  var lastUrl = null;

  function dnt() {
    var value = navigator.doNotTrack || window.doNotTrack || navigator.msDoNotTrack;
    return value === "1" || value === "yes" || navigator.globalPrivacyControl === true;
  }

  function readCookie() {
    var match = document.cookie.match(new RegExp("(?:^|;\\s*)" + COOKIE + "=([A-Za-z0-9_-]{8,64})"));
    return match ? match[1] : null;
  }

  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function allowed() {
    if (honourDnt && dnt()) { return false; }
    return !needsConsent || consented;
  }

  // Only once tracking is allowed: no cookie before consent, none under Do-Not-Track.
  function visitorId() {
    if (!allowed()) { return null; }
    var id = readCookie();
    if (!id) {
      id = newId();
      document.cookie = COOKIE + "=" + id + "; Max-Age=" + MAX_AGE + "; Path=/; SameSite=Lax" +
        (window.location.protocol === "https:" ? "; Secure" : "");
    }
    return id;
  }

  function send(payload) {
    var body = JSON.stringify(payload);
    // A string body is sent as text/plain: a "simple" request, so no CORS preflight.
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) { return; }
    } catch (e) { /* fall back to fetch */ }
    if (window.fetch) {
      window.fetch(endpoint, {
        method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit",
        headers: { "Content-Type": "text/plain" }
      }).catch(function () { /* tracking never breaks the page */ });
    }
  }

  function fillForms(id) {
    var inputs = document.querySelectorAll('input[name="visitor_id"]');
    for (var i = 0; i < inputs.length; i++) {
      if (!inputs[i].value) { inputs[i].value = id; }
    }
    var frames = document.querySelectorAll("iframe[src]");
    for (var j = 0; j < frames.length; j++) {
      var src = frames[j].getAttribute("src");
      var url;
      try { url = new URL(src, window.location.href); } catch (e) { continue; }
      if (url.origin === new URL(base).origin && url.pathname.indexOf("/f/") === 0 && !url.searchParams.get("visitor_id")) {
        url.searchParams.set("visitor_id", id);
        frames[j].setAttribute("src", url.toString());
      }
    }
  }

  function track() {
    var id = visitorId();
    if (!id) { return false; }
    var url = window.location.href;
    if (url === lastUrl) { return true; }  // a replaceState or a hash change is not a new page
    var referrer = lastUrl || document.referrer;
    lastUrl = url;
    send({
      url: url, title: document.title, referrer: referrer, time: Date.now(), visitor: id,
      consent: consented, dnt: dnt()
    });
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () { fillForms(id); });
    } else {
      fillForms(id);
    }
    return true;
  }

  function consent() {
    consented = true;
    return track();
  }

  window.addEventListener("leadcrm:consent", consent);
  document.addEventListener("leadcrm:consent", consent);
  // Single-page apps: a pushState navigation is a page view too.
  var pushState = window.history.pushState;
  window.history.pushState = function () {
    var result = pushState.apply(this, arguments);
    track();
    return result;
  };
  window.addEventListener("popstate", track);

  window.leadcrm = {
    loaded: true,
    site: site,
    visitorId: visitorId,
    track: track,
    consent: consent
  };
  track();
}());
