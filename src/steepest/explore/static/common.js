// steepest explore: what both views share (requests, the URL, number formats, line charts).
"use strict";

const common = (() => {
  // A JSON request to this server; a 4xx/5xx rejects with the server's message.
  async function api(path, body, method) {
    const init = { method: method || (body === undefined ? "GET" : "POST"), headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {  // no answer at all: the browser says only "Failed to fetch"
      throw new Error(`cannot reach the explorer's server at ${location.host}: is 'steepest explore' `
        + "still running? Start it again (on the same port) and retry; the link keeps the settings");
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.error) || `HTTP ${response.status}`);
      error.status = response.status;
      error.parameter = data && data.parameter;
      throw error;
    }
    return data;
  }

  // The settings live in the URL's hash, so that a link reproduces them.
  function readHash() {
    const out = {};
    for (const [k, v] of new URLSearchParams(location.hash.slice(1))) out[k] = v;
    return out;
  }
  function writeHash(values) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(values)) {
      if (v !== null && v !== undefined && v !== "") params.set(k, String(v));
    }
    history.replaceState(null, "", "#" + params.toString());
  }

  function fmt(x, digits) {
    if (x === null || x === undefined || !Number.isFinite(x)) return "—";
    const d = digits || 3;
    if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) return x.toExponential(d - 1);
    return String(Number(x.toPrecision(d)));
  }

  function niceStep(span, count) {
    const raw = span / Math.max(count, 1);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  }

  // Ticks of a log10 axis over [lo, hi] as [position, label]: powers of ten when two or more
  // are in view, else 1, 2, 5 times them, else finer mantissas, else two plain values.
  function logTicks(lo, hi) {
    const step = Math.max(1, Math.ceil((hi - lo) / 6)), ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push([t, "1e" + Math.round(t)]);
    if (ticks.length >= 2) return ticks;
    for (const mantissas of [[1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      const found = [];
      for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
        for (const m of mantissas) {
          const t = k + Math.log10(m);
          if (t >= lo && t <= hi) found.push([t, fmt(m * Math.pow(10, k), 2)]);
        }
      }
      if (found.length >= 2) return found;
    }
    const a = lo + 0.1 * (hi - lo), b = hi - 0.1 * (hi - lo);
    return [[a, fmt(Math.pow(10, a), 3)], [b, fmt(Math.pow(10, b), 3)]];
  }

  // A line chart on a canvas: series [{values, color, dash, width, label}], y on a log scale
  // when logY (values <= 0 are clipped to the floor); x is each value's index, or x[index]
  // where opts.x is given (the true frame of each point of a subsampled run). Returns the
  // drawn ranges.
  function lineChart(canvas, series, opts) {
    const o = Object.assign({ logY: false, xLabel: "", yLabel: "", floor: 1e-16, x: null }, opts || {});
    const xAt = o.x ? (i) => o.x[i] : (i) => i;
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    const pad = { l: 58, r: 20, t: 12, b: 34 };
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
    ctx.font = "11px system-ui, sans-serif";
    const legend = legendRows(ctx, series.filter((s) => s.label), W - pad.l - pad.r);
    pad.t += LEGEND_ROW * legend.length;  // the legend's rows sit above the plot
    const tr = (v) => (o.logY ? Math.log10(Math.max(v, o.floor)) : v);
    let xmax = o.x && o.x.length ? Math.max(1, o.x[o.x.length - 1]) : 1, ymin = Infinity, ymax = -Infinity;
    for (const s of series) {
      if (s.values.length) xmax = Math.max(xmax, xAt(s.values.length - 1));
      for (const v of s.values) {
        if (v === null || !Number.isFinite(v)) continue;
        const t = tr(v);
        if (t < ymin) ymin = t;
        if (t > ymax) ymax = t;
      }
    }
    if (!Number.isFinite(ymin)) { ymin = 0; ymax = 1; }
    if (ymax - ymin < 1e-12) { ymin -= 0.5; ymax += 0.5; }
    const span = ymax - ymin;
    ymin -= 0.04 * span; ymax += 0.04 * span;
    const X = (i) => pad.l + (i / xmax) * (W - pad.l - pad.r);
    const Y = (t) => H - pad.b - ((t - ymin) / (ymax - ymin)) * (H - pad.t - pad.b);
    // grid and ticks
    ctx.strokeStyle = "#e6e9ef"; ctx.fillStyle = "#5d6678"; ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
    let yticks = [];
    if (o.logY) yticks = logTicks(ymin, ymax);
    else {
      const ystep = niceStep(ymax - ymin, 5);
      for (let t = Math.ceil(ymin / ystep) * ystep; t <= ymax; t += ystep) yticks.push([t, fmt(t, 3)]);
    }
    for (const [t, label] of yticks) {
      ctx.beginPath(); ctx.moveTo(pad.l, Y(t)); ctx.lineTo(W - pad.r, Y(t)); ctx.stroke();
      ctx.fillText(label, pad.l - 4, Y(t));
    }
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    const xstep = Math.max(1, niceStep(xmax, 6)), xticks = [];  // x counts steps or frames
    for (let i = 0; i <= xmax; i += xstep) {
      ctx.beginPath(); ctx.moveTo(X(i), pad.t); ctx.lineTo(X(i), H - pad.b); ctx.stroke();
      ctx.fillText(String(Math.round(i)), X(i), H - pad.b + 4);
      xticks.push(String(Math.round(i)));
    }
    canvas.dataset.xTicks = xticks.join(" ");  // what was drawn, for tests
    canvas.dataset.yTicks = yticks.map((t) => t[1]).join(" ");
    ctx.fillText(o.xLabel, (pad.l + W - pad.r) / 2, H - 14);
    ctx.save(); ctx.translate(12, (pad.t + H - pad.b) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle"; ctx.fillText(o.yLabel, 0, 0); ctx.restore();
    ctx.strokeStyle = "#9aa3b2";
    ctx.strokeRect(pad.l, pad.t, W - pad.l - pad.r, H - pad.t - pad.b);
    // lines
    ctx.save();
    ctx.beginPath(); ctx.rect(pad.l, pad.t, W - pad.l - pad.r, H - pad.t - pad.b); ctx.clip();
    for (const s of series) {
      ctx.strokeStyle = s.color; ctx.lineWidth = s.width || 2; ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let open = false;
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) { open = false; return; }
        const px = X(xAt(i)), py = Y(tr(v));
        if (open) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        open = true;
      });
      ctx.stroke();
    }
    ctx.restore();
    ctx.setLineDash([]);
    drawLegend(ctx, legend, pad.l, LEGEND_TOP);
    // what was drawn, for tests: each entry's label, left, top and width
    canvas.dataset.legend = JSON.stringify(legend.flat().map((e) => [e.label, pad.l + e.x, LEGEND_TOP + LEGEND_ROW * e.row, e.width]));
    canvas.dataset.plotTop = String(pad.t);
    return { xmax, ymin, ymax };
  }

  // The legend in rows above the plot, as many entries to a row as its width takes, a label
  // too long for a row cut with "…". In the plot's corner it covered the curves and, with
  // long labels or many series, ran off the plot.
  const LEGEND_TOP = 4, LEGEND_ROW = 15, SWATCH = 24, GAP = 14;
  function legendRows(ctx, labelled, width) {
    const rows = [];
    let used = width;
    for (const s of labelled) {
      const label = fitText(ctx, s.label, width - SWATCH);
      const w = SWATCH + ctx.measureText(label).width;
      if (used + GAP + w > width) { rows.push([]); used = -GAP; }
      rows[rows.length - 1].push({ series: s, label, x: used + GAP, width: w, row: rows.length - 1 });
      used += GAP + w;
    }
    return rows;
  }
  function fitText(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let cut = text;
    while (cut.length > 1 && ctx.measureText(cut + "…").width > width) cut = cut.slice(0, -1);
    return cut + "…";
  }
  function drawLegend(ctx, rows, left, top) {
    ctx.textAlign = "left"; ctx.textBaseline = "middle"; ctx.font = "11px system-ui, sans-serif";
    for (const entry of rows.flat()) {
      const x = left + entry.x, y = top + LEGEND_ROW * entry.row + LEGEND_ROW / 2, s = entry.series;
      ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.setLineDash(s.dash || []);
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 18, y); ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = "#1d2330"; ctx.fillText(entry.label, x + SWATCH, y);
    }
  }

  // Resolvers waiting for the next finished redraw (tests and the benchmark await them).
  function drawSignal() {
    let waiting = [];
    return {
      wait() { return new Promise((resolve) => waiting.push(resolve)); },
      fire(info) { const w = waiting; waiting = []; for (const r of w) r(info); },
    };
  }

  // ------------------------------------------------------------------ refused settings
  // A bound as a message quotes it: 1e-6 rather than 0.000001 or 1.00e-6.
  function plain(x) { return x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x); }

  // A value as given (a link's text, or a number), as a number: NaN for anything else.
  function number(raw) {
    if (typeof raw === "number") return raw;
    return typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  }

  // Why `value` (given as `text`) may not be sent as `name`, a field of [bound.low, bound.high]
  // (whole numbers only where `integer`), in words that name it and quote it; null if it may.
  // The bounds are the server's own (GET /api/meta), so the page refuses what the server would.
  function refusal(name, text, value, bound, integer, where) {
    const said = `${name} = ${text}${where ? " " + where : ""}`;
    const range = `[${plain(bound.low)}, ${plain(bound.high)}]`;
    if (!Number.isFinite(value)) return `${said} is not a number (its range is ${range})`;
    if (value < bound.low || value > bound.high) return `${said} is outside its range ${range}`;
    if (integer && !Number.isInteger(value)) return `${said} is not a whole number (its range is ${range})`;
    return null;
  }

  // The controls of refused settings, outlined, with the reason beside each: marks is a list
  // of {parameter, message}; a parameter with no control of that id is skipped. A slider's
  // reason goes in its own row (made on first use), its value in red.
  function markFields(marks) {
    for (const el of document.querySelectorAll("[aria-invalid='true']")) el.removeAttribute("aria-invalid");
    for (const el of document.querySelectorAll("output.invalid")) el.classList.remove("invalid");
    for (const el of document.querySelectorAll(".field-error")) { el.hidden = true; el.textContent = ""; }
    for (const { parameter, message } of marks) {
      const field = parameter && document.getElementById(parameter);
      if (!field || !field.closest(".row")) continue;
      field.setAttribute("aria-invalid", "true");
      const out = document.getElementById(parameter + "-out");
      if (out) out.classList.add("invalid");
      let words = document.getElementById(parameter + "-error");
      if (!words) {
        words = document.createElement("p");
        words.id = parameter + "-error"; words.className = "field-error";
        field.closest(".row").appendChild(words);
        field.setAttribute("aria-describedby", words.id);
      }
      words.textContent = message.replace(/^explore: /, "");
      words.hidden = false;
    }
  }

  return { api, readHash, writeHash, fmt, lineChart, drawSignal, number, refusal, markFields };
})();
