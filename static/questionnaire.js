// Live questionnaire forms (progressive enhancement; the form works the same without this file).
// As the person answers, the current answers are posted to the server's evaluate endpoint, which runs
// the form's rules, keeps the answers as the draft and returns only what the page must change. This
// script applies those changes; it holds no form rules of its own.
(function () {
  "use strict";

  var TYPING_PAUSE_MS = 600;  // wait for a pause in typing before asking the server

  function byId(id) { return document.getElementById(id); }

  function focusErrorSummary() {
    // After a failed submit the summary carries autofocus; some browsers ignore it inside frames.
    var summary = document.querySelector(".error-summary[autofocus]");
    if (summary && document.activeElement !== summary) { summary.focus(); }
  }

  function start() {
    focusErrorSummary();
    var form = document.querySelector("form.questionnaire-form[data-evaluate-url]");
    if (!form || !window.fetch || !window.FormData) { return; }
    var url = form.getAttribute("data-evaluate-url");
    var baseline = form.getAttribute("data-live-baseline") || "";
    var touched = {};
    var timer = null;
    var busy = false;
    var again = false;
    var held = false;  // the last live save was kept by the app only: the EHR copy is brought up to date on leaving
    form.setAttribute("data-live", "idle");

    function body() {
      var data = new FormData(form);
      var out = new FormData();
      data.forEach(function (value, name) {
        if (name === "action" || typeof value !== "string") { return; }  // no buttons, no files
        out.append(name, value);
      });
      Object.keys(touched).forEach(function (name) { out.append("touched", name); });
      out.append("live_baseline", baseline);
      return out;
    }

    function setHidden(id, hidden) {
      var el = byId(id);
      if (el) { el.hidden = hidden; }
    }

    function setValue(id, text) {
      var el = byId(id);
      if (!el) { return; }
      el.textContent = text || el.getAttribute("data-empty") || "";
      el.classList.toggle("q-pending", !text);
    }

    function setErrors(id, messages) {
      var control = byId(id);
      var box = byId(id + "-error");
      var holder = control && (control.closest(".q-item") || control.closest("fieldset"));
      if (!messages.length) {
        if (box) { box.remove(); }
        if (holder) { holder.classList.remove("has-error"); }
        if (control) {
          control.removeAttribute("aria-invalid");
          var rest = (control.getAttribute("aria-describedby") || "").split(" ").filter(function (x) {
            return x && x !== id + "-error";
          });
          if (rest.length) { control.setAttribute("aria-describedby", rest.join(" ")); }
          else { control.removeAttribute("aria-describedby"); }
        }
        return;
      }
      if (!control || !holder) { return; }
      if (!box) {
        box = document.createElement("div");
        box.className = "error";
        box.id = id + "-error";
        var after = byId(id + "-help") || holder.querySelector("label[for='" + id + "'], legend");
        if (after && after.parentNode) { after.parentNode.insertBefore(box, after.nextSibling); }
        else { holder.insertBefore(box, holder.firstChild); }
      }
      box.textContent = "";
      messages.forEach(function (message) {
        var p = document.createElement("p");
        p.textContent = message;
        box.appendChild(p);
      });
      holder.classList.add("has-error");
      control.setAttribute("aria-invalid", "true");
      var ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (ids.indexOf(box.id) < 0) { ids.push(box.id); }
      control.setAttribute("aria-describedby", ids.join(" "));
    }

    function say(words) {
      var region = byId("q-live");
      if (region && words) { region.textContent = words; }
    }

    function draftStatus(words) {
      var line = byId("q-draft-status");
      if (!line) { return; }
      line.hidden = !words;
      line.textContent = words || "";
      line.classList.toggle("conflict", /conflict|failed/.test(line.getAttribute("data-status") || ""));
    }

    function apply(changes) {
      baseline = changes.baseline;
      changes.show.forEach(function (id) { setHidden(id, false); });
      changes.hide.forEach(function (id) { setHidden(id, true); });
      Object.keys(changes.values).forEach(function (id) { setValue(id, changes.values[id]); });
      if (changes.score !== null) {
        var score = byId("q-score");
        if (score) { score.textContent = changes.score; }
      }
      Object.keys(changes.errors).forEach(function (id) { setErrors(id, changes.errors[id]); });
      if (changes.announce.length) {
        var heading = form.getAttribute("data-announce") || "";  // the page's words, in its language
        say(changes.announce.map(function (label) { return (heading ? heading + " " : "") + label; }).join(". "));
      }
      held = changes.draft.status === "held";
      byId("q-draft-status") && byId("q-draft-status").setAttribute("data-status", changes.draft.status);
      draftStatus(changes.draft.text);
      form.setAttribute("data-live-baseline", baseline);
      keepFocusInView();
      form.dispatchEvent(new CustomEvent("questionnaire:evaluated"));
    }

    // A live update can show questions or messages above the field being answered; a keyboard user's
    // focus must never be pushed off screen by it (WCAG 2.4.11, focus not obscured).
    function keepFocusInView() {
      var focused = document.activeElement;
      if (!focused || focused === document.body || !form.contains(focused)) { return; }
      var box = focused.getBoundingClientRect();
      if (box.bottom <= 0 || box.top >= window.innerHeight) { focused.scrollIntoView({block: "nearest"}); }
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
        if (response.ok) { return response.json(); }
        if (response.status < 500 && /text\/html/.test(response.headers.get("Content-Type") || "")) {
          // The launch ended, the form went out of date...: show the server's page, as a full save would.
          return response.text().then(showPage);
        }
        throw new Error("evaluate " + response.status);
      }).then(function (changes) { if (changes) { apply(changes); } }, function () {
        var line = byId("q-draft-status");  // the buttons still save everything without this script
        if (line) { line.setAttribute("data-status", "failed"); draftStatus(line.getAttribute("data-failed")); }
      }).then(function () {
        busy = false;
        if (again) { again = false; send(); } else { settled(); }
      });
    }

    function showPage(html) {
      var parsed = new DOMParser().parseFromString(html, "text/html");
      document.replaceChild(document.importNode(parsed.documentElement, true), document.documentElement);
      return null;
    }

    function settled() {
      if (!timer && !busy) { form.setAttribute("data-live", "idle"); }
    }

    function soon(delay) {
      if (timer) { clearTimeout(timer); }
      form.setAttribute("data-live", "pending");  // tests and scripts can wait for "idle"
      timer = setTimeout(send, delay);
    }

    form.addEventListener("change", function (event) {
      if (event.target && event.target.name && event.target.type !== "file") {
        touched[event.target.name] = true;
        soon(0);
      }
    });
    form.addEventListener("input", function (event) {
      var t = event.target;
      if (t && t.name && (t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type !== "radio" && t.type !== "checkbox" && t.type !== "file"))) {
        soon(TYPING_PAUSE_MS);
      }
    });
    // Leaving the page (or the tab going to the background, where a phone may end it): the answers go to
    // the EHR now, not at the next pause. keepalive lets the post outlive the page.
    function leave() {
      if (!held && !timer && !busy) { return; }  // nothing newer than the EHR copy
      if (timer) { clearTimeout(timer); timer = null; }
      held = false;
      var token = form.querySelector("input[name=csrf_token]");
      var data = body();
      data.append("leaving", "1");
      fetch(url, {
        method: "POST", body: data, credentials: "same-origin", keepalive: true,
        headers: { "Accept": "application/json", "X-CSRF-Token": token ? token.value : "" }
      }).catch(function () {});  // the app's database already holds these answers
    }
    window.addEventListener("pagehide", leave);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { leave(); }
    });

    form.addEventListener("submit", function (event) {
      held = false;  // the full save mirrors these answers itself
      if (timer) { clearTimeout(timer); timer = null; }  // the full save carries the same answers
      if (busy && form.requestSubmit) {
        // Let the live save finish first, so the two saves of one draft never race each other.
        event.preventDefault();
        var submitter = event.submitter || null;
        again = false;
        var wait = setInterval(function () {
          if (!busy) { clearInterval(wait); form.requestSubmit(submitter); }
        }, 50);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
