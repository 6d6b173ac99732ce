// The style sheet and script of the `vfw verify --html` page (HTMLReport.swift puts them inline).
//
// The script reads the page data (`<script id="vfw-report">`: `single`, `provenance`, `entries` and `suite`, the
// JSON `vfw verify --json` writes for a suite) and draws, per reference, into `<main id="app">`:
//   header      the report header fields, tolerance, noise floor, mode, summary, failure source
//   chart       SVG, one column per tap in execution order, log10 y axis; series: the verdict run's max abs vs
//               PyTorch float32, the other run's (attribution: introduced / chained), max |swift - truth| and
//               max |torch - truth| (truth), the atol line; points green (pass) or red (fail), rings on failure
//               sources; 0 drawn on a strip under the axis, nan / inf on a strip above it
//   histograms  |swift - reference| by decade for every failing tap that has one
//   images      top-1 / top-k per batch item of the logits tap
//   table       every number per tap
// Hovering a chart column shows the tap's numbers. Once drawn, <html> gets `data-rendered="ok"` and
// `data-failure-marks` (JSON: per failure-source mark, its tap and its centre in page pixels), which
// tools/check_html_report.py compares with the screenshot. Data reaches the DOM only as text (textContent,
// setAttribute), never as markup.

enum HTMLReportAssets {
    static let css = #"""
    :root { --pass: #15803d; --fail: #dc2626; --main: #2563eb; --other: #7c3aed; --tswift: #ea580c; --ttorch: #6b7280; --ink: #111827; --mute: #6b7280; --line: #e5e7eb; }
    * { box-sizing: border-box; }
    body { margin: 0; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
    h1 { font-size: 20px; margin: 4px 0 8px; }
    h2 { font-size: 18px; margin: 28px 0 8px; display: flex; gap: 10px; align-items: center; }
    h3 { font-size: 15px; margin: 18px 0 6px; }
    .pass { color: var(--pass); } .fail { color: var(--fail); }
    .badge { font-size: 12px; font-weight: 700; padding: 2px 8px; border-radius: 10px; color: #fff; background: var(--pass); }
    .badge.fail, .badge.error { background: var(--fail); }
    .js #plain { display: none; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0 10px; }
    dl.facts dt { color: var(--mute); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
    .summary { font-weight: 600; margin: 6px 0; }
    .source { font-weight: 600; color: var(--fail); margin: 6px 0; overflow-wrap: anywhere; }
    .note { color: var(--mute); margin: 4px 0; }
    .chart-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 6px 4px 0; }
    svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--ink); }
    svg .axis text { fill: var(--mute); }
    svg .grid { stroke: var(--line); stroke-width: 1; }
    svg .frame { fill: none; stroke: #9ca3af; }
    svg .series { fill: none; stroke-width: 2; }
    svg .s-main { stroke: var(--main); } svg .s-other { stroke: var(--other); stroke-dasharray: 6 3; }
    svg .s-tswift { stroke: var(--tswift); stroke-dasharray: 2 3; } svg .s-ttorch { stroke: var(--ttorch); stroke-dasharray: 2 3; }
    svg .s-floor { stroke: var(--ttorch); stroke-width: 1; stroke-dasharray: 1 4; fill: none; }
    svg .tol { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 8 4; fill: none; }
    svg .dot-other { fill: var(--other); } svg .dot-tswift { fill: var(--tswift); } svg .dot-ttorch { fill: var(--ttorch); }
    svg .pt.pass { fill: var(--pass); } svg .pt.fail { fill: var(--fail); } svg .pt.none { fill: #fff; stroke: var(--fail); stroke-width: 2; }
    svg .mark { fill: none; stroke: var(--fail); stroke-width: 3; }
    svg .mark-label { fill: var(--fail); font-weight: 700; font-size: 12px; }
    svg .hit { fill: transparent; cursor: crosshair; } svg .hit:hover, svg .hit.hl { fill: rgba(37, 99, 235, 0.08); }
    svg .tick.failing { fill: var(--fail); font-weight: 700; }
    svg .bar { fill: #9ca3af; } svg .bar.over { fill: var(--fail); } svg .bar.exact { fill: var(--pass); }
    .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 6px 0 2px; font-size: 12px; color: var(--ink); }
    .legend span::before { content: ""; display: inline-block; width: 22px; height: 0; margin-right: 6px; vertical-align: middle; border-top: 3px solid; }
    .legend .l-main::before { border-color: var(--main); } .legend .l-other::before { border-top-style: dashed; border-color: var(--other); }
    .legend .l-tswift::before { border-top-style: dotted; border-color: var(--tswift); } .legend .l-ttorch::before { border-top-style: dotted; border-color: var(--ttorch); }
    .legend .l-floor::before { border-top: 1px dotted var(--ttorch); } .legend .l-tol::before { border-top-style: dashed; border-color: var(--fail); }
    .legend .l-pass::before { width: 9px; height: 9px; border: 0; border-radius: 50%; background: var(--pass); }
    .legend .l-fail::before { width: 9px; height: 9px; border: 0; border-radius: 50%; background: var(--fail); }
    .legend .l-mark::before { width: 12px; height: 12px; border: 3px solid var(--fail); border-radius: 50%; }
    .hists { display: flex; flex-wrap: wrap; gap: 12px 28px; }
    table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
    th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    th { background: #f9fafb; position: sticky; top: 0; }
    tr.failing td { background: #fef2f2; } tr.source td:first-child { font-weight: 700; color: var(--fail); }
    .table-wrap { overflow-x: auto; max-width: 100%; }
    #tooltip { position: absolute; z-index: 10; pointer-events: none; background: #111827; color: #f9fafb; padding: 8px 10px; border-radius: 6px; font-size: 12px; line-height: 1.4; box-shadow: 0 4px 16px rgba(0,0,0,.25); max-width: 460px; }
    #tooltip b { color: #fff; } #tooltip .k { color: #9ca3af; display: inline-block; min-width: 128px; }
    footer.prov { margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; }
    a { color: var(--main); }
    """#

    static let script = #"""
    (function () {
      'use strict';
      var root = document.documentElement;
      var data = JSON.parse(document.getElementById('vfw-report').textContent);
      var SVG = 'http://www.w3.org/2000/svg';  // the SVG namespace name, not a request

      function num(v) {
        if (typeof v === 'number') return v;
        if (v === 'nan') return NaN;
        if (v === 'inf') return Infinity;
        if (v === '-inf') return -Infinity;
        return undefined;
      }
      function fmt(v, digits) {
        v = num(v);
        if (v === undefined) return '-';
        if (Number.isNaN(v)) return 'nan';
        if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
        if (v === 0) return '0';
        return v.toExponential(digits === undefined ? 1 : digits);
      }
      function ratio(v) {
        v = num(v);
        if (v === undefined) return '-';
        if (!Number.isFinite(v)) return fmt(v) + 'x';
        return (v < 9.95 ? v.toFixed(1) : v.toFixed(0)) + 'x';
      }
      function shape(s) { return '[' + (s || []).join(', ') + ']'; }
      function el(tag, attrs) {
        var e = document.createElement(tag);
        for (var k in (attrs || {})) { if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]); }
        for (var i = 2; i < arguments.length; i++) {
          var c = arguments[i];
          if (c === undefined || c === null) continue;
          e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
        }
        return e;
      }
      function sv(tag, attrs, text) {
        var e = document.createElementNS(SVG, tag);
        for (var k in (attrs || {})) { if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]); }
        if (text !== undefined) e.textContent = text;
        return e;
      }
      function tolText(t) {
        switch (t.metric) {
          case 'allclose': return 'atol ' + fmt(t.atol, 0) + ' rtol ' + fmt(t.rtol, 0);
          case 'max-abs': return 'max abs <= ' + fmt(t.atol, 0);
          case 'cosine': return '1 - cosine <= ' + fmt(t.atol, 0);
          default: return 'nmse <= ' + fmt(t.atol, 0);
        }
      }
      var ruleText = {
        'allclose': '|a - e| <= atol + rtol*|e| for every element', 'max-abs': 'max |a - e| <= atol',
        'cosine': '1 - cos(a, e) <= atol', 'nmse': 'sum (a - e)^2 / sum e^2 <= atol'
      };
      function itemLabel(r, i) {
        return (Array.isArray(r.items) && typeof r.items[i] === 'string') ? r.items[i] : 'item ' + i;
      }
      // The other run's error for a tap: the module alone (introduced) when the verdict ran chained, else chained.
      function otherError(r, t) {
        if (!t.attribution) return undefined;
        return num(r.mode === 'chained' ? t.attribution.introduced : t.attribution.chained);
      }

      // ---- tooltip ----
      var tip = document.getElementById('tooltip');
      function showTip(ev, rows) {
        while (tip.firstChild) tip.removeChild(tip.firstChild);
        rows.forEach(function (r, i) {
          var line = el('div');
          if (i === 0) { line.appendChild(el('b', null, r[0])); }
          else { line.appendChild(el('span', { 'class': 'k' }, r[0])); line.appendChild(document.createTextNode(r[1])); }
          tip.appendChild(line);
        });
        tip.hidden = false;
        var x = ev.pageX + 14, y = ev.pageY + 14;
        var w = tip.offsetWidth, maxX = window.scrollX + document.documentElement.clientWidth - w - 8;
        tip.style.left = Math.max(4, Math.min(x, maxX)) + 'px';
        tip.style.top = y + 'px';
      }
      function hideTip() { tip.hidden = true; }
      function tapRows(r, t, sources) {
        var rows = [[t.name + '  ' + (t.passed ? 'PASS' : (sources.indexOf(t.name) >= 0 ? 'FAIL (failure source)' : 'FAIL'))]];
        rows.push(['shape', shape(t.shape)]);
        if (t.status !== 'compared') { rows.push(['problem', t.problem || t.status]); return rows; }
        rows.push(['max abs', fmt(t.max_abs, 3)]);
        rows.push(['max rel', fmt(t.max_rel, 3)]);
        rows.push(['mean abs', fmt(t.mean_abs, 3)]);
        var c = num(t.cosine);
        rows.push(['cosine', Number.isFinite(c) ? c.toFixed(9) : fmt(c)]);
        rows.push(['nmse', fmt(t.nmse, 3)]);
        rows.push(['mismatched', t.mismatched + ' of ' + t.element_count]);
        rows.push(['tolerance', tolText(t.tolerance)]);
        if (t.feed === 'isolated' && t.fed_from) rows.push(['fed from', 'reference ' + t.fed_from.join(' + ')]);
        if (t.truth) {
          rows.push(['swift vs truth', fmt(t.truth.swift, 3)]);
          rows.push(['torch vs truth', fmt(t.truth.torch, 3)]);
          rows.push(['swift / torch', ratio(t.truth.ratio)]);
        }
        if (t.attribution) {
          rows.push(['introduced (alone)', fmt(t.attribution.introduced, 3)]);
          rows.push(['chained', fmt(t.attribution.chained, 3)]);
          if (t.attribution.inherited !== undefined) rows.push(['inherited', fmt(t.attribution.inherited, 3)]);
          if (t.attribution.gain !== undefined) rows.push(['gain', ratio(t.attribution.gain)]);
        }
        if (t.decided_by) rows.push(['decided by', t.decided_by]);
        if (t.worst) rows.push(['worst at', shape(t.worst.index) + ': swift ' + fmt(t.worst.actual, 6) + ', reference ' + fmt(t.worst.expected, 6)]);
        if (t.worst_item !== undefined) rows.push(['worst image', itemLabel(r, t.worst_item)]);
        return rows;
      }

      // ---- the chart ----
      function chart(r, sectionIndex, sources) {
        var taps = r.taps, n = taps.length;
        var compared = function (t) { return t.status === 'compared'; };
        var series = [];
        series.push({ cls: 's-main', dot: null, label: 'Swift vs PyTorch float32, ' + r.mode + ' (max abs)',
                      v: taps.map(function (t) { return compared(t) ? num(t.max_abs) : undefined; }) });
        if (taps.some(function (t) { return t.attribution; })) {
          series.push({ cls: 's-other', dot: 'dot-other',
                        label: r.mode === 'chained' ? 'isolated: the module alone on PyTorch\u2019s inputs (what it introduces)'
                                                    : 'chained: end to end (what it introduces and inherits)',
                        v: taps.map(function (t) { return otherError(r, t); }) });
        }
        if (taps.some(function (t) { return t.truth; })) {
          series.push({ cls: 's-tswift', dot: 'dot-tswift', label: 'Swift vs float64 truth',
                        v: taps.map(function (t) { return t.truth ? num(t.truth.swift) : undefined; }) });
          series.push({ cls: 's-ttorch', dot: 'dot-ttorch', label: 'PyTorch float32 vs float64 truth (its own error)',
                        v: taps.map(function (t) { return t.truth ? num(t.truth.torch) : undefined; }) });
        }
        var k = r.noise_floor && num(r.noise_floor.factor);
        var floorLine = (k && taps.some(function (t) { return t.truth; }))
          ? taps.map(function (t) { return t.truth ? k * num(t.truth.torch) : undefined; }) : null;
        var tol = taps.map(function (t) { return (t.tolerance.metric === 'allclose' || t.tolerance.metric === 'max-abs') ? num(t.tolerance.atol) : undefined; });

        // y domain: every positive finite value shown, whole decades.
        var lo = Infinity, hi = -Infinity;
        function see(v) { if (v !== undefined && Number.isFinite(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
        series.forEach(function (s) { s.v.forEach(see); });
        tol.forEach(see);
        if (floorLine) floorLine.forEach(see);
        if (lo === Infinity) { lo = 1e-8; hi = 1e-4; }
        var dlo = Math.floor(Math.log10(lo)), dhi = Math.ceil(Math.log10(hi));
        if (dhi <= dlo) dhi = dlo + 1;

        // Columns fill the page's width (16 to 80 px each; narrower pages scroll); the bottom margin fits the
        // longest tap name written at -55 degrees.
        var L = 70, R = 20, T = 34, PH = 300;
        var avail = Math.max(600, (app.clientWidth || 1100) - 12);
        var step = Math.max(16, Math.min(80, (avail - L - R) / Math.max(1, n)));
        var longest = Math.max.apply(null, taps.map(function (t) { return t.name.length; }).concat([4]));
        var B = 44 + Math.min(200, longest * 5.4);
        var W = L + R + step * n, H = T + PH + B;
        var svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img',
                              'aria-label': 'error per tap, log scale', 'class': 'chart', 'data-section': sectionIndex });
        function x(i) { return L + step * (i + 0.5); }
        // 0 sits on a strip under the plot, nan / inf on one above it.
        function y(v) {
          if (Number.isNaN(v) || v === Infinity) return T - 14;
          if (v <= 0) return T + PH + 14;
          return T + PH - (Math.log10(v) - dlo) / (dhi - dlo) * PH;
        }
        var axis = sv('g', { 'class': 'axis' });
        for (var d = dlo; d <= dhi; d++) {
          var yy = y(Math.pow(10, d));
          axis.appendChild(sv('line', { x1: L, x2: W - R, y1: yy, y2: yy, 'class': 'grid' }));
          axis.appendChild(sv('text', { x: L - 6, y: yy + 4, 'text-anchor': 'end' }, '1e' + d));
        }
        axis.appendChild(sv('text', { x: L - 6, y: T + PH + 18, 'text-anchor': 'end' }, '0'));
        axis.appendChild(sv('text', { x: L - 6, y: T - 10, 'text-anchor': 'end' }, 'nan/inf'));
        axis.appendChild(sv('rect', { x: L, y: T, width: W - R - L, height: PH, 'class': 'frame' }));
        svg.appendChild(axis);

        var ticks = sv('g', { 'class': 'ticks' });
        var every = Math.max(1, Math.ceil(14 / step));
        taps.forEach(function (t, i) {
          if (i % every !== 0 && t.passed) return;  // failing taps always named
          ticks.appendChild(sv('text', { x: x(i), y: T + PH + 30, 'text-anchor': 'end', 'data-tap': t.name,
                                         transform: 'rotate(-55 ' + x(i) + ' ' + (T + PH + 30) + ')',
                                         'class': 'tick' + (t.passed ? '' : ' failing') }, t.name));
        });
        svg.appendChild(ticks);

        // Hover columns under the lines, so a point is never hidden by its own column.
        var hits = sv('g', { 'class': 'hits' });
        taps.forEach(function (t, i) {
          var h = sv('rect', { x: x(i) - step / 2, y: T - 24, width: step, height: PH + 44, 'class': 'hit', 'data-tap': t.name });
          h.addEventListener('mousemove', function (ev) { showTip(ev, tapRows(r, t, sources)); });
          h.addEventListener('mouseleave', hideTip);
          hits.appendChild(h);
        });
        svg.appendChild(hits);

        function polyline(values, cls) {
          var g = sv('g', { 'pointer-events': 'none' }), pts = [];
          function flush() { if (pts.length > 1) g.appendChild(sv('polyline', { points: pts.join(' '), 'class': cls })); pts = []; }
          // Lines join finite values only: a nan / inf or a missing value breaks them.
          values.forEach(function (v, i) { if (v === undefined || !Number.isFinite(v)) { flush(); return; } pts.push(x(i) + ',' + y(v).toFixed(1)); });
          flush();
          return g;
        }
        // The tolerance as a step line: each tap's atol across its column.
        var tg = sv('g', { 'pointer-events': 'none' });
        tol.forEach(function (v, i) {
          if (v === undefined || !(v > 0)) return;
          tg.appendChild(sv('line', { x1: x(i) - step / 2, x2: x(i) + step / 2, y1: y(v), y2: y(v), 'class': 'tol' }));
        });
        svg.appendChild(tg);
        if (floorLine) svg.appendChild(polyline(floorLine, 's-floor'));
        series.slice().reverse().forEach(function (s) {
          svg.appendChild(polyline(s.v, 'series ' + s.cls));
          if (s.dot) {
            var g = sv('g', { 'pointer-events': 'none' });
            s.v.forEach(function (v, i) { if (v !== undefined) g.appendChild(sv('circle', { cx: x(i), cy: y(v), r: 2.5, 'class': s.dot })); });
            svg.appendChild(g);
          }
        });
        // The verdict run's points, coloured by verdict; failure sources ringed and the first one labelled.
        var pg = sv('g', { 'pointer-events': 'none' });
        var marks = [];
        taps.forEach(function (t, i) {
          var v = series[0].v[i];
          var cy = v === undefined ? T - 14 : y(v);
          pg.appendChild(sv('circle', { cx: x(i), cy: cy, r: 4.5, 'class': 'pt ' + (v === undefined ? 'none' : (t.passed ? 'pass' : 'fail')), 'data-tap': t.name }));
          var si = sources.indexOf(t.name);
          if (si >= 0) {
            var ring = sv('circle', { cx: x(i), cy: cy, r: si === 0 ? 10 : 8, 'class': 'mark', 'data-tap': t.name });
            if (si === 0) ring.setAttribute('id', 'failure-mark-' + sectionIndex);
            pg.appendChild(ring);
            marks.push({ el: ring, tap: t.name, first: si === 0 });
            if (si === 0) {
              var lx = Math.min(Math.max(x(i), L + 60), W - R - 60);
              pg.appendChild(sv('text', { x: lx, y: Math.max(12, cy - 16), 'text-anchor': 'middle', 'class': 'mark-label' }, 'failure source: ' + t.name));
            }
          }
        });
        svg.appendChild(pg);

        var legend = el('div', { 'class': 'legend' });
        series.forEach(function (s) { legend.appendChild(el('span', { 'class': 'l-' + s.cls.slice(2) }, s.label)); });
        if (floorLine) legend.appendChild(el('span', { 'class': 'l-floor' }, 'noise floor: ' + k + ' x PyTorch\u2019s own error'));
        if (tol.some(function (v) { return v !== undefined; })) {
          legend.appendChild(el('span', { 'class': 'l-tol' }, r.tolerance.metric === 'allclose' ? 'atol (allclose allows atol + rtol\u00b7|reference| per element)' : 'atol'));
        }
        legend.appendChild(el('span', { 'class': 'l-pass' }, 'tap passes'));
        legend.appendChild(el('span', { 'class': 'l-fail' }, 'tap fails'));
        if (sources.length) legend.appendChild(el('span', { 'class': 'l-mark' }, 'failure source'));
        var wrap = el('div', { 'class': 'chart-wrap' }, svg);
        return { node: el('div', null, legend, wrap), marks: marks };
      }

      // ---- histograms ----
      function histogram(t) {
        var h = t.histogram, rows = [['0 (exact)', h.exact, 'exact']];
        if (h.tiny > 0) rows.push(['(0, 1e-10)', h.tiny, '']);
        var atol = num(t.tolerance.atol);
        var ds = h.decades || [];
        if (ds.length) {
          var byExp = {};
          ds.forEach(function (d) { byExp[d.exponent] = d.count; });
          for (var e = ds[0].exponent; e <= ds[ds.length - 1].exponent; e++) {
            rows.push(['[1e' + e + ', 1e' + (e + 1) + ')', byExp[e] || 0, Math.pow(10, e + 1) > atol ? 'over' : '']);
          }
        }
        if (h.non_finite > 0) rows.push(['nan / inf', h.non_finite, 'over']);
        var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }).concat([1]));
        var LW = 120, BW = 240, RH = 18, W = LW + BW + 70, H = rows.length * RH + 8;
        var svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'class': 'hist', 'data-tap': t.name });
        rows.forEach(function (r, i) {
          var yy = 4 + i * RH;
          svg.appendChild(sv('text', { x: LW - 6, y: yy + 12, 'text-anchor': 'end' }, r[0]));
          var w = r[1] === 0 ? 0 : Math.max(1.5, r[1] / max * BW);
          var bar = sv('rect', { x: LW, y: yy + 2, width: w, height: RH - 5, 'class': 'bar ' + r[2] });
          bar.appendChild(sv('title', null, r[0] + ': ' + r[1] + ' elements'));
          svg.appendChild(bar);
          svg.appendChild(sv('text', { x: LW + w + 6, y: yy + 12 }, String(r[1])));
        });
        return el('div', null, el('h3', null, '|swift \u2212 reference| at ' + t.name + ', ' + t.element_count + ' elements, by decade'), svg);
      }

      // ---- per-image agreement ----
      function agreement(r) {
        var out = [];
        r.taps.forEach(function (t) {
          var a = t.agreement;
          if (!a) return;
          out.push(el('h3', null, t.name + ' (logits): top-1 ' + a.top1_agreeing + ' of ' + a.items.length + ', top-' + a.k + ' ' + a.topk_agreeing + ' of ' + a.items.length + ' images agree'));
          var tb = el('table', { 'class': 'images' }, el('tr', null, el('th', null, 'image'), el('th', null, 'top-1'), el('th', null, 'swift top-' + a.k), el('th', null, 'reference top-' + a.k), el('th', null, 'top-' + a.k)));
          a.items.forEach(function (it, i) {
            var tr = el('tr', { 'class': (it.top1_agrees && it.topk_agrees) ? '' : 'failing' },
              el('td', null, itemLabel(r, i)),
              el('td', { 'class': it.top1_agrees ? 'pass' : 'fail' }, it.top1_agrees ? 'agrees (' + it.reference[0] + ')' : 'differs: swift ' + it.swift[0] + ', reference ' + it.reference[0]),
              el('td', null, it.swift.join(', ')), el('td', null, it.reference.join(', ')),
              el('td', { 'class': it.topk_agrees ? 'pass' : 'fail' }, it.topk_agrees ? 'agrees' : 'differs'));
            tb.appendChild(tr);
          });
          out.push(tb);
        });
        return out;
      }

      // ---- the table ----
      function table(r, sources) {
        var truth = r.taps.some(function (t) { return t.truth; });
        var attr = r.taps.some(function (t) { return t.attribution; });
        var iso = r.mode === 'isolated';
        var head = ['tap', 'shape'];
        if (iso) head.push('fed from');
        head = head.concat(['max abs', 'max rel', 'mean abs', 'cosine', 'mismatched', 'tolerance']);
        if (truth) head = head.concat(['swift vs truth', 'torch vs truth', 'ratio']);
        if (attr) head = head.concat([r.mode === 'chained' ? 'introduced' : 'chained', 'gain']);
        head.push('result');
        if (truth) head.push('by');
        var tb = el('table', { 'class': 'taps' });
        var hr = el('tr');
        head.forEach(function (h) { hr.appendChild(el('th', null, h)); });
        tb.appendChild(hr);
        r.taps.forEach(function (t) {
          var src = sources.indexOf(t.name) >= 0;
          var tr = el('tr', { 'class': (t.passed ? '' : 'failing') + (src ? ' source' : ''), 'data-tap': t.name });
          function td(s, n) { tr.appendChild(el('td', n ? { 'class': 'num' } : null, s)); }
          td(t.name); td(shape(t.shape));
          if (iso) td(t.feed === 'isolated' ? 'ref ' + (t.fed_from || []).join(' + ') : t.feed);
          if (t.status === 'compared') {
            td(fmt(t.max_abs), 1); td(fmt(t.max_rel), 1); td(fmt(t.mean_abs), 1);
            var c = num(t.cosine); td(Number.isFinite(c) ? c.toFixed(6) : fmt(c), 1);
            td(t.mismatched + ' / ' + t.element_count, 1);
          } else {
            td('-', 1); td('-', 1); td('-', 1); td('-', 1); td(t.status === 'missing' ? 'missing' : 'shape ' + shape(t.actual_shape));
          }
          td(tolText(t.tolerance));
          if (truth) {
            if (t.truth) { td(fmt(t.truth.swift), 1); td(fmt(t.truth.torch), 1); td(ratio(t.truth.ratio), 1); } else { td('-', 1); td('-', 1); td('-', 1); }
          }
          if (attr) {
            if (t.attribution) { td(fmt(otherError(r, t)), 1); td(t.attribution.gain === undefined ? '-' : ratio(t.attribution.gain), 1); } else { td('-', 1); td('-', 1); }
          }
          tr.appendChild(el('td', { 'class': t.passed ? 'pass' : 'fail' }, t.passed ? 'PASS' : (src ? 'FAIL *' : 'FAIL')));
          if (truth) td(t.decided_by || '');
          tb.appendChild(tr);
        });
        return el('div', { 'class': 'table-wrap' }, tb);
      }

      // ---- one reference ----
      function section(entry, info, i, allMarks) {
        var sec = el('section', { id: info.anchor, 'class': 'model' });
        var status = entry.status;
        sec.appendChild(el('h2', null, entry.model, el('span', { 'class': 'badge ' + status }, status.toUpperCase())));
        if (!entry.report) {
          sec.appendChild(el('p', { 'class': 'source' }, 'could not be verified: ' + (entry.error || '')));
          return sec;
        }
        var r = entry.report;
        var sources = r.failure_sources || [];
        var dl = el('dl', { 'class': 'facts' });
        function fact(k, v) { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); }
        (r.header || []).forEach(function (f) { fact(f.label, f.value); });
        fact('rule', r.tolerance.metric + ': ' + (ruleText[r.tolerance.metric] || ''));
        fact('tolerance', tolText(r.tolerance) + (r.tolerance_origin ? ' (' + r.tolerance_origin + ')' : ''));
        (r.tolerance_rules || []).forEach(function (x) { fact('', x.pattern + ': atol ' + fmt(x.atol, 0) + ' rtol ' + fmt(x.rtol, 0) + ' (--tolerance-for)'); });
        if (r.noise_floor) {
          var withTruth = r.taps.filter(function (t) { return t.truth; }).length;
          fact('noise floor', withTruth ? 'max |swift - truth| <= ' + num(r.noise_floor.factor) + ' x max |torch - truth| against the float64 truth (' + withTruth + ' of ' + r.taps.length + ' taps have one); a tap passes by either rule'
                                        : 'none: the reference has no float64 truth; the tolerance alone decides');
        } else if (r.strict) {
          fact('noise floor', 'off (--strict): the tolerance alone decides');
        }
        fact('mode', r.mode === 'chained' ? 'chained: the Swift model runs end to end on the reference input, so drift accumulates'
                                          : 'isolated: each tapped module runs alone on the reference activations of its inputs');
        fact('verdict', r.passed ? 'PASS' : 'FAIL');
        sec.appendChild(dl);
        sec.appendChild(el('p', { 'class': 'summary ' + (r.passed ? 'pass' : 'fail') }, r.summary));
        if (info.failure_source_line) sec.appendChild(el('p', { 'class': 'source', id: 'failure-source-' + i }, info.failure_source_line));
        if (info.also_failing && info.also_failing.length) sec.appendChild(el('p', { 'class': 'note' }, 'also failing on their own: ' + info.also_failing.join(', ')));
        (r.notes || []).forEach(function (n) { sec.appendChild(el('p', { 'class': 'note' }, n)); });

        sec.appendChild(el('h3', null, 'Error per tap, in execution order (log scale; hover a column for its numbers)'));
        var c = chart(r, i, sources);
        sec.appendChild(c.node);
        c.marks.forEach(function (m) { allMarks.push({ section: i, model: entry.model, tap: m.tap, first: m.first, el: m.el }); });

        var hs = r.taps.filter(function (t) { return !t.passed && t.histogram; });
        if (hs.length) {
          sec.appendChild(el('h3', null, 'Failing taps: where the errors lie'));
          var box = el('div', { 'class': 'hists' });
          hs.forEach(function (t) { box.appendChild(histogram(t)); });
          sec.appendChild(box);
        }
        agreement(r).forEach(function (n) { sec.appendChild(n); });
        sec.appendChild(el('h3', null, 'Every tap'));
        sec.appendChild(table(r, sources));
        return sec;
      }

      // ---- the page ----
      var app = document.getElementById('app');
      var suite = data.suite, entries = suite.references;
      var allMarks = [];
      if (!data.single) {
        app.appendChild(el('p', { 'class': 'summary ' + (suite.passed ? 'pass' : 'fail') }, suite.summary + ' (under ' + suite.root + ')'));
        var st = el('table', { 'class': 'suite' }, el('tr', null, el('th', null, 'model'), el('th', null, 'reference'), el('th', null, 'taps'),
                    el('th', null, 'worst max abs'), el('th', null, 'result'), el('th', null, 'failure source / problem')));
        entries.forEach(function (e, i) {
          var r = e.report, info = data.entries[i];
          var worst = '-', detail = e.error || '';
          if (r) {
            var w = null;
            r.taps.forEach(function (t) { if (t.status === 'compared' && (w === null || !(num(t.max_abs) <= num(w.max_abs)))) w = t; });
            if (w) worst = fmt(w.max_abs) + ' at ' + w.name;
            detail = r.passed ? '' : (r.failure_source || r.first_failure || '');
          }
          st.appendChild(el('tr', { 'class': e.status === 'pass' ? '' : 'failing' },
            el('td', null, el('a', { href: '#' + info.anchor }, e.model)), el('td', null, e.directory),
            el('td', { 'class': 'num' }, r ? String(r.taps.length) : '-'), el('td', null, worst),
            el('td', { 'class': e.status === 'pass' ? 'pass' : 'fail' }, e.status.toUpperCase()), el('td', null, detail)));
        });
        app.appendChild(el('div', { 'class': 'table-wrap' }, st));
      }
      entries.forEach(function (e, i) { app.appendChild(section(e, data.entries[i], i, allMarks)); });

      var prov = el('footer', { 'class': 'prov' }, el('h3', null, 'Provenance'));
      var pdl = el('dl', { 'class': 'facts' });
      (data.provenance || []).forEach(function (f) { pdl.appendChild(el('dt', null, f.label)); pdl.appendChild(el('dd', null, f.value)); });
      entries.forEach(function (e) {
        var by = e.report && (e.report.header || []).filter(function (f) { return f.label === 'computed by'; })[0];
        pdl.appendChild(el('dt', null, e.model));
        pdl.appendChild(el('dd', null, e.directory + (by ? ': reference computed by ' + by.value : '')));
      });
      prov.appendChild(pdl);
      app.appendChild(prov);

      // Where the failure-source marks ended up, in page pixels (for the browser check and the screenshot), once
      // the drawn page has replaced the plain summary.
      root.classList.add('js');
      var placed = allMarks.map(function (m) {
        var b = m.el.getBoundingClientRect();
        return { section: m.section, model: m.model, tap: m.tap, first: m.first,
                 x: Math.round(b.left + b.width / 2 + window.scrollX), y: Math.round(b.top + b.height / 2 + window.scrollY) };
      });
      root.setAttribute('data-failure-marks', JSON.stringify(placed));
      root.setAttribute('data-rendered', 'ok');
    })();
    """#
}
