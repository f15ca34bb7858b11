// phigate HTML report: search and filters over the findings table, and printing with every
// detail open. Data is read from the JSON block and only ever written with textContent.
(function () {
  "use strict";
  var block = document.getElementById("phigate-data");
  var table = document.getElementById("findings-table");
  if (!block || !table) { return; }
  var data = JSON.parse(block.textContent);
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
  var search = document.getElementById("filter-text");
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var shown = document.getElementById("findings-shown");
  var haystack = rows.map(function (row) {
    var f = data.findings[Number(row.getAttribute("data-index"))] || {};
    var r = f.resource || {};
    return [f.policy_id, f.title, f.message, r.id, r.name, r.provider, r.scope, r.type]
      .filter(function (part) { return part; }).join("\n").toLowerCase();
  });
  function apply() {
    var text = search.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row, i) {
      var visible = (!text || haystack[i].indexOf(text) !== -1) && selects.every(function (select) {
        return !select.value || row.getAttribute("data-" + select.getAttribute("data-filter")) === select.value;
      });
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = String(count);
  }
  search.addEventListener("input", apply);
  selects.forEach(function (select) { select.addEventListener("change", apply); });
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.slice.call(document.querySelectorAll("details:not([open])"));
    opened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
}());
