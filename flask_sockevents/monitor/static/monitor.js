/*
 * The monitor page: keeps the link to the monitor namespace and renders what it pushes.
 *
 * On connect the page asks for a full "snapshot" (acknowledged); then the server
 * pushes a "delta" about twice a second: counters, clients and the chart complete,
 * rows (events, rejections, failures) only those newer than the last push.
 * Rows are de-duplicated by their "seq".
 */
(function () {
  "use strict";

  var config = window.SOCKEVENTS_MONITOR;
  var MAX_ROWS = 200;
  var MAX_PROBLEMS = 50;
  var RATE_SECONDS = 10;

  var $ = function (id) { return document.getElementById(id); };
  var seen = 0;          // highest event seq rendered
  var seenProblem = 0;   // highest problem seq rendered
  var chart = new RateChart($("chart"));
  var link = new MonitorSocket({path: config.path, namespace: config.namespace});
  var numbers = new Intl.NumberFormat("en-US");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(value) { return value === null || value === undefined ? "–" : numbers.format(value); }

  function clock(epoch) {
    var d = new Date(epoch * 1000);
    var pad = function (v, n) { return String(v).padStart(n || 2, "0"); };
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
      "." + pad(d.getMilliseconds(), 3);
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    if (m) return m + "m " + String(s).padStart(2, "0") + "s";
    return s + "s";
  }

  function setText(id, text) {
    var node = $(id);
    if (node.textContent !== text) node.textContent = text;
  }

  // -- the link ---------------------------------------------------------------

  link.onstate = function (state, detail) {
    var box = $("link");
    box.dataset.state = state;
    var text = {live: "live", connecting: "connecting…", refused: "refused", down: "offline"}[state];
    setText("link-text", detail && state !== "live" ? text + " · " + detail : text);
    document.body.classList.toggle("stale", state !== "live");
  };

  var startedAt = null;

  link.on("connect", function () {
    link.emit("snapshot", function (snapshot) {
      if (!snapshot) return;
      if (startedAt !== null && snapshot.started_at !== startedAt) {  // a new server process
        $("events").textContent = "";
        $("problems").textContent = "";
        $("problems-empty").hidden = false;
        seen = seenProblem = 0;
      }
      startedAt = snapshot.started_at;
      render(snapshot);
    });
  });
  link.on("delta", render);

  // -- rendering ----------------------------------------------------------------

  function render(data) {
    var outcomes = data.outcomes || {};
    var clients = data.clients || {};
    var totalClients = 0;
    for (var ns in clients) if (Object.prototype.hasOwnProperty.call(clients, ns)) totalClients += clients[ns];
    setText("t-clients", fmt(totalClients));
    setText("t-total", fmt(data.total));
    setText("t-handled", fmt(outcomes.handled || 0));
    setText("t-unhandled", fmt(outcomes.unhandled || 0));
    setText("t-rejected", fmt(outcomes.rejected || 0));
    setText("t-failed", fmt(outcomes.failed || 0));
    setText("t-rate", rate(data.series));
    setText("watchers", fmt(data.watchers));
    setText("uptime", duration(data.now - data.started_at));
    renderClients(clients);
    renderBusiest(data.series);
    renderLegend(chart.draw(data.series));
    renderEvents(data.events || []);
    renderReasons("rejection-reasons", "rejections-empty", data.rejections.by_reason);
    renderReasons("failure-reasons", "failures-empty", data.failures.by_reason);
    renderProblems(data.rejections.latest.concat(data.failures.latest));
    if (data.cluster) renderCluster(data.cluster);
  }

  // One row per live process (this one first, marked), then the sums.
  function renderCluster(cluster) {
    var body = $("cluster");
    body.textContent = "";
    var rows = (cluster.processes || []).slice();
    if (rows.length > 1) rows.push(Object.assign({process: "all " + rows.length + " processes", total: true}, cluster.totals));
    rows.forEach(function (row) {
      var tr = el("tr", row.total ? "cluster-total" : "cluster-row");
      tr.appendChild(el("td", "name", row.process + (row.self ? " (this one)" : "")));
      ["clients", "events_per_second", "received", "rejected", "failed"].forEach(function (key) {
        tr.appendChild(el("td", "num r count", fmt(row[key])));
      });
      body.appendChild(tr);
    });
    setText("cluster-summary", cluster.error ? "cannot read the cluster: " + cluster.error
      : (cluster.processes || []).length + " process(es); others as of their last heartbeat");
  }

  function rate(series) {
    var sum = 0, n = series.window;
    for (var name in series.counts) {
      if (!Object.prototype.hasOwnProperty.call(series.counts, name)) continue;
      var values = series.counts[name];
      for (var i = n - 1 - RATE_SECONDS; i < n - 1; i++) if (i >= 0) sum += values[i];
    }
    var value = sum / RATE_SECONDS;
    return value >= 100 ? fmt(Math.round(value)) : value.toFixed(1);
  }

  function renderClients(clients) {
    var body = $("clients");
    body.textContent = "";
    var names = Object.keys(clients);
    names.forEach(function (namespace) {
      var row = el("tr", "client-row");
      row.dataset.namespace = namespace;
      row.appendChild(el("td", "ns", namespace));
      var bar = el("td", "bar-cell");
      var max = Math.max.apply(null, names.map(function (n) { return clients[n]; }));
      var fill = el("span", "bar");
      fill.style.width = Math.max(2, (clients[namespace] / max) * 100) + "%";
      bar.appendChild(fill);
      row.appendChild(bar);
      row.appendChild(el("td", "num r count", fmt(clients[namespace])));
      body.appendChild(row);
    });
    $("clients-empty").hidden = names.length > 0;
  }

  function renderBusiest(series) {
    var body = $("busiest");
    var totals = Object.keys(series.counts).map(function (name) {
      return [name, series.counts[name].reduce(function (a, b) { return a + b; }, 0)];
    }).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 8);
    body.textContent = "";
    var max = totals.length ? totals[0][1] : 1;
    totals.forEach(function (pair) {
      var row = el("tr", "busy-row");
      row.dataset.name = pair[0];
      row.appendChild(el("td", "ns", pair[0]));
      var bar = el("td", "bar-cell");
      var fill = el("span", "bar");
      fill.style.width = Math.max(2, (pair[1] / max) * 100) + "%";
      fill.style.background = chart.color(pair[0]);
      bar.appendChild(fill);
      row.appendChild(bar);
      row.appendChild(el("td", "num r count", fmt(pair[1])));
      body.appendChild(row);
    });
    $("busiest-empty").hidden = totals.length > 0;
  }

  function renderLegend(layers) {
    var legend = $("legend");
    legend.textContent = "";
    if (!layers.length) {
      legend.appendChild(el("span", "muted", "no events in the window"));
      return;
    }
    layers.forEach(function (layer) {
      var item = el("span", "legend-item");
      var swatch = el("span", "swatch");
      swatch.style.background = layer.color;
      item.appendChild(swatch);
      item.appendChild(el("span", "legend-name", layer.name));
      item.appendChild(el("span", "legend-count num", fmt(layer.sum)));
      legend.appendChild(item);
    });
  }

  function eventRow(row, withNamespace) {
    var tr = el("tr", "event-row outcome-" + row.outcome);
    tr.dataset.seq = row.seq;
    tr.dataset.kind = row.kind;
    tr.dataset.namespace = row.namespace;
    tr.dataset.name = row.name;
    tr.dataset.sid = row.sid || "";
    tr.dataset.outcome = row.outcome;
    tr.appendChild(el("td", "time num", clock(row.at)));
    tr.appendChild(el("td", "kind kind-" + row.kind, row.kind));
    if (withNamespace) tr.appendChild(el("td", "ns", row.namespace));
    var name = el("td", "name", row.name);
    if (row.args !== undefined) name.title = row.args;
    tr.appendChild(name);
    if (withNamespace) tr.appendChild(el("td", "sid num", row.sid || "–"));
    var outcome = el("td", "outcome");
    outcome.appendChild(el("span", "pill pill-" + row.outcome, row.outcome));
    tr.appendChild(outcome);
    if (withNamespace) tr.appendChild(el("td", "num r", fmt(row.duration_us)));
    var reason = el("td", "reason", row.reason || "");
    if (row.reason) reason.title = row.reason;
    tr.appendChild(reason);
    return tr;
  }

  function renderEvents(rows) {
    var body = $("events");
    var fresh = rows.filter(function (row) { return row.seq > seen; });
    fresh.forEach(function (row) { body.insertBefore(eventRow(row, true), body.firstChild); });
    if (fresh.length) seen = fresh[fresh.length - 1].seq;
    while (body.childNodes.length > MAX_ROWS) body.removeChild(body.lastChild);
    setText("events-count", body.childNodes.length ? "newest first · " + body.childNodes.length + " shown" : "waiting for traffic");
  }

  function renderReasons(bodyId, emptyId, reasons) {
    var body = $(bodyId);
    body.textContent = "";
    reasons.slice(0, 8).forEach(function (pair) {
      var tr = el("tr", "reason-row");
      tr.dataset.reason = pair[0];
      var reason = el("td", "reason", pair[0] || "(no reason)");
      reason.title = pair[0];
      tr.appendChild(reason);
      tr.appendChild(el("td", "num r count", fmt(pair[1])));
      body.appendChild(tr);
    });
    $(emptyId).hidden = reasons.length > 0;
  }

  function renderProblems(rows) {
    var body = $("problems");
    rows.sort(function (a, b) { return a.seq - b.seq; });
    var fresh = rows.filter(function (row) { return row.seq > seenProblem; });
    fresh.forEach(function (row) { body.insertBefore(eventRow(row, false), body.firstChild); });
    if (fresh.length) seenProblem = fresh[fresh.length - 1].seq;
    while (body.childNodes.length > MAX_PROBLEMS) body.removeChild(body.lastChild);
    $("problems-empty").hidden = body.childNodes.length > 0;
  }

  window.sockeventsMonitor = {link: link, chart: chart};
  link.open();
})();
