// Cost charts: every <canvas data-chart="line|bar|doughnut|burn|count" data-source="<json_script id>">
// is drawn with the vendored Chart.js. Loaded with the CSP nonce; data comes from json_script.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d", "#0dcaf0",
                 "#ffc107", "#d63384"];
  function money(value) { return "$" + Math.round(value).toLocaleString(); }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-source"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var kind = canvas.getAttribute("data-chart");
    var datasets = [{label: "Spend (USD)", data: data.values, backgroundColor: kind === "line" ? "rgba(13,110,253,0.15)" : palette,
                     borderColor: kind === "doughnut" ? "#fff" : "#0d6efd", fill: kind === "line", tension: 0.2,
                     pointRadius: 0}];
    var type = kind;
    var format = money;
    if (kind === "count") {   // a horizontal bar of counts (the usage report), not money
      kind = "bar";
      format = function (v) { return Math.round(v).toLocaleString(); };
      datasets[0].label = "Endpoints";
      type = "bar";
    }
    if (kind === "burn") {
      type = "line";
      datasets = [{label: "Spent this month (USD)", data: data.values, borderColor: "#0d6efd", pointRadius: 0}];
      if (data.budget) {
        datasets.push({label: "Budget", data: data.values.map(function () { return data.budget; }),
                       borderColor: "#dc3545", borderDash: [6, 4], pointRadius: 0});
      }
    }
    var options = {animation: false, responsive: true,
                   plugins: {legend: {display: type === "doughnut" || kind === "burn"},
                             tooltip: {callbacks: {label: function (ctx) { var v = kind === "bar" ? ctx.parsed.x : (type === "doughnut" ? ctx.parsed : ctx.parsed.y); return ctx.dataset.label + ": " + format(v); }}}}};
    if (type !== "doughnut") {
      options.scales = {y: {beginAtZero: true, ticks: {callback: function (v) { return money(v); }}}};
    }
    if (kind === "bar") { options.indexAxis = "y"; options.scales = {x: {beginAtZero: true, ticks: {callback: function (v) { return format(v); }}}}; }
    canvas.costChart = new Chart(canvas, {type: type, data: {labels: data.labels, datasets: datasets}, options: options});
    canvas.setAttribute("data-rendered", String(datasets.length));
  });
})();
