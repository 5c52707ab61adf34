// The model report's charts (ROC, calibration): <div class="model-chart" data-series="id of
// a JSON script element"> drawn with uPlot on 0..1 axes, the model against the diagonal.
(function () {
  function percent(u, ticks) { return ticks.map(function (t) { return Math.round(t * 100) + "%"; }); }
  function draw(box) {
    if (typeof window.uPlot !== "function" || box.dataset.drawn) return;
    var source = document.getElementById(box.dataset.series);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    box.dataset.drawn = "1";
    var width = Math.max(280, Math.min(560, box.clientWidth || 480));
    var options = {
      width: width,
      height: Math.round(width * 0.8),
      scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
      axes: [
        { label: data.x_label, values: percent },
        { label: data.y_label, values: percent, size: 56 },
      ],
      series: [
        { label: data.x_label, value: function (u, v) { return v == null ? "" : (v * 100).toFixed(1) + "%"; } },
        { label: data.labels[0], stroke: "#1f5fbf", width: 2, points: { show: data.x.length < 30 } },
        { label: data.labels[1], stroke: "#8a94a6", width: 1, dash: [6, 4], points: { show: false } },
      ],
    };
    new window.uPlot(options, [data.x].concat(data.series), box);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("div.model-chart[data-series]").forEach(draw);
  });
})();
