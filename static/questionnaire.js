// Live enablement for questionnaire forms (progressive enhancement).
// The server decides what applies on every POST; this only shows and hides items as the user
// types, using the simple enableWhen rules the server wrote into data-enable-when.
(function () {
  "use strict";

  function start() {
    var form = document.querySelector("form.questionnaire-form");
    if (!form) { return; }
    var rules = Array.prototype.map.call(form.querySelectorAll("[data-enable-when]"), function (el) {
      return { el: el, rule: JSON.parse(el.getAttribute("data-enable-when")) };
    });
    if (!rules.length) { return; }

    function values(name) {
      var out = [];
      Array.prototype.forEach.call(form.elements, function (control) {
        if (control.name !== name || control.closest("[hidden]")) { return; }
        if ((control.type === "radio" || control.type === "checkbox") && !control.checked) { return; }
        if (control.tagName === "SELECT") {
          Array.prototype.forEach.call(control.selectedOptions, function (o) { out.push(o.value); });
        } else {
          out.push(control.value);
        }
      });
      return out.filter(function (v) { return v.trim() !== ""; });
    }

    function numeric(type) { return type === "Decimal" || type === "Integer"; }

    function compare(type, a, b) {
      if (numeric(type)) { return Number(a) - Number(b); }
      return a < b ? -1 : (a > b ? 1 : 0);
    }

    function equal(c, v) {
      if (c.codeOnly) { return v.split("|").pop() === c.value; }
      return numeric(c.type) ? Number(v) === Number(c.value) : v === c.value;
    }

    function holds(c) {
      var given = values(c.field);
      if (c.op === "exists") { return (given.length > 0) === (c.value === "true"); }
      if (c.op === "=") { return given.some(function (v) { return equal(c, v); }); }
      if (c.op === "!=") { return !given.some(function (v) { return equal(c, v); }); }
      return given.some(function (v) {
        var d = compare(c.type, v, c.value);
        if (isNaN(d)) { return false; }
        return c.op === ">" ? d > 0 : c.op === "<" ? d < 0 : c.op === ">=" ? d >= 0 : d <= 0;
      });
    }

    function update() {
      // Chains settle in a few passes: hiding a question hides what depends on it.
      for (var pass = 0; pass < 20; pass++) {
        var changed = false;
        rules.forEach(function (entry) {
          var results = entry.rule.conditions.map(holds);
          var on = entry.rule.behavior === "all" ? results.every(Boolean) : results.some(Boolean);
          if (entry.el.hidden === on) { entry.el.hidden = !on; changed = true; }
        });
        if (!changed) { break; }
      }
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
