// RiskWatch console: the dashboards' charts (uPlot). No inline script (the CSP allows none):
// <div class="dash-chart" data-chart="id of a JSON script element"> is drawn from
// {"axis": "time"|"category", "x": [...], "categories": [...],
//  "series": [{"label", "values", "bars", "scale": "y"|"y2", "unit"}...]}
// which the server built from the very table shown under the chart (charts.py).
(function () {
  "use strict";

  var DAY = 86400;

  // A day as the table writes it (UTC, ISO): the charts' days are UTC midnights.
  function isoDay(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 10);
  }

  var COLORS = ["#1f5fbf", "#b3261e", "#1e7a3c", "#a15c00", "#6a3fb5", "#00838f"];

  function compact(value) {
    if (value == null) return "";
    var size = Math.abs(value);
    if (size >= 1e6) return (value / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
    if (size >= 1e4) return (value / 1e3).toFixed(0) + "k";
    return String(Math.round(value * 100) / 100);
  }

  function fromZero(u, min, max) {
    var top = max == null ? 1 : max;
    return [Math.min(0, min == null ? 0 : min), top <= 0 ? 1 : top * 1.1];
  }

  function options(data, width) {
    var category = data.axis === "category";
    var bars = data.series.filter(function (s) { return s.bars; }).length;
    var barIndex = 0;
    var scales = { x: category ? { time: false, range: function () { return [-0.5, data.x.length - 0.5]; } }
                               : { time: true, range: function (u, min, max) { return [min - 43200, max + 43200]; } },
                   y: { range: fromZero } };
    var axes = [
      category ? { values: function (u, ticks) {
                     return ticks.map(function (t) { return data.categories[t] === undefined ? "" : data.categories[t]; });
                   }, splits: function () { return data.x; }, gap: 6, size: 40 }
               : { incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY], space: 60,
                   values: function (u, ticks) { return ticks.map(isoDay); } },
      { scale: "y", size: 60, values: function (u, ticks) { return ticks.map(compact); } }
    ];
    var series = [{ label: category ? "" : (data.time_label || "Day"),
                    value: category ? function (u, v) { return v == null ? "" : (data.categories[v] || ""); }
                                    : "{YYYY}-{MM}-{DD}" }];
    data.series.forEach(function (each, index) {
      if (each.scale === "y2" && !scales.y2) {
        scales.y2 = { range: fromZero };
        axes.push({ scale: "y2", side: 1, size: 50, grid: { show: false },
                    values: function (u, ticks) { return ticks.map(compact); } });
      }
      var color = COLORS[index % COLORS.length];
      var entry = { label: each.label, scale: each.scale, stroke: color, width: 2,
                    value: function (u, v) { return v == null ? "—" : compact(v) + (each.unit || ""); } };
      if (each.bars && window.uPlot.paths && window.uPlot.paths.bars) {
        // Bars side by side within each day (or category): each its share of the step.
        var step = category ? 1 : 86400;
        var share = 0.7 / bars;
        var left = (-0.35 + share * barIndex) * step;
        barIndex += 1;
        entry.fill = color + "cc";
        entry.width = 0;
        entry.paths = window.uPlot.paths.bars({ disp: {
          x0: { unit: 1, values: function (u) { return u.data[0].map(function (x) { return x + left; }); } },
          size: { unit: 1, values: function () { return [share * step]; } }
        } });
        entry.points = { show: false };
      } else {
        entry.points = { show: true, size: 5 };
        entry.spanGaps = false;
      }
      series.push(entry);
    });
    return { width: width, height: 240, series: series, scales: scales, axes: axes,
             tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
             cursor: { points: { size: 7 } } };
  }

  function draw(root) {
    if (typeof window.uPlot !== "function") return;
    root.querySelectorAll("div.dash-chart[data-chart]:not([data-drawn])").forEach(function (box) {
      var source = document.getElementById(box.getAttribute("data-chart"));
      if (!source) return;
      var data = JSON.parse(source.textContent || "{}");
      if (!data.x || !data.x.length) return;
      var width = Math.max(320, box.clientWidth || 640);
      var columns = [data.x].concat(data.series.map(function (s) { return s.values; }));
      box.setAttribute("data-drawn", "1");
      box.uplot = new window.uPlot(options(data, width), columns, box);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
})();
