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

  // Duplicate hints while a medicine to add is typed: the server reads the names against the list
  // (smart_app/medications/duplicates.py) and returns each block's hint sentences; this only shows them.
  var TYPING_PAUSE_MS = 600;

  function hints(form) {
    var url = form.getAttribute("data-hints-url");
    if (!url || !window.fetch || !window.FormData) { return; }
    var timer = null;
    var busy = false;
    var again = false;
    form.setAttribute("data-hints", "idle");

    function isName(target) { return target && /^add\.\d+\.name$/.test(target.name || ""); }

    function body() {
      var out = new FormData();
      Array.prototype.forEach.call(form.querySelectorAll("input[name^='add.']"), function (input) {
        if (/^add\.(\d+\.name|count)$/.test(input.name)) { out.append(input.name, input.value); }
      });
      return out;
    }

    function show(index, sentences) {
      var region = document.getElementById("add-" + index + "-duplicate");
      var input = document.getElementById("add-" + index + "-name");
      if (!region) { return; }
      var now = Array.prototype.map.call(region.querySelectorAll("p"), function (p) { return p.textContent; });
      if (now.join("\n") === sentences.join("\n")) { return; }  // unchanged: say nothing again
      region.textContent = "";
      sentences.forEach(function (sentence) {
        var p = document.createElement("p");
        p.className = "med-duplicate-hint";
        p.textContent = sentence;
        region.appendChild(p);
      });
      if (input) {
        var ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && id !== region.id;
        });
        if (sentences.length) { ids.push(region.id); }
        if (ids.length) { input.setAttribute("aria-describedby", ids.join(" ")); }
        else { input.removeAttribute("aria-describedby"); }
      }
    }

    function send() {
      timer = null;
      if (busy) { again = true; return; }
      busy = true;
      var token = form.querySelector("input[name=csrf_token]");
      fetch(url, {
        method: "POST", body: body(), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": token ? token.value : "" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("hints " + response.status); }
        return response.json();
      }).then(function (found) {
        Object.keys(found.hints).forEach(function (index) { show(index, found.hints[index]); });
      }, function () { /* a hint is a help, not a step: the full save still shows it */ }).then(function () {
        busy = false;
        if (again) { again = false; send(); }
        else if (!timer) { form.setAttribute("data-hints", "idle"); }
      });
    }

    function soon(delay) {
      if (timer) { clearTimeout(timer); }
      form.setAttribute("data-hints", "pending");  // tests can wait for "idle"
      timer = setTimeout(send, delay);
    }

    form.addEventListener("input", function (event) { if (isName(event.target)) { soon(TYPING_PAUSE_MS); } });
    form.addEventListener("change", function (event) { if (isName(event.target)) { soon(0); } });
  }

  function start() {
    var form = document.querySelector("form.med-review-form");
    if (form) { hints(form); }
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
