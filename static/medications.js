// Medication review: hide follow-up questions that do not apply to the answer chosen (progressive enhancement).
// Without this script every follow-up shows with an "If ..." label, and the server ignores the ones
// that do not apply (smart_app/medications/report.py), so nothing here decides what is sent.
(function () {
  "use strict";

  function update(row) {
    var chosen = row.querySelector('.choices input[type="radio"]:checked');
    var status = chosen ? chosen.value : "";
    Array.prototype.forEach.call(row.querySelectorAll("[data-applies-to]"), function (field) {
      var applies = field.getAttribute("data-applies-to").split(" ").indexOf(status) !== -1;
      // A field showing an error stays visible, so the message is never hidden.
      field.hidden = !applies && !field.querySelector(".error");
    });
  }

  function start() {
    // After a rejected send, take the reader to the list of what to fix (it has tabindex="-1").
    var summary = document.querySelector(".med-review .error-summary");
    if (summary) { summary.focus(); }
    Array.prototype.forEach.call(document.querySelectorAll("fieldset.med-row"), function (row) {
      update(row);
      row.addEventListener("change", function (event) {
        if (event.target.closest(".choices")) { update(row); }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
