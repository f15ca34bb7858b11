// phigate HTML report: search, filters and pages over every finding of the page, and printing
// with every detail open. Data is read from the JSON block and only ever written with
// textContent; rows beyond the first page are built with the DOM, never from markup.
(function () {
  "use strict";
  var PAGE = 200;
  var block = document.getElementById("phigate-data");
  var table = document.getElementById("findings-table");
  if (!block || !table) { return; }
  var data = JSON.parse(block.textContent);
  var cols = data.findings.columns, tables = data.findings.tables;
  var at = {};
  cols.forEach(function (name, i) { at[name] = i; });
  var findings = data.findings.rows.map(function (row) {
    function value(name) {
      var v = row[at[name]];
      return tables[name] ? tables[name][v] : v;
    }
    return {
      id: value("id"), policy: value("policy_id"), status: value("status"),
      severity: value("severity"), rid: value("resource_id"), name: value("resource_name"),
      provider: value("provider"), scope: value("scope"), dataClass: value("data_class"),
      message: value("message"), since: value("failing_since")
    };
  });
  findings.forEach(function (f) {
    f.text = [f.policy, f.message, f.rid, f.name, f.provider, f.scope]
      .filter(function (part) { return part; }).join("\n").toLowerCase();
  });
  var audit = table.querySelectorAll("thead th").length > 7;
  var body = table.querySelector("tbody");
  var search = document.getElementById("filter-text");
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var shown = document.getElementById("findings-shown");
  var total = document.getElementById("findings-total");
  var more = document.getElementById("findings-more");
  var limit = PAGE;
  var keys = { "status": "status", "severity": "severity", "policy": "policy",
               "provider": "provider", "data-class": "dataClass" };

  function cell(row, text, css) {
    var td = document.createElement("td");
    if (css) { td.className = css; }
    if (text !== null && text !== undefined) { td.textContent = text; }
    row.appendChild(td);
    return td;
  }
  function build(f) {
    var row = document.createElement("tr");
    row.setAttribute("data-fingerprint", f.id);
    row.setAttribute("data-status", f.status);
    row.setAttribute("data-severity", f.severity);
    row.setAttribute("data-policy", f.policy);
    row.setAttribute("data-provider", f.provider);
    row.setAttribute("data-data-class", f.dataClass);
    cell(row, f.status, "status status-" + f.status);
    cell(row, f.severity, "severity severity-" + f.severity);
    var link = document.createElement("a");
    link.setAttribute("href", "#policy-" + f.policy);
    link.textContent = f.policy;
    cell(row, null).appendChild(link);
    var resource = cell(row, null);
    if (f.name) {
      resource.appendChild(document.createTextNode(f.name));
      resource.appendChild(document.createElement("br"));
    }
    var id = document.createElement("span");
    id.className = "id";
    id.textContent = f.rid;
    resource.appendChild(id);
    var where = cell(row, f.provider);
    where.appendChild(document.createElement("br"));
    var scope = document.createElement("span");
    scope.className = "note";
    scope.textContent = f.scope;
    where.appendChild(scope);
    cell(row, f.dataClass);
    cell(row, f.message);
    if (audit) { cell(row, f.since || ""); }
    return row;
  }
  function matching() {
    var text = search.value.trim().toLowerCase();
    return findings.filter(function (f) {
      return (!text || f.text.indexOf(text) !== -1) && selects.every(function (select) {
        return !select.value || f[keys[select.getAttribute("data-filter")]] === select.value;
      });
    });
  }
  function apply() {
    var found = matching();
    while (body.firstChild) { body.removeChild(body.firstChild); }
    found.slice(0, limit).forEach(function (f) { body.appendChild(build(f)); });
    shown.textContent = String(Math.min(limit, found.length));
    total.textContent = String(found.length);
    if (more) { more.hidden = found.length <= limit; }
  }
  function reset() { limit = PAGE; apply(); }
  search.addEventListener("input", reset);
  selects.forEach(function (select) { select.addEventListener("change", reset); });
  if (more) {
    more.addEventListener("click", function () { limit += PAGE; apply(); });
  }
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
