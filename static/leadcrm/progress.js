// Polls a job's JSON status and moves its progress bar until the job is done.
(function () {
  "use strict";
  var bar = document.querySelector("[data-poll]");
  if (!bar || !bar.dataset.poll) { return; }
  function tick() {
    fetch(bar.dataset.poll, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        bar.setAttribute("aria-valuenow", job.percent);
        bar.firstElementChild.style.width = job.percent + "%";
        bar.firstElementChild.textContent = job.percent + "%";
        document.querySelector(".job-count").textContent = job.processed + " of " + job.total;
        document.querySelector(".job-message").textContent = job.message || "";
        if (job.status === "done" || job.status === "failed") {
          document.querySelector(".job-status").textContent = job.status === "done" ? "Done" : "Failed";
        } else {
          window.setTimeout(tick, 1000);
        }
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 1000);
}());
