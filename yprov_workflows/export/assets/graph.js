/* yprov graph page: draws the run's workflow graph from the JSON in #yprov-data.
 *
 * Plain JavaScript, no library and no network. Groups (the steps of one rule or task, the files
 * one generated) are drawn as one node until expanded; the visible graph is laid out in layers
 * (longest path from the sources, then barycentre ordering) and drawn as SVG. Drag to pan, wheel
 * to zoom, click a node to see its attributes in the side panel.
 */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var EXPAND_LIMIT = 2000; // members drawn for one expanded group
  var NODE_H = 34, ROW = 48, GAP_X = 90, MAX_W = 280;
  var data = JSON.parse(document.getElementById("yprov-data").textContent);
  var nodes = data.nodes, groups = data.groups, edges = data.edges;
  var colours = data.colours;
  var svg = document.getElementById("graph");
  var viewport = document.getElementById("viewport");
  var panel = document.getElementById("panel");
  var expanded = new Set();
  var view = { scale: 1, x: 20, y: 20 };
  var current = null; // the drawn graph: items by key, links, positions
  var selected = null;
  var rank = new Array(nodes.length); // a node's index among its group's members

  groups.forEach(function (g, gi) {
    g.members.forEach(function (ni, i) { rank[ni] = i; });
    if (g.members.length === 1) expanded.add(gi); // a group of one is its member
  });

  // The visible graph: expanded groups as their members, the others as one node each.

  function keyOf(ni) {
    var g = nodes[ni].g;
    if (!expanded.has(g)) return "g" + g;
    return rank[ni] < EXPAND_LIMIT ? "n" + ni : "m" + g;
  }

  function visibleGraph() {
    var items = new Map();
    groups.forEach(function (g, gi) {
      if (!expanded.has(gi)) { items.set("g" + gi, groupItem(gi)); return; }
      g.members.slice(0, EXPAND_LIMIT).forEach(function (ni) { items.set("n" + ni, nodeItem(ni)); });
      if (g.members.length > EXPAND_LIMIT) items.set("m" + gi, moreItem(gi));
    });
    var links = new Map();
    edges.forEach(function (e) {
      var a = keyOf(e[0]), b = keyOf(e[1]);
      if (a === b || links.has(a + ">" + b)) return;
      links.set(a + ">" + b, { source: a, target: b, kind: e[2] });
    });
    return { items: items, links: Array.from(links.values()) };
  }

  function nodeItem(ni) {
    var n = nodes[ni];
    return { key: "n" + ni, kind: n.k, label: n.l, status: n.s, group: n.g, node: ni };
  }

  function groupItem(gi) {
    var g = groups[gi];
    var label = g.k === "step" ? g.l + " \u00d7" + g.members.length : g.members.length + " files " + g.l;
    return { key: "g" + gi, kind: g.k === "step" ? "step" : "file", label: label, status: g.s, group: gi, isGroup: true };
  }

  function moreItem(gi) {
    var rest = groups[gi].members.length - EXPAND_LIMIT;
    return { key: "m" + gi, kind: "more", label: "+" + rest + " more", status: null, group: gi };
  }

  // Layout: layers by longest path (back edges of cycles ignored), barycentre ordering.

  function layout(graph) {
    var keys = Array.from(graph.items.keys());
    var out = new Map(), inn = new Map();
    keys.forEach(function (k) { out.set(k, []); inn.set(k, []); });
    graph.links.forEach(function (l) { out.get(l.source).push(l.target); inn.get(l.target).push(l.source); });
    var order = topologicalOrder(keys, out);
    var position = new Map(order.map(function (k, i) { return [k, i]; }));
    var layerOf = new Map();
    order.forEach(function (k) {
      var layer = 0;
      inn.get(k).forEach(function (p) {
        if (position.get(p) < position.get(k)) layer = Math.max(layer, layerOf.get(p) + 1);
      });
      layerOf.set(k, layer);
    });
    var layers = [];
    order.forEach(function (k) { var l = layerOf.get(k); (layers[l] = layers[l] || []).push(k); });
    orderLayers(layers, layerOf, inn, out);
    return coordinates(graph, layers);
  }

  function topologicalOrder(keys, out) {
    var seen = new Set(), post = [];
    keys.forEach(function (root) {
      if (seen.has(root)) return;
      seen.add(root);
      var stack = [[root, 0]];
      while (stack.length) {
        var top = stack[stack.length - 1], next = out.get(top[0]);
        if (top[1] < next.length) {
          var child = next[top[1]++];
          if (!seen.has(child)) { seen.add(child); stack.push([child, 0]); }
        } else { post.push(top[0]); stack.pop(); }
      }
    });
    return post.reverse();
  }

  function orderLayers(layers, layerOf, inn, out) {
    var index = new Map();
    layers.forEach(function (layer) { layer.forEach(function (k, i) { index.set(k, i); }); });
    for (var sweep = 0; sweep < 4; sweep++) {
      var down = sweep % 2 === 0;
      var sequence = down ? layers.slice(1) : layers.slice(0, -1).reverse();
      sequence.forEach(function (layer) {
        var centre = new Map();
        layer.forEach(function (k) {
          var sum = 0, n = 0;
          (down ? inn : out).get(k).forEach(function (m) {
            if ((layerOf.get(m) < layerOf.get(k)) === down) { sum += index.get(m); n++; }
          });
          centre.set(k, n ? sum / n : index.get(k));
        });
        layer.sort(function (a, b) { return centre.get(a) - centre.get(b); });
        layer.forEach(function (k, i) { index.set(k, i); });
      });
    }
  }

  function coordinates(graph, layers) {
    var tallest = layers.reduce(function (m, l) { return Math.max(m, l.length); }, 0);
    var place = new Map(), x = 0;
    layers.forEach(function (layer) {
      var width = 0;
      layer.forEach(function (k) { width = Math.max(width, nodeWidth(graph.items.get(k))); });
      var top = ((tallest - layer.length) * ROW) / 2;
      layer.forEach(function (k, i) {
        place.set(k, { x: x, y: top + i * ROW, w: nodeWidth(graph.items.get(k)), h: NODE_H });
      });
      x += width + GAP_X;
    });
    return { place: place, width: Math.max(x - GAP_X, 0), height: tallest * ROW };
  }

  function nodeWidth(item) {
    return Math.min(MAX_W, 36 + 7 * item.label.length);
  }

  // Drawing

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (a) { e.setAttribute(a, attrs[a]); });
    if (parent) parent.appendChild(e);
    return e;
  }

  function render() {
    var graph = visibleGraph();
    graph.layout = layout(graph);
    current = graph;
    while (viewport.firstChild) viewport.removeChild(viewport.firstChild);
    var edgeLayer = el("g", { "class": "edges" }, viewport);
    var nodeLayer = el("g", { "class": "nodes" }, viewport);
    graph.links.forEach(function (l) { drawLink(l, graph.layout.place, edgeLayer); });
    graph.items.forEach(function (item, key) { drawNode(item, graph.layout.place.get(key), nodeLayer); });
    if (selected && !graph.items.has(selected)) selected = null;
    markSelected();
    applyView();
  }

  function drawLink(link, place, parent) {
    var a = place.get(link.source), b = place.get(link.target);
    var x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
    if (x2 <= x1) { x2 = b.x + b.w / 2; y2 = b.y; } // a back edge: into the node's top
    var mid = (x1 + x2) / 2;
    el("path", {
      d: "M" + x1 + "," + y1 + " C" + mid + "," + y1 + " " + mid + "," + y2 + " " + x2 + "," + y2,
      "class": link.kind === 2 ? "informed" : "data",
      "marker-end": "url(#arrow)"
    }, parent);
  }

  function drawNode(item, p, parent) {
    var classes = "node " + item.kind + (item.isGroup ? " group" : "");
    if (item.status) classes += " status-" + item.status;
    var g = el("g", {
      "class": classes, transform: "translate(" + p.x + "," + p.y + ")",
      "data-key": item.key, "data-kind": item.kind
    }, parent);
    var fill = item.kind === "step" ? (colours[item.status] || "#eeeeee") : (item.kind === "more" ? "#f0f0f0" : "#ffffff");
    el("rect", { width: p.w, height: p.h, rx: item.kind === "step" ? 8 : 2, fill: fill }, g);
    var text = el("text", { x: 10, y: p.h / 2 }, g);
    text.textContent = fit(item.label, p.w);
    var title = el("title", {}, g);
    title.textContent = item.label + (item.status ? " (" + item.status + ")" : "");
  }

  function fit(label, width) {
    var chars = Math.floor((width - 16) / 7);
    return label.length <= chars ? label : "\u2026" + label.slice(label.length - chars + 1);
  }

  function markSelected() {
    Array.prototype.forEach.call(viewport.querySelectorAll(".node.selected"), function (n) {
      n.classList.remove("selected");
    });
    if (!selected) return;
    var found = viewport.querySelector('[data-key="' + selected + '"]');
    if (found) found.classList.add("selected");
  }

  // Pan and zoom

  function applyView() {
    viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.scale + ")");
  }

  function zoom(factor, cx, cy) {
    var scale = Math.min(8, Math.max(0.02, view.scale * factor));
    view.x = cx - ((cx - view.x) * scale) / view.scale;
    view.y = cy - ((cy - view.y) * scale) / view.scale;
    view.scale = scale;
    applyView();
  }

  function fitView(readable) {
    var box = svg.getBoundingClientRect(), lay = current.layout;
    var scale = Math.min(1.5, (box.width - 40) / Math.max(lay.width, 1), (box.height - 40) / Math.max(lay.height, 1));
    if (readable) scale = Math.max(scale, 0.75); // the first view: labels stay legible
    view.scale = Math.max(0.02, scale);
    view.x = Math.max(20, (box.width - lay.width * view.scale) / 2);
    view.y = (box.height - lay.height * view.scale) / 2;
    applyView();
  }

  var drag = null;
  svg.addEventListener("pointerdown", function (ev) {
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false };
  });
  svg.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    svg.classList.add("panning");
    view.x = drag.vx + dx; view.y = drag.vy + dy;
    applyView();
  });
  window.addEventListener("pointerup", function () {
    svg.classList.remove("panning");
    setTimeout(function () { drag = null; }, 0);
  });
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var box = svg.getBoundingClientRect();
    zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - box.left, ev.clientY - box.top);
  }, { passive: false });
  svg.addEventListener("click", function (ev) {
    if (drag && drag.moved) return;
    var target = ev.target.closest ? ev.target.closest("[data-key]") : null;
    if (target) select(target.getAttribute("data-key"));
  });

  // The side panel

  function select(key) {
    selected = key;
    markSelected();
    var item = current.items.get(key);
    if (item) showItem(item);
  }

  function add(parent, name, text, attrs) {
    var e = document.createElement(name);
    if (text !== undefined && text !== null) e.textContent = text;
    Object.keys(attrs || {}).forEach(function (a) { e.setAttribute(a, attrs[a]); });
    parent.appendChild(e);
    return e;
  }

  function button(label, action, id) {
    var b = add(panel, "button", label, id ? { id: id } : {});
    b.addEventListener("click", action);
  }

  function showItem(item) {
    panel.textContent = "";
    if (item.isGroup) return showGroup(item.group);
    if (item.kind === "more") return showGroup(item.group);
    var node = nodes[item.node];
    add(panel, "h2", node.l);
    add(panel, "div", node.k + (node.s ? " \u00b7 " + node.s : "") + " \u00b7 " + groups[node.g].l, { "class": "kind" });
    if (groups[node.g].members.length > 1) {
      button("Collapse " + groups[node.g].l, function () { expanded.delete(node.g); render(); select("g" + node.g); });
    }
    attributeTable(node.a);
  }

  function showGroup(gi) {
    var g = groups[gi];
    add(panel, "h2", g.l);
    var what = g.k === "step" ? " steps" : " files and values";
    add(panel, "div", g.members.length + what + (g.s ? " \u00b7 worst status: " + g.s : ""), { "class": "kind" });
    if (!expanded.has(gi)) {
      var note = g.members.length > EXPAND_LIMIT ? " (the first " + EXPAND_LIMIT + ")" : "";
      button("Expand" + note, function () { expanded.add(gi); render(); }, "expand");
    } else if (g.members.length > 1) {
      button("Collapse", function () { expanded.delete(gi); render(); select("g" + gi); });
    }
    if (g.k === "step") attributeTable(statusCounts(g));
    var list = add(panel, "ul");
    g.members.slice(0, 50).forEach(function (ni) { add(list, "li", nodes[ni].l + (nodes[ni].s ? " (" + nodes[ni].s + ")" : "")); });
    if (g.members.length > 50) add(list, "li", "\u2026 and " + (g.members.length - 50) + " more");
  }

  function statusCounts(g) {
    var counts = {};
    g.members.forEach(function (ni) { var s = nodes[ni].s || "unknown"; counts[s] = (counts[s] || 0) + 1; });
    return counts;
  }

  function attributeTable(attrs) {
    var table = add(panel, "table", null, { "class": "attributes" });
    Object.keys(attrs).forEach(function (key) {
      var row = add(table, "tr");
      add(row, "td", key, { "class": "key" });
      var value = attrs[key];
      add(row, "td", typeof value === "object" ? JSON.stringify(value) : String(value));
    });
  }

  function showRun() {
    panel.textContent = "";
    add(panel, "h2", data.title);
    add(panel, "div", "the run \u00b7 click a step or a file to see its attributes", { "class": "kind" });
    attributeTable(data.run);
  }

  // The header

  function header() {
    document.getElementById("title").textContent = data.title;
    document.getElementById("summary").textContent = data.summary;
    var legend = document.getElementById("legend");
    Object.keys(colours).forEach(function (status) {
      var span = add(legend, "span", status);
      var swatch = document.createElement("i");
      swatch.style.background = colours[status];
      span.insertBefore(swatch, span.firstChild);
    });
    document.getElementById("fit").addEventListener("click", function () { fitView(false); });
    document.getElementById("zoom-in").addEventListener("click", function () { zoom(1.25, svg.clientWidth / 2, svg.clientHeight / 2); });
    document.getElementById("zoom-out").addEventListener("click", function () { zoom(0.8, svg.clientWidth / 2, svg.clientHeight / 2); });
    document.getElementById("expand-all").addEventListener("click", function () { groups.forEach(function (g, gi) { expanded.add(gi); }); render(); fitView(false); });
    document.getElementById("collapse-all").addEventListener("click", function () {
      groups.forEach(function (g, gi) { if (g.members.length > 1) expanded.delete(gi); });
      render(); fitView(false);
    });
  }

  header();
  if (!nodes.length) {
    add(panel, "p", "This run has no steps.", { "class": "empty" });
  } else {
    render();
    fitView(true);
    showRun();
  }
  document.body.setAttribute("data-ready", String(Math.round(performance.now())));
})();
