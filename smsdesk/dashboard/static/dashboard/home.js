// The home page's chart: SMS sent and received per day over 30 days (Chart.js, served from
// the project). Its figures come from the page (json_script), also shown as a table below
// for screen readers and browsers without JavaScript.
(function () {
  "use strict";

  function draw() {
    var canvas = document.getElementById("home-chart");
    var source = document.getElementById("home-chart-data");
    if (!canvas || !source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var colours = ["#0d6efd", "#198754"];
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (s, i) {
          return { label: s.label, data: s.data, backgroundColor: colours[i % colours.length] };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
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
