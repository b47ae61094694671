// The Statistics page's chart (Chart.js, served from the project): SMS parts sent,
// delivered, failed and received per period, line, tag or user. Its figures come from the
// page (json_script) and are the table below it, which screen readers and browsers without
// JavaScript read instead.
(function () {
  "use strict";

  function draw() {
    var canvas = document.getElementById("stats-chart");
    var source = document.getElementById("stats-chart-data");
    if (!canvas || !source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var colours = ["#0d6efd", "#198754", "#dc3545", "#6f42c1"];
    var horizontal = data.horizontal;
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return { label: s.label, data: s.data, backgroundColor: colours[i % colours.length] };
        }),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: horizontal
            ? { beginAtZero: true, ticks: { precision: 0 } }
            : { ticks: { autoSkip: true, maxRotation: 0 } },
          y: horizontal
            ? { ticks: { autoSkip: false } }
            : { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
    canvas.dataset.drawn = String(chart.data.datasets.length);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
