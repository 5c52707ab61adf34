// RiskWatch console: keyboard navigation and charts. No inline script anywhere (the CSP
// allows none): behaviour hangs on data- attributes and ids of the server-rendered pages.
(function () {
  "use strict";

  function typing(target) {
    return target instanceof Element && target.closest("input, textarea, select, [contenteditable]");
  }

  function alertRows() {
    return Array.prototype.slice.call(
      document.querySelectorAll("table.alerts tbody tr[data-alert-id]")
    );
  }

  // j / k: move through the desk's rows; Enter on a row follows its link.
  function moveRow(step) {
    var rows = alertRows();
    if (!rows.length) return;
    var current = rows.indexOf(document.activeElement);
    var next = Math.max(0, Math.min(rows.length - 1, current + step));
    if (current < 0) next = step > 0 ? 0 : rows.length - 1;
    rows.forEach(function (row) { row.setAttribute("tabindex", "-1"); });
    rows[next].setAttribute("tabindex", "0");
    rows[next].focus();
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link) { link.click(); return true; }
    return false;
  }

  var keys = {
    j: function () { moveRow(1); },
    k: function () { moveRow(-1); },
    n: function () { follow("next-alert"); },
    "/": function () {
      var first = document.querySelector("form.filters select, form.filters input:not([type=hidden])");
      if (first) first.focus();
    },
    "?": function () {
      var help = document.getElementById("keyboard-help");
      if (help) help.hidden = !help.hidden;
    }
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "Enter" && event.target instanceof Element &&
        event.target.matches("tr[data-alert-id]")) {
      var link = event.target.querySelector("a.alert-link");
      if (link) link.click();
      return;
    }
    var action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // Charts: <div class="chart" data-series="id of a JSON script element"> drawn with uPlot.
  // The JSON is {"labels": [...], "units": [...], "x": [unix seconds...], "series": [[...]...]}:
  // a series whose unit differs from the first one's gets its own axis on the right. Lines
  // span the gaps (a model assessed between two of another's); every point is drawn, so a
  // single record is a dot in a month-wide window, not a lone dot on a three-year axis.
  var DAY = 86400;

  // The time window from the data itself (uPlot widens a single point's window by itself,
  // to years): at least a month, centred on what there is.
  function xRangeOf(xs) {
    var low = Math.min.apply(null, xs), high = Math.max.apply(null, xs);
    return function () {
      if (!xs.length) return [0, 1];
      var span = high - low;
      if (span < 30 * DAY) {
        var middle = (low + high) / 2;
        return [middle - 15 * DAY, middle + 15 * DAY];
      }
      return [low - span * 0.04, high + span * 0.04];
    };
  }

  function yRange(u, min, max) {
    if (min == null || max == null) return [0, 1];
    if (min === max) {
      var step = Math.abs(min) * 0.1 || 1;
      return [min - step, max + step];
    }
    var pad = (max - min) * 0.08;
    return [min - pad, max + pad];
  }

  function percentRange(u, min, max) {
    return [0, Math.max(100, max == null ? 100 : Math.ceil(max / 10) * 10)];
  }

  function compact(value) {
    var size = Math.abs(value);
    if (size >= 1e9) return (value / 1e9).toFixed(1).replace(/\.0$/, "") + "B";
    if (size >= 1e6) return (value / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
    if (size >= 1e4) return (value / 1e3).toFixed(0) + "k";
    return String(Math.round(value * 100) / 100);
  }

  function chartOptions(data, width) {
    var colors = ["#1f5fbf", "#b3261e", "#1e7a3c", "#a15c00"];
    var units = data.units || [];
    var first = units.length ? units[0] : "";
    var scales = { x: { time: true, range: xRangeOf(data.x || []) },
                   y: { range: yRange } };
    var axes = [{}, { scale: "y", size: 60, values: function (u, ticks) { return ticks.map(compact); } }];
    var series = [{ label: data.time_label || "Time" }].concat((data.labels || []).map(function (label, index) {
      var own = units[index] !== undefined && units[index] !== first;
      var scale = own ? "y2" : "y";
      if (own && !scales.y2) {
        // A percentage's axis runs from 0 to at least 100.
        scales.y2 = { range: units[index] === "%" ? percentRange : yRange };
        axes.push({ scale: "y2", side: 1, size: 50, grid: { show: false },
                    values: function (u, ticks) { return ticks.map(function (t) { return compact(t) + units[index]; }); } });
      }
      return { label: label, scale: scale, stroke: colors[index % colors.length], width: 2,
               spanGaps: true, points: { show: true, size: 6 } };
    }));
    return { width: width, height: 220, series: series, scales: scales, axes: axes };
  }

  function drawCharts(root) {
    if (typeof window.uPlot !== "function") return;
    root.querySelectorAll("div.chart[data-series]:not([data-drawn])").forEach(function (box) {
      var source = document.getElementById(box.getAttribute("data-series"));
      if (!source) return;
      var data = JSON.parse(source.textContent || "{}");
      var width = Math.max(280, box.clientWidth || 480);
      box.setAttribute("data-drawn", "1");
      new window.uPlot(chartOptions(data, width), [data.x || []].concat(data.series || []), box);
    });
  }

  // A live alert (the desk's SSE relay) that is already on the page replaces its row rather
  // than being added again; the first one replaces the "no alerts" row.
  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var holder = document.createElement("template");
    holder.innerHTML = String(event.detail.data || "").trim();
    var row = holder.content.firstElementChild;
    if (!row || !row.id) return;
    var existing = document.getElementById(row.id);
    if (existing) {
      existing.replaceWith(row);
      event.preventDefault();
    }
    var empty = document.querySelector("#desk-rows tr.empty-row");
    if (empty) empty.remove();
    if (!existing) countNew();
  });

  // The total was counted when the page loaded: say how many rows arrived live since.
  function countNew() {
    var badge = document.getElementById("desk-new");
    if (!badge) return;
    var count = Number(badge.getAttribute("data-count") || "0") + 1;
    badge.setAttribute("data-count", String(count));
    badge.textContent = count === 1 ? badge.getAttribute("data-one")
      : String(badge.getAttribute("data-many")).replace("{count}", String(count));
    badge.hidden = false;
  }

  // Whether a live element is connected (styles show it; a reconnect clears it meanwhile).
  document.addEventListener("htmx:sseOpen", function (event) {
    event.target.setAttribute("data-live", "open");
  });
  document.addEventListener("htmx:sseError", function (event) {
    event.target.setAttribute("data-live", "reconnecting");
  });

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();
