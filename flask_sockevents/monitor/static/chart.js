/*
 * A stacked area chart of events per second, drawn by hand on a <canvas>.
 *
 *   var chart = new RateChart(canvas);
 *   chart.draw({end: 1700000000, window: 60, counts: {"chat": [0, 2, ...], ...}});
 *
 * The busiest series are stacked (at most `maxSeries`), the rest summed as "others".
 * Each name keeps its colour for the life of the page.
 */
(function (global) {
  "use strict";

  var PALETTE = [
    "#4f9dff", "#3ecf8e", "#f5a524", "#c084fc", "#22d3ee",
    "#f472b6", "#a3e635", "#fb923c", "#94a3b8", "#facc15"
  ];
  var SPECIAL = {"<undeclared>": "#64748b", "<other>": "#475569", "others": "#475569",
                 connect: "#2dd4bf", disconnect: "#818cf8"};

  function RateChart(canvas, options) {
    options = options || {};
    this.canvas = canvas;
    this.maxSeries = options.maxSeries || 8;
    this.colors = {};
    this.nextColor = 0;
    this.last = null;
    var self = this;
    if (global.ResizeObserver) {
      new global.ResizeObserver(function () { if (self.last) self.draw(self.last); }).observe(canvas);
    }
  }

  RateChart.prototype.color = function (name) {
    if (SPECIAL[name]) return SPECIAL[name];
    if (!this.colors[name]) this.colors[name] = PALETTE[this.nextColor++ % PALETTE.length];
    return this.colors[name];
  };

  RateChart.prototype.layers = function (series) {
    var n = series.window;
    var totals = [];
    for (var name in series.counts) {
      if (!Object.prototype.hasOwnProperty.call(series.counts, name)) continue;
      var sum = 0, values = series.counts[name];
      for (var i = 0; i < values.length; i++) sum += values[i];
      totals.push({name: name, values: values, sum: sum});
    }
    totals.sort(function (a, b) { return b.sum - a.sum || (a.name < b.name ? -1 : 1); });
    var shown = totals.slice(0, this.maxSeries);
    var rest = totals.slice(this.maxSeries);
    if (rest.length) {
      var others = new Array(n).fill(0), othersSum = 0;
      rest.forEach(function (layer) {
        for (var i = 0; i < n; i++) others[i] += layer.values[i];
        othersSum += layer.sum;
      });
      shown.push({name: "others", values: others, sum: othersSum});
    }
    return shown;
  };

  function niceMax(value) {
    if (value <= 4) return 4;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }

  RateChart.prototype.draw = function (series) {
    this.last = series;
    var canvas = this.canvas;
    var ratio = global.devicePixelRatio || 1;
    var width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return [];
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    var n = series.window;
    var layers = this.layers(series);
    var stacked = new Array(n).fill(0);
    var peak = 0;
    layers.forEach(function (layer) {
      for (var i = 0; i < n; i++) stacked[i] += layer.values[i] || 0;
    });
    for (var i = 0; i < n; i++) peak = Math.max(peak, stacked[i]);
    var top = niceMax(peak);

    var left = 40, right = 8, upper = 8, lower = 20;
    var plotW = width - left - right, plotH = height - upper - lower;
    var x = function (index) { return left + (index / (n - 1)) * plotW; };
    var y = function (value) { return upper + plotH - (value / top) * plotH; };

    ctx.font = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1;
    for (var tick = 0; tick <= 4; tick++) {
      var value = (top / 4) * tick;
      var ty = Math.round(y(value)) + 0.5;
      ctx.strokeStyle = tick === 0 ? "#2a3140" : "#1c222d";
      ctx.beginPath(); ctx.moveTo(left, ty); ctx.lineTo(width - right, ty); ctx.stroke();
      ctx.fillStyle = "#6b7385";
      ctx.textAlign = "right";
      ctx.fillText(value % 1 ? value.toFixed(1) : String(value), left - 6, ty);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    [[0, "-" + (n - 1) + "s"], [Math.floor((n - 1) / 2), "-" + Math.ceil((n - 1) / 2) + "s"], [n - 1, "now"]]
      .forEach(function (mark) {
        var mx = x(mark[0]);
        ctx.fillStyle = "#6b7385";
        ctx.textAlign = mark[0] === 0 ? "left" : mark[0] === n - 1 ? "right" : "center";
        ctx.fillText(mark[1], mx, height - 5);
      });

    var base = new Array(n).fill(0);
    var self = this;
    layers.forEach(function (layer) {
      var color = self.color(layer.name);
      var upperEdge = [];
      for (var i = 0; i < n; i++) upperEdge.push(base[i] + (layer.values[i] || 0));
      ctx.beginPath();
      ctx.moveTo(x(0), y(upperEdge[0]));
      for (var j = 1; j < n; j++) ctx.lineTo(x(j), y(upperEdge[j]));
      for (var k = n - 1; k >= 0; k--) ctx.lineTo(x(k), y(base[k]));
      ctx.closePath();
      ctx.globalAlpha = 0.28;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.beginPath();
      ctx.moveTo(x(0), y(upperEdge[0]));
      for (var m = 1; m < n; m++) ctx.lineTo(x(m), y(upperEdge[m]));
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.lineJoin = "round";
      ctx.stroke();
      ctx.lineWidth = 1;
      base = upperEdge;
    });
    return layers.map(function (layer) {
      return {name: layer.name, color: self.color(layer.name), sum: layer.sum};
    });
  };

  global.RateChart = RateChart;
})(window);
