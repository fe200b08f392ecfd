"use strict";
// The examples table: rows come from the JSON block and enter the page as text nodes only
// (textContent), never as HTML, so an event id holding markup stays text.
(function () {
  var data = JSON.parse(document.getElementById("examples-data").textContent);
  var body = document.getElementById("examples-body");
  var filter = document.getElementById("examples-filter");
  var section = document.getElementById("examples-section");
  var shown = document.getElementById("examples-shown");
  var rows = data.rows.map(function (cells, index) {
    var tr = document.createElement("tr");
    cells.forEach(function (value) {
      var td = document.createElement("td");
      td.textContent = value === null ? "\u2013" : String(value);
      if (typeof value === "number") {
        td.className = "num";
      }
      tr.appendChild(td);
    });
    body.appendChild(tr);
    return { tr: tr, where: data.where[index], text: cells.join("\u0000").toLowerCase() };
  });
  function apply() {
    var needle = filter.value.toLowerCase();
    var which = section.value;
    var count = 0;
    rows.forEach(function (row) {
      var keep = (which === "" || row.where.indexOf(which) !== -1) && row.text.indexOf(needle) !== -1;
      row.tr.hidden = !keep;
      if (keep) {
        count += 1;
      }
    });
    shown.textContent = String(count);
  }
  // `report.html#q=TEXT` opens with the filter set: a link to a filtered view.
  if (window.location.hash.indexOf("#q=") === 0) {
    var wanted = window.location.hash.slice(3);
    try {
      wanted = decodeURIComponent(wanted);
    } catch (e) {
      // a malformed escape (%E0%A4%A): filter on the text as it is written
    }
    filter.value = wanted;
  }
  filter.addEventListener("input", apply);
  section.addEventListener("change", apply);
  apply();
  document.body.setAttribute("data-ready", "1");
})();
