// The job page: asks for the job's state every second while it waits or runs, shows its stage and time,
// and reloads the page once it has ended (to show its files).
(function () {
  "use strict";
  var box = document.getElementById("job-live");
  if (!box) return;
  var url = box.getAttribute("data-url");
  var started = Date.now();
  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (job) {
        var secs = Math.round((Date.now() - started) / 1000);
        document.getElementById("job-state").textContent = job.state_title;
        document.getElementById("job-stage").textContent = job.stage + " (" + job.stages + ")";
        document.getElementById("job-watch").textContent = secs + " s";
        if (job.final) {
          window.location.reload();
        } else {
          setTimeout(tick, 1000);
        }
      })
      .catch(function () {
        setTimeout(tick, 3000);
      });
  }
  setTimeout(tick, 1000);
})();
