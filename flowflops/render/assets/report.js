/* flowflops report page: draws the data in #ff-data. Written for flowflops (MIT license),
   no libraries, no network. Sections: totals, treemap (click a module to zoom in and see how
   its number was computed; identical blocks can be folded into one box), modules table (sort
   by a header, search by path or type), op types, counted as zero, every op. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("ff-data").textContent);
  var M = D.modules, N = M.path.length;
  var kids = [];
  for (var i = 0; i < N; i++) kids.push([]);
  for (i = 1; i < N; i++) if (M.parent[i] >= 0) kids[M.parent[i]].push(i);
  var LABELS = { macs: "MACs", flops: "FLOPs", params: "params", bytes: "bytes moved", time: "predicted time" };
  var S = { metric: "macs", view: D.views[0], root: 0, query: "", sortKey: null, sortDir: -1,
            limit: 300, opSort: null, opDir: -1, recQuery: "", recLimit: 200, fold: false, sel: 0 };
  // groups of identical sibling blocks (D.repeats: [label, type, paths]): member index -> group
  var INDEX = {}, FOLD = {};
  for (i = 0; i < N; i++) INDEX[M.path[i]] = i;
  (D.repeats || []).forEach(function (g) {
    var members = g[2].map(function (p) { return INDEX[p]; }).filter(function (x) { return x !== undefined; });
    if (members.length < 2) return;
    var grp = { label: g[0], type: g[1], members: members, lead: members[0] };
    members.forEach(function (x) { FOLD[x] = grp; });
  });

  // -- numbers ---------------------------------------------------------------------------
  function scaled(v, units, base) {
    for (var k = 0; k < units.length; k++) {
      if (Math.abs(v) >= units[k][1]) return (v / units[k][1]).toFixed(2).replace(/\.?0+$/, "") + " " + units[k][0];
    }
    return String(Math.round(v * 100) / 100) + (base ? " " + base : "");
  }
  function fmt(v, metric) {
    if (v === null || v === undefined) return "-";
    if (metric === "macs") return scaled(v, [["GMac", 1e9], ["MMac", 1e6], ["KMac", 1e3]], "Mac");
    if (metric === "flops") return scaled(v, [["TFLOPs", 1e12], ["GFLOPs", 1e9], ["MFLOPs", 1e6], ["KFLOPs", 1e3]], "FLOPs");
    if (metric === "params") return scaled(v, [["M", 1e6], ["k", 1e3]], "");
    if (metric === "bytes") return scaled(v, [["GB", 1e9], ["MB", 1e6], ["KB", 1e3]], "B");
    if (metric === "time") return scaled(v, [["s", 1], ["ms", 1e-3], ["us", 1e-6], ["ns", 1e-9]], "s");
    return scaled(v, [["G", 1e9], ["M", 1e6], ["k", 1e3]], "");
  }
  function full(v) { return v === null || v === undefined ? "" : Number(v).toLocaleString("en-US"); }
  function pct(part, whole) { return whole ? (100 * part / whole).toFixed(2) + "%" : "-"; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function el(tag, attrs, html) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (html !== undefined) e.innerHTML = html;
    return e;
  }
  function metrics() { return D.metrics.concat(["params"]); }
  function value(i, metric, view) {
    if (metric === "params") return M.params[i];
    var col = D.values[view || S.view][metric];
    return col ? col[i] : null;
  }

  // -- page skeleton -------------------------------------------------------------------------
  var app = document.getElementById("ff-app");
  app.innerHTML = "";
  app.appendChild(el("h1", {}, esc(D.title)));
  var inputs = JSON.stringify(D.inputs);
  app.appendChild(el("div", { "class": "ff-sub" },
    "mode <b>" + esc(D.mode) + "</b> &middot; inputs <code>" + esc(inputs) + "</code> &middot; convention <b id='ff-convention' title='" +
    esc(D.convention_note) + "'>" + esc(D.convention) + "</b> &middot; per batch, for the inputs as given &middot; flowflops " + esc(D.versions.flowflops) +
    ", oneflow " + esc(D.versions.oneflow)));
  var cards = el("div", { "class": "ff-cards", id: "ff-totals" });
  function card(k, v, n, cls) { cards.appendChild(el("div", { "class": "ff-card" + (cls ? " " + cls : "") }, "<div class=k>" + k + "</div><div class=v>" + v + "</div><div class=n>" + n + "</div>")); }
  card("MACs", fmt(D.totals.macs, "macs"), full(D.totals.macs));
  card("FLOPs", fmt(D.totals.flops, "flops"), full(D.totals.flops));
  card("Params", fmt(D.totals.params, "params"), full(D.totals.params) + (D.totals.trainable_params !== D.totals.params ? " (" + full(D.totals.trainable_params) + " trainable)" : ""));
  D.metrics.forEach(function (m) {
    if (m === "macs" || m === "flops") return;
    var t = D.values[D.views[0]][m][0];
    card(LABELS[m] || m, fmt(t, m), m === "time" ? "on " + esc(D.device) : full(t));
  });
  var cov = D.coverage;
  card("Coverage", esc(cov.value), cov.priced + " of " + cov.seen + " ops priced; " + esc(cov.note), cov.complete ? "" : "ff-bad");
  app.appendChild(cards);

  if (D.phases) {
    var ph = "<h2>Phases</h2><table class='ff-table' id='ff-phases'><thead><tr><th class=l>phase</th><th>MACs</th><th>% MACs</th><th>FLOPs</th></tr></thead><tbody>";
    for (var p in D.phases) ph += "<tr><td class=l>" + esc(p) + "</td><td>" + fmt(D.phases[p].macs, "macs") + " (" + full(D.phases[p].macs) + ")</td><td>" + pct(D.phases[p].macs, D.totals.macs) + "</td><td>" + fmt(D.phases[p].flops, "flops") + "</td></tr>";
    app.appendChild(el("div", {}, ph + "</tbody></table>"));
  }
  if (D.ranks) {
    var rk = "<h2>Ranks</h2><table class='ff-table' id='ff-ranks'><thead><tr><th class=l>rank</th><th>MACs</th><th>% of logical MACs</th><th>FLOPs</th><th>sent</th><th>received</th></tr></thead><tbody>";
    for (var r in D.ranks) { var q = D.ranks[r]; rk += "<tr><td class=l>" + esc(r) + "</td><td>" + fmt(q.macs, "macs") + "</td><td>" + pct(q.macs, D.totals.macs) + "</td><td>" + fmt(q.flops, "flops") + "</td><td>" + fmt(q.bytes_sent, "bytes") + "</td><td>" + fmt(q.bytes_received, "bytes") + "</td></tr>"; }
    app.appendChild(el("div", {}, rk + "</tbody></table>"));
  }

  // controls
  var ctl = el("div", { "class": "ff-controls" });
  var msel = el("select", { id: "ff-metric" });
  metrics().forEach(function (m) { msel.appendChild(el("option", { value: m }, LABELS[m] || m)); });
  ctl.appendChild(el("label", { "for": "ff-metric" }, "size by")); ctl.appendChild(msel);
  var vsel = el("select", { id: "ff-view" });
  D.views.forEach(function (v) { vsel.appendChild(el("option", { value: v }, v)); });
  if (D.views.length > 1) { ctl.appendChild(el("label", { "for": "ff-view" }, "show")); ctl.appendChild(vsel); }
  var up = el("button", { id: "ff-up", type: "button" }, "&uarr; up");
  ctl.appendChild(up);
  var fold = el("input", { type: "checkbox", id: "ff-fold" });
  if ((D.repeats || []).length) {
    var fl = el("label", { "for": "ff-fold", title: "identical sibling blocks (blocks.0-11) as one box: their sum" });
    fl.appendChild(fold); fl.appendChild(document.createTextNode(" fold identical blocks"));
    ctl.appendChild(fl);
  }
  app.appendChild(el("h2", {}, "Module tree"));
  app.appendChild(ctl);
  var crumbs = el("div", { "class": "ff-crumbs", id: "ff-crumbs" });
  app.appendChild(crumbs);
  var tm = el("div", { id: "ff-treemap" });
  app.appendChild(tm);
  app.appendChild(el("div", { "class": "ff-note" }, "Boxes are modules, sized by the chosen number, inclusive of their submodules; a striped box is work a module does itself, outside its submodules. Click a box to zoom in one level; the path above it leads back out."));
  var exBox = el("details", { id: "ff-explain-box", open: "open" });
  var exHead = el("summary", { id: "ff-explain-head" });
  var exText = el("pre", { id: "ff-explain", "class": "ff-explain" });
  exBox.appendChild(exHead); exBox.appendChild(exText);
  if (D.explain) app.appendChild(exBox);
  function showExplain(i) {
    if (!D.explain) return;
    S.sel = i;
    exHead.textContent = "How this number was computed: " + (M.path[i] || "the model") + " (" + M.type[i] + ")";
    var t = D.explain[M.path[i]];
    exText.textContent = t !== undefined ? t : "This page carries the explanations of the first " + D.explain_limit +
      " modules only: print(report.explain(" + JSON.stringify(M.path[i]) + ")) shows this one.";
  }
  var tip = el("div", { id: "ff-tip" });
  document.body.appendChild(tip);

  // -- treemap ----------------------------------------------------------------------------------
  function worst(row, side, scale) {
    var s = 0, mx = 0, mn = Infinity;
    row.forEach(function (it) { var a = it.v * scale; s += a; mx = Math.max(mx, a); mn = Math.min(mn, a); });
    return Math.max(side * side * mx / (s * s), (s * s) / (side * side * mn));
  }
  function squarify(items, x, y, w, h) {
    var total = 0; items.forEach(function (it) { total += it.v; });
    var out = [];
    if (total <= 0 || w <= 0 || h <= 0) return out;
    var scale = w * h / total, row = [], rest = items.slice();
    function place(row) {
      var s = 0; row.forEach(function (it) { s += it.v * scale; });
      if (w >= h) { var cw = s / h, cy = y; row.forEach(function (it) { var ch = it.v * scale / cw; out.push({ it: it, x: x, y: cy, w: cw, h: ch }); cy += ch; }); x += cw; w -= cw; }
      else { var rh = s / w, cx = x; row.forEach(function (it) { var rw = it.v * scale / rh; out.push({ it: it, x: cx, y: y, w: rw, h: rh }); cx += rw; }); y += rh; h -= rh; }
    }
    while (rest.length) {
      var side = Math.min(w, h), next = rest[0];
      if (!row.length || worst(row.concat([next]), side, scale) <= worst(row, side, scale)) { row.push(next); rest.shift(); }
      else { place(row); row = []; }
    }
    if (row.length) place(row);
    return out;
  }
  var drawn = 0, MAX_BOXES = 4000;
  function items(i) {
    var its = [], sum = 0;
    kids[i].forEach(function (c) {
      var g = S.fold ? FOLD[c] : null, v = value(c, S.metric);
      if (g && g.lead !== c) { sum += v > 0 ? v : 0; return; }  // folded into its group's first copy
      if (g) { v = 0; g.members.forEach(function (x) { var w = value(x, S.metric); v += w > 0 ? w : 0; }); }
      if (v > 0) { its.push(g ? { i: c, v: v, fold: g } : { i: c, v: v }); sum += v; }
    });
    var own = value(i, S.metric) - sum;
    if (S.metric !== "params" && own > 1e-9 * Math.max(1, value(i, S.metric)) && its.length) its.push({ i: i, v: own, self: true });
    its.sort(function (a, b) { return b.v - a.v; });
    return its;
  }
  var PALETTE = [210, 28, 130, 280, 350, 50, 180, 95, 315, 245];
  function box(it, x, y, w, h, level, tint) {
    var i = it.i, node = el("div", { "class": "ff-node" + (it.self ? " ff-self" : ""), "data-path": M.path[i], "data-index": String(i) });
    node.style.left = x + "px"; node.style.top = y + "px"; node.style.width = Math.max(0, w) + "px"; node.style.height = Math.max(0, h) + "px";
    var light = 88 - 6 * Math.min(level, 5);
    node.style.background = it.self ? "hsl(0,0%," + (light - 4) + "%)" : "hsl(" + tint + ",55%," + light + "%)";
    var label = it.self ? "(" + (M.name[i] || "model") + " itself)" : it.fold ? it.fold.label + ", " + it.fold.type + " x " + it.fold.members.length + " " + fmt(it.v, S.metric) : M.name[i] + " (" + M.type[i] + ") " + fmt(it.v, S.metric);
    if (it.fold) node.setAttribute("data-fold", it.fold.label);
    if (w > 30 && h > 14) node.appendChild(el("span", { "class": "ff-label" }, esc(label)));
    node._ff = it;
    tm.appendChild(node);
    drawn++;
    if (!it.self && level < 6 && w > 40 && h > 34 && drawn < MAX_BOXES) {
      var sub = items(i);
      // a box filling most of the view passes no colour on: its children get colours of their own
      var fresh = w * h > 0.5 * tm.clientWidth * tm.clientHeight;
      if (sub.length) squarify(sub, x + 2, y + 16, w - 4, h - 18).forEach(function (b, k) { box(b.it, b.x, b.y, b.w, b.h, level + 1, fresh ? PALETTE[k % PALETTE.length] : tint); });
    }
  }
  function drawTreemap() {
    tm.innerHTML = ""; drawn = 0; tip.style.display = "none";
    var r = S.root, v = value(r, S.metric);
    var chain = [], a = r;
    while (a >= 0) { chain.unshift(a); a = M.parent[a]; }
    crumbs.innerHTML = "";
    chain.forEach(function (c, k) {
      var link = el("a", { "data-index": String(c) }, esc(k === 0 ? "model" : M.name[c]));
      link.onclick = function () { zoom(c); };
      crumbs.appendChild(link);
      if (k < chain.length - 1) crumbs.appendChild(document.createTextNode(" / "));
    });
    crumbs.appendChild(document.createTextNode("  \u2014 " + (M.path[r] || "model") + " (" + M.type[r] + "): " + fmt(v, S.metric) + ", " + pct(v, value(0, S.metric)) + " of the model"));
    up.disabled = r === 0;
    var W = tm.clientWidth, H = tm.clientHeight, its = items(r);
    if (!(v > 0)) { tm.appendChild(el("div", { "class": "ff-empty" }, "Nothing to show: " + esc(M.path[r] || "the model") + " has no " + esc(LABELS[S.metric] || S.metric) + " in this view.")); return; }
    if (!its.length) its = [{ i: r, v: v }];
    squarify(its, 0, 0, W, H).forEach(function (b, k) { box(b.it, b.x, b.y, b.w, b.h, 0, PALETTE[k % PALETTE.length]); });
  }
  function zoom(i) { S.root = i; drawTreemap(); showExplain(i); }
  tm.addEventListener("click", function (ev) {
    var n = ev.target.closest(".ff-node");
    if (!n) return;
    // one level at a time: the child of the shown module that holds the clicked box
    var i = n._ff.i;
    while (i >= 0 && M.parent[i] !== S.root) i = M.parent[i];
    if (i >= 0 && i !== S.root && kids[i].length) zoom(i);
    else showExplain(n._ff.i);  // a module without submodules (or the shown one's own work): its chain
  });
  tm.addEventListener("mousemove", function (ev) {
    var n = ev.target.closest(".ff-node");
    if (!n) { tip.style.display = "none"; return; }
    var i = n._ff.i, rows = [];
    var g = n._ff.fold;
    if (g) rows.push("<b>" + esc(g.label) + "</b> " + esc(g.type) + " x " + g.members.length + ": the sum; each copy as " + esc(M.path[i]));
    rows.push("<b>" + esc(M.path[i] || "model") + "</b> " + esc(M.type[i]) + (n._ff.self ? " (its own work)" : ""));
    if (g) rows.push(esc(LABELS[S.metric] || S.metric) + " of the " + g.members.length + " copies: " + fmt(n._ff.v, S.metric) + " (" + pct(n._ff.v, value(0, S.metric)) + ")");
    metrics().forEach(function (m) {
      var v = n._ff.self && m === S.metric ? n._ff.v : value(i, m);
      rows.push(esc(LABELS[m] || m) + ": " + fmt(v, m) + " (" + pct(v, value(0, m)) + ")");
    });
    tip.innerHTML = rows.join("<br>");
    tip.style.display = "block";
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 320) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  });
  tm.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  up.onclick = function () { if (S.root > 0) zoom(M.parent[S.root]); };
  fold.onchange = function () { S.fold = fold.checked; drawTreemap(); };
  msel.onchange = function () { S.metric = msel.value; drawTreemap(); drawModules(); };
  vsel.onchange = function () { S.view = vsel.value; drawTreemap(); drawModules(); drawOps(); };
  window.addEventListener("resize", drawTreemap);

  // -- modules table ------------------------------------------------------------------------
  app.appendChild(el("h2", {}, "Modules"));
  var mctl = el("div", { "class": "ff-controls" });
  var search = el("input", { type: "search", id: "ff-search", placeholder: "search module path or type" });
  mctl.appendChild(search);
  var mcount = el("span", { id: "ff-count", "class": "ff-note" });
  mctl.appendChild(mcount);
  app.appendChild(mctl);
  var mtable = el("table", { "class": "ff-table", id: "ff-modules" });
  app.appendChild(mtable);
  var more = el("button", { id: "ff-more", type: "button" }, "show all");
  app.appendChild(more);
  var depth = [];
  for (i = 0; i < N; i++) depth.push(M.parent[i] < 0 ? 0 : depth[M.parent[i]] + 1);
  function mcols() {
    var c = [{ k: "path", l: "module", left: true }, { k: "type", l: "type", left: true }, { k: "params", l: "params" }];
    D.metrics.forEach(function (m) { c.push({ k: m, l: LABELS[m] || m }); if (m === "macs") c.push({ k: "pct", l: "% MACs" }); });
    c.push({ k: "shape", l: "output shape", left: true });
    return c;
  }
  function mval(i, k) {
    if (k === "path" || k === "type" || k === "shape") return M[k][i];
    if (k === "pct") return value(i, "macs");
    return value(i, k);
  }
  function drawModules() {
    var q = S.query.toLowerCase(), rows = [];
    for (var j = 0; j < N; j++) if (!q || M.path[j].toLowerCase().indexOf(q) >= 0 || (M.type[j] || "").toLowerCase().indexOf(q) >= 0) rows.push(j);
    if (S.sortKey) {
      var k = S.sortKey, d = S.sortDir;
      rows.sort(function (a, b) { var x = mval(a, k), y = mval(b, k); return (x < y ? -1 : x > y ? 1 : a - b) * d; });
    }
    var cols = mcols(), total = value(0, "macs"), h = "<thead><tr>";
    cols.forEach(function (c) { h += "<th data-key='" + c.k + "' class='" + (c.left ? "l " : "") + (S.sortKey === c.k ? (S.sortDir > 0 ? "ff-sorted-asc" : "ff-sorted-desc") : "") + "'>" + esc(c.l) + "</th>"; });
    h += "</tr></thead><tbody>";
    var shown = rows.slice(0, S.limit), maxMacs = 0;
    shown.forEach(function (j) { maxMacs = Math.max(maxMacs, value(j, "macs")); });
    shown.forEach(function (j) {
      h += "<tr class='ff-click' data-index='" + j + "'>";
      cols.forEach(function (c) {
        var v = mval(j, c.k);
        if (c.k === "path") h += "<td class=l style='padding-left:" + (0.5 + (S.sortKey || q ? 0 : 0.9 * depth[j])) + "em'>" + esc(v || "model") + "</td>";
        else if (c.left) h += "<td class=l>" + esc(v) + "</td>";
        else if (c.k === "pct") h += "<td><span class=ff-bar style='width:" + Math.round(60 * (total ? v / total : 0)) + "px'></span>" + pct(v, total) + "</td>";
        else h += "<td title='" + full(v) + "'>" + fmt(v, c.k) + "</td>";
      });
      h += "</tr>";
    });
    mtable.innerHTML = h + "</tbody>";
    mcount.textContent = rows.length + " of " + N + " modules" + (rows.length > shown.length ? ", showing " + shown.length : "");
    more.style.display = rows.length > shown.length ? "" : "none";
  }
  mtable.addEventListener("click", function (ev) {
    var th = ev.target.closest("th");
    if (th) {
      var k = th.getAttribute("data-key");
      if (S.sortKey === k) { if (S.sortDir < 0) S.sortDir = 1; else { S.sortKey = null; S.sortDir = -1; } }
      else { S.sortKey = k; S.sortDir = (k === "path" || k === "type" || k === "shape") ? 1 : -1; }
      drawModules(); return;
    }
    var tr = ev.target.closest("tr[data-index]");
    if (tr) { zoom(+tr.getAttribute("data-index")); tm.scrollIntoView({ block: "nearest" }); }
  });
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { S.query = search.value.trim(); S.limit = 300; drawModules(); }, N > 3000 ? 150 : 0);
  });
  more.onclick = function () { S.limit = Infinity; drawModules(); };

  // -- op types -------------------------------------------------------------------------------
  app.appendChild(el("h2", {}, "Op types"));
  var otable = el("table", { "class": "ff-table", id: "ff-ops" });
  app.appendChild(otable);
  function drawOps() {
    var rows = D.operators[S.view].slice(), cols = [["op", "op type"], ["calls", "calls"]];
    D.metrics.forEach(function (m) { cols.push([m, LABELS[m] || m]); if (m === "macs") cols.push(["pct", "% MACs"]); });
    var idx = { op: 0, calls: 1, pct: 2 };
    D.metrics.forEach(function (m, k) { idx[m] = 2 + k; });
    if (S.opSort) { var k = idx[S.opSort], d = S.opDir; rows.sort(function (a, b) { return (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0) * d; }); }
    var total = 0; rows.forEach(function (r) { total += r[2]; });
    var h = "<thead><tr>";
    cols.forEach(function (c) { h += "<th data-key='" + c[0] + "' class='" + (c[0] === "op" ? "l " : "") + (S.opSort === c[0] ? (S.opDir > 0 ? "ff-sorted-asc" : "ff-sorted-desc") : "") + "'>" + esc(c[1]) + "</th>"; });
    h += "</tr></thead><tbody>";
    rows.forEach(function (r) {
      h += "<tr>";
      cols.forEach(function (c) {
        if (c[0] === "op") h += "<td class=l>" + esc(r[0]) + "</td>";
        else if (c[0] === "calls") h += "<td>" + r[1] + "</td>";
        else if (c[0] === "pct") h += "<td>" + pct(r[2], total) + "</td>";
        else h += "<td title='" + full(r[idx[c[0]]]) + "'>" + fmt(r[idx[c[0]]], c[0]) + "</td>";
      });
      h += "</tr>";
    });
    otable.innerHTML = h + "</tbody>";
  }
  otable.addEventListener("click", function (ev) {
    var th = ev.target.closest("th"); if (!th) return;
    var k = th.getAttribute("data-key");
    if (S.opSort === k) S.opDir = -S.opDir; else { S.opSort = k; S.opDir = k === "op" ? 1 : -1; }
    drawOps();
  });

  // -- counted as zero -------------------------------------------------------------------------
  app.appendChild(el("h2", {}, "Counted as zero"));
  var un = Object.keys(D.unsupported), uh;
  if (!un.length) uh = "<div class=ff-note id='ff-unsupported'>Every op seen has a formula: nothing was counted as zero.</div>";
  else {
    uh = "<div class='ff-note ff-warn'>These had no formula and were counted as zero (register one with <code>flowflops.register</code>):</div><table class='ff-table' id='ff-unsupported'><thead><tr><th class=l>op or module type</th><th>times seen</th></tr></thead><tbody>";
    un.forEach(function (k) { uh += "<tr><td class=l>" + esc(k) + "</td><td>" + D.unsupported[k] + "</td></tr>"; });
    uh += "</tbody></table>";
  }
  app.appendChild(el("div", {}, uh));

  // -- every op ---------------------------------------------------------------------------------
  var det = el("details", { id: "ff-records" });
  det.appendChild(el("summary", {}, "Every op record (" + D.records.length.toLocaleString("en-US") + ")"));
  var rs = el("input", { type: "search", id: "ff-rsearch", placeholder: "search op type or module" });
  var rnote = el("span", { "class": "ff-note" });
  var rctl = el("div", { "class": "ff-controls" }); rctl.appendChild(rs); rctl.appendChild(rnote);
  det.appendChild(rctl);
  var rtable = el("table", { "class": "ff-table" });
  det.appendChild(rtable);
  var rmore = el("button", { type: "button" }, "show 1000 more");
  det.appendChild(rmore);
  app.appendChild(det);
  function drawRecords() {
    var q = S.recQuery.toLowerCase(), h = "<thead><tr><th class=l>#</th><th class=l>op type</th><th class=l>module</th>" + (D.phases ? "<th class=l>phase</th>" : "") + "<th class=l>inputs</th><th class=l>outputs</th><th>MACs</th><th>FLOPs</th></tr></thead><tbody>", n = 0, hit = 0;
    for (var j = 0; j < D.records.length; j++) {
      var r = D.records[j], op = D.op_names[r[0]], mod = M.path[r[1]];
      if (q && op.toLowerCase().indexOf(q) < 0 && mod.toLowerCase().indexOf(q) < 0) continue;
      hit++;
      if (n >= S.recLimit) continue;
      n++;
      h += "<tr><td class=l>" + j + "</td><td class=l>" + esc(op) + "</td><td class=l>" + esc(mod || "model") + "</td>" + (D.phases ? "<td class=l>" + D.phase_names[r[6]] + "</td>" : "") + "<td class=l>" + esc(r[2]) + "</td><td class=l>" + esc(r[3]) + "</td><td>" + (r[4] === null ? "<span class=ff-warn>no formula</span>" : full(r[4])) + "</td><td>" + full(r[5]) + "</td></tr>";
    }
    rtable.innerHTML = h + "</tbody>";
    rnote.textContent = hit + " records" + (hit > n ? ", showing " + n : "");
    rmore.style.display = hit > n ? "" : "none";
  }
  var rtimer = null, recordsDrawn = false;
  det.addEventListener("toggle", function () { if (det.open && !recordsDrawn) { recordsDrawn = true; drawRecords(); } });
  rs.addEventListener("input", function () { clearTimeout(rtimer); rtimer = setTimeout(function () { S.recQuery = rs.value.trim(); S.recLimit = 200; drawRecords(); }, 150); });
  rmore.onclick = function () { S.recLimit += 1000; drawRecords(); };

  drawTreemap(); drawModules(); drawOps(); showExplain(0);
  document.body.setAttribute("data-ff-ready-ms", String(performance.now()));
  document.body.setAttribute("data-ff-ready", "1");
})();
