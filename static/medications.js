// Medication review: hide follow-up questions that do not apply to the answer chosen (progressive enhancement).
// Without this script every follow-up shows with an "If ..." label, and the server ignores the ones
// that do not apply (smart_app/medications/report.py), so nothing here decides what is sent.
(function () {
  "use strict";

  // Show a field when the chosen value is one of those it names; a field showing an error stays visible.
  function toggle(field, names, chosen) {
    var applies = field.getAttribute(names).split(" ").indexOf(chosen) !== -1;
    field.hidden = !applies && !field.querySelector(".error");
  }

  function checkedValue(row, selector) {
    var chosen = row.querySelector(selector + ' input[type="radio"]:checked');
    return chosen ? chosen.value : "";
  }

  function update(row) {
    var status = checkedValue(row, ".choices");
    // Taken as prescribed: its details and the "tell us more" heading fold away (the answer and the
    // side-effects box stay), so a reviewed list is short on a phone.
    row.classList.toggle("med-done", status === "taking" && !row.querySelector(".error"));
    var reason = checkedValue(row, "fieldset.why-not");
    Array.prototype.forEach.call(row.querySelectorAll("[data-applies-to]"), function (field) {
      toggle(field, "data-applies-to", status);
    });
    // The "other reason" words, inside the why-not follow-up, depend on the reason chosen there.
    Array.prototype.forEach.call(row.querySelectorAll("[data-applies-to-reason]"), function (field) {
      toggle(field, "data-applies-to-reason", reason);
    });
  }

  // "3 of 9 medicines reviewed": counts answered rows (the words come from the page's data-template).
  function count() {
    var line = document.getElementById("med-count");
    if (!line) { return; }
    var answered = Array.prototype.filter.call(document.querySelectorAll("fieldset.med-row"), function (row) {
      return checkedValue(row, ".choices") !== "";
    }).length;
    line.textContent = line.getAttribute("data-template").replace("{n}", String(answered));
  }

  function start() {
    // After a rejected send, take the reader to the list of what to fix (it has tabindex="-1").
    var summary = document.querySelector(".med-review .error-summary");
    if (summary) { summary.focus(); }
    Array.prototype.forEach.call(document.querySelectorAll("fieldset.med-row"), function (row) {
      update(row);
      row.addEventListener("change", function (event) {
        if (event.target.closest(".choices, fieldset.why-not")) { update(row); count(); }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
