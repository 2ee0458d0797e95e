/* archdsl docs: zoom, pan, linked depth levels and in-place expand/collapse of one called
   block for diagrams, and search over the site. Self-written, no dependencies; the pages work
   without it (every level is a <details>, every diagram scaled to the page width, a called
   block a link to its page, the diagrams with one call toggled inert <template>s). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var root = document.body.getAttribute("data-root") || "";

  function zoomable(fig) {
    var svg = fig.querySelector("svg"), home, view;
    if (!svg || !svg.viewBox || !svg.viewBox.baseVal) return null;
    function reset() { var b = svg.viewBox.baseVal; home = [b.x, b.y, b.width, b.height]; view = home.slice(); }
    reset();
    fig.classList.add("zoomable");
    function apply() { svg.setAttribute("viewBox", view.map(function (v) { return v.toFixed(2); }).join(" ")); }
    function zoom(f, fx, fy) {  /* scale by f about the fraction (fx, fy) of the view */
      var w = view[2] / f, h = view[3] / f;
      view = [view[0] + (view[2] - w) * fx, view[1] + (view[3] - h) * fy, w, h];
      apply();
    }
    function fit() { view = home.slice(); apply(); }
    fig.addEventListener("wheel", function (e) {
      if (!e.ctrlKey && !e.metaKey) return;  /* a plain wheel scrolls the page */
      e.preventDefault();
      var r = svg.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 1.25 : 0.8, (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
    }, {passive: false});
    var drag = null;
    fig.addEventListener("pointerdown", function (e) {
      if (e.button !== 0 || e.target.closest("a")) return;
      drag = {x: e.clientX, y: e.clientY, view: view.slice()};
      fig.classList.add("panning");
    });
    window.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var r = svg.getBoundingClientRect(), s = drag.view[2] / r.width;
      view = [drag.view[0] - (e.clientX - drag.x) * s, drag.view[1] - (e.clientY - drag.y) * s, view[2], view[3]];
      apply();
    });
    window.addEventListener("pointerup", function () { drag = null; fig.classList.remove("panning"); });
    function swap(other) {  /* show another drawing of the same block, fitted */
      fig.replaceChild(other, svg); svg = other; reset();
    }
    return {zoom: zoom, fit: fit, swap: swap, svg: function () { return svg; }};
  }

  /* Clicking a called block's box or fence in a level that carries <template class="toggled">
     drawings shows the one with that call toggled (opened, or closed), in place; clicking it
     again shows the level's own drawing. Ctrl/cmd/shift-click follows the link as usual. */
  function toggles(level, view) {
    if (!view) return;
    var own = view.svg(), shown = null;
    level.querySelector("figure.diagram").addEventListener("click", function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      var g = e.target.closest("g.call, g.fence");
      var key = g && Array.prototype.find.call(g.classList, function (c) { return /^c[0-9][0-9_]*$/.test(c); });
      if (!key) return;
      var want = key === shown ? null : key;
      var tpl = want && level.querySelector('template.toggled[data-call="' + want + '"]');
      if (want && !tpl) return;  /* a call with no drawing here: its link opens its page */
      e.preventDefault();
      view.swap(want ? tpl.content.querySelector("svg").cloneNode(true) : own);
      shown = want;
    });
  }

  function button(text, title, onclick) {
    var b = document.createElement("button");
    b.type = "button"; b.textContent = text; b.title = title; b.addEventListener("click", onclick);
    return b;
  }

  document.querySelectorAll(".levels").forEach(function (box) {
    var levels = Array.prototype.slice.call(box.querySelectorAll("details.level"));
    var views = levels.map(function (d) { return zoomable(d.querySelector("figure.diagram")); });
    levels.forEach(function (d, i) { toggles(d, views[i]); });
    var current = Math.max(0, levels.findIndex(function (d) { return d.open; }));
    var label = document.createElement("span");
    function show(i) {
      current = Math.max(0, Math.min(levels.length - 1, i));
      levels.forEach(function (d, j) { d.open = j === current; d.hidden = j !== current; });
      label.textContent = "depth " + current + " of " + (levels.length - 1);
      expand.disabled = current === levels.length - 1; collapse.disabled = current === 0;
    }
    function view() { return views[current]; }
    var bar = document.createElement("div");
    bar.className = "toolbar";
    var expand = button("expand calls", "open the called blocks one level deeper", function () { show(current + 1); });
    var collapse = button("collapse calls", "draw the called blocks one level shallower", function () { show(current - 1); });
    bar.append(button("+", "zoom in (or ctrl + wheel)", function () { view() && view().zoom(1.5, 0.5, 0); }),
               button("−", "zoom out", function () { view() && view().zoom(1 / 1.5, 0.5, 0); }),
               button("fit", "the whole diagram in the page width", function () { view() && view().fit(); }),
               collapse, expand, label);
    box.insertBefore(bar, box.firstChild);
    show(current);
  });

  var input = document.getElementById("search"), list = document.getElementById("search-results");
  if (!input || !list) return;
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase(), index = window.ARCHDSL_INDEX || [];
    list.textContent = "";
    if (!q) { list.hidden = true; return; }
    var hits = index.filter(function (e) { return e.name.toLowerCase().indexOf(q) >= 0; });
    hits.sort(function (a, b) {
      return (b.name.toLowerCase() === q) - (a.name.toLowerCase() === q) || (a.kind > b.kind) - (a.kind < b.kind);
    });
    hits.slice(0, 40).forEach(function (e) {
      var li = document.createElement("li"), kind = document.createElement("span"), a = document.createElement("a");
      kind.className = "kind"; kind.textContent = e.kind;
      a.href = root + e.href; a.textContent = e.name + (e.file ? " — " + e.file : "");
      li.append(kind, a); list.appendChild(li);
    });
    if (!hits.length) { var li = document.createElement("li"); li.textContent = "nothing matches"; list.appendChild(li); }
    list.hidden = false;
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && document.activeElement !== input) { e.preventDefault(); input.focus(); }
    if (e.key === "Escape") { list.hidden = true; }
  });
})();
