// steepest explore, the optimizer view: controls -> POST /api/run -> trajectory, loss, rate, words.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const PIN_COLORS = ["#d9480f", "#2b8a3e", "#862e9c", "#0b7285", "#c2255c", "#5c940d"];
  const RUN_COLOR = "#111111";
  // Sliders: how the slider position maps to the value (log10 for lr and kappa).
  const SLIDERS = {
    kappa: "log", lr: "log", momentum: "lin", beta1: "lin", beta2: "lin", alpha: "lin",
    rho: "lin", power: "lin", gamma: "lin", step_size: "int", warmup_steps: "int", steps: "int",
  };
  const SELECTS = ["problem", "method", "line_search", "schedule"];
  const INTEGERS = new Set(["step_size", "warmup_steps", "steps"]);

  const state = {};
  let meta = null, contour = null, last = null, pins = [];
  // A link's slider values that lie beyond the bounds the server checks: id -> {text, message}.
  // The slider keeps its previous value (or the default) and shows the text, marked; nothing is
  // run while a marked slider is in use, until it is moved. (They had become the default in
  // silence: lr=1e9 ran with lr = 0.05.)
  let linked = {};
  // The refusals of the last run asked for, {parameter, message}: the page's own check of what
  // it was about to send, or the server's answer (cleared by an accepted run).
  let refused = [];
  const contourCache = new Map();
  const drawn = common.drawSignal();
  let inflight = false, pending = false, sequence = 0, draws = 0;

  // ------------------------------------------------------------------ settings <-> controls
  function sliderValue(id) {
    const raw = parseFloat($(id).value);
    if (SLIDERS[id] === "log") return Number(Math.pow(10, raw).toPrecision(4));
    if (SLIDERS[id] === "int") return Math.round(raw);
    return raw;
  }
  function setSlider(id, value) {
    $(id).value = SLIDERS[id] === "log" ? Math.log10(value) : value;
    $(id + "-out").textContent = common.fmt(value, 3);
  }
  function methodInfo(name) {
    return meta.methods.find((m) => m.name === name) || { lr: false, options: [] };
  }

  // Settings from the hash, or from one pin of it: every value checked as the controls would
  // have it. Links are edited by hand, and a pin of [null] had thrown in the pin list (no page),
  // {"method": "gd"} drawn as "gd lr=— (undefined)", and an x0 out of bounds or for a 31-D
  // problem left the plots blank behind an HTTP 400. A slider value of the link itself that the
  // server would refuse goes into `refusals` (and the slider keeps its value); a pin's, which
  // no slider shows, becomes the default as before.
  function settingsFrom(h, refusals) {
    const s = {}, b = meta.bounds;
    for (const id of Object.keys(SLIDERS)) {
      const given = h[id] !== undefined && h[id] !== null && h[id] !== "";
      if (refusals && given) {
        const v = common.number(h[id]), text = String(h[id]);
        const why = common.refusal(id, text, v, b[id], INTEGERS.has(id), "from the link");
        if (!why) { s[id] = v; continue; }
        refusals[id] = { text, message: why };
        s[id] = id in state ? state[id] : b[id].default;
        continue;
      }
      const v = parseFloat(h[id]);
      const ok = given && Number.isFinite(v) && v >= b[id].low && v <= b[id].high;
      s[id] = ok ? (INTEGERS.has(id) ? Math.round(v) : v) : b[id].default;
    }
    const names = { problem: meta.problems.map((p) => p.name), method: meta.methods.map((m) => m.name),
                    line_search: ["none", "armijo", "wolfe"], schedule: meta.schedules };
    for (const id of SELECTS) s[id] = names[id].includes(h[id]) ? h[id] : names[id][0];
    if (!h.lr || (refusals && refusals.lr && !("lr" in state))) s.lr = methodInfo(s.method).default_lr || s.lr;
    s.x0 = null;
    const xy = Array.isArray(h.x0) ? h.x0 : typeof h.x0 === "string" ? h.x0.split(",") : [];
    const plottable = meta.problems.find((p) => p.name === s.problem).plottable;
    const inside = (v) => Number.isFinite(v) && Math.abs(v) <= meta.max_abs_x0;
    if (plottable && xy.length === 2 && xy.map(parseFloat).every(inside)) s.x0 = xy.map(parseFloat);
    return s;
  }
  function fromHash() {
    const h = common.readHash(), refusals = {};
    Object.assign(state, settingsFrom(h, refusals));
    linked = refusals;
    refused = [];
    let listed = [];
    try { listed = JSON.parse(h.pins || "[]"); } catch (e) { listed = []; }
    if (!Array.isArray(listed)) listed = [];
    pins = listed.filter((s) => s !== null && typeof s === "object" && !Array.isArray(s))
      .slice(0, PIN_COLORS.length).map((s, k) => ({ settings: settingsFrom(s), color: PIN_COLORS[k] }));
  }
  function toHash() {
    const out = {};
    for (const id of SELECTS) out[id] = state[id];
    for (const id of Object.keys(SLIDERS)) out[id] = id in linked ? linked[id].text : state[id];  // as given
    out.x0 = state.x0 ? state.x0.map((v) => Number(v.toPrecision(5))).join(",") : "";
    out.pins = pins.length ? JSON.stringify(pins.map((p) => p.settings)) : "";
    common.writeHash(out);
  }

  function showControls() {
    for (const id of SELECTS) $(id).value = state[id];
    for (const id of Object.keys(SLIDERS)) setSlider(id, state[id]);
    const info = methodInfo(state.method);
    const show = (id, on) => $("row-" + id).classList.toggle("hidden", !on);
    show("kappa", state.problem === "quadratic");
    show("lr", info.lr);
    for (const id of ["momentum", "beta1", "beta2", "alpha", "rho", "line_search"]) show(id, info.options.includes(id));
    const searching = info.options.includes("line_search") && state.line_search !== "none";
    show("schedule", info.lr && !searching);
    show("power", info.lr && !searching && state.schedule === "inverse_power");
    show("step_size", info.lr && !searching && state.schedule === "step");
    show("gamma", info.lr && !searching && state.schedule === "step");
    show("warmup_steps", info.lr && !searching && state.schedule === "warmup");
    $("method-note").textContent = info.lr ? (searching ? "the line search scales lr at each step" : "")
      : `${state.method} chooses its own steps: no lr to set`;
    $("x0-text").textContent = state.x0 ? state.x0.map((v) => common.fmt(v, 4)).join(", ") : "problem's default";
    for (const id of Object.keys(linked)) $(id + "-out").textContent = linked[id].text;  // what was refused
    showMarks();
  }

  // ------------------------------------------------------------------ refused settings
  // A control counts while its row is shown (gd has no momentum: a bad momentum in the link
  // stops nothing until a method that uses it is chosen).
  function used(id) { const row = $(id).closest(".row"); return !row.classList.contains("hidden"); }

  // What stops `settings` from being run: the link's refused values in use, and any value of
  // the request outside the bounds the server checks (nothing is sent that it would refuse).
  function refusalsOf(settings) {
    const out = [];
    for (const [id, r] of Object.entries(linked)) if (used(id)) out.push({ parameter: id, message: r.message });
    for (const [id, v] of Object.entries(runBody(settings))) {
      if (!(id in meta.bounds) || id in linked) continue;
      const why = common.refusal(id, String(v), v, meta.bounds[id], INTEGERS.has(id));
      if (why) out.push({ parameter: id, message: why });
    }
    return out;
  }

  function showMarks() {
    const marks = Object.keys(linked).filter(used).map((id) => ({ parameter: id, message: linked[id].message }));
    for (const r of refused) if (!marks.some((m) => m.parameter === r.parameter)) marks.push(r);
    common.markFields(marks);
  }

  // A control moved: its mark is over (the run it starts says whether the new value is taken).
  function unmark(id) {
    delete linked[id];
    refused = refused.filter((r) => r.parameter !== id);
    showMarks();
  }

  // The plots are of `last`, the last accepted run; while the current settings are not (refused,
  // or not run), they are greyed out and say whose they are. They stayed drawn under
  // the error as if they were the result of the refused settings.
  function setStale(on) {
    $("plots").classList.toggle("stale", on);
    const text = !on ? "" : last
      ? `Greyed out: these are the plots of the last accepted settings (${describe(last.settings)}), not of the current ones, which were not run.`
      : "No accepted run yet: nothing is drawn until the current settings are accepted.";
    for (const note of document.querySelectorAll("#plots .stale-note")) { note.textContent = text; note.hidden = !on; }
  }
  function describe(s) {
    return `${pinLabel(s)} on ${s.problem}` + (s.problem === "quadratic" ? `, κ = ${common.fmt(s.kappa, 3)}` : "")
      + `, ${s.steps} steps`;
  }

  function runBody(settings) {
    const info = methodInfo(settings.method);
    const body = { problem: settings.problem, method: settings.method, steps: settings.steps };
    if (settings.problem === "quadratic") body.kappa = settings.kappa;
    if (settings.x0) body.x0 = settings.x0;
    if (info.lr) {
      body.lr = settings.lr; body.schedule = settings.schedule;
      for (const k of ["power", "step_size", "gamma", "warmup_steps"]) body[k] = settings[k];
    }
    for (const k of info.options) body[k] = settings[k];
    if (info.options.includes("beta1")) body.beta2 = settings.beta2;
    if (body.line_search && body.line_search !== "none") body.schedule = "constant";
    return body;
  }

  // ------------------------------------------------------------------ requests
  async function loadContour() {
    const key = state.problem === "quadratic" ? `quadratic:${state.kappa}` : state.problem;
    if (!contourCache.has(key)) {
      const q = new URLSearchParams({ problem: state.problem });
      if (state.problem === "quadratic") q.set("kappa", state.kappa);
      const data = await common.api("/api/contour?" + q.toString());
      data.key = key;
      data.image = data.window ? shadeImage(data) : null;
      contourCache.set(key, data);
      if (contourCache.size > 12) contourCache.delete(contourCache.keys().next().value);
    }
    contour = contourCache.get(key);
  }

  function requestRun() {
    toHash();
    if (inflight) { pending = true; return; }
    pending = false;
    const settings = JSON.parse(JSON.stringify(state));  // what this result will be the run of
    const refusals = refusalsOf(settings);
    if (refusals.length) {  // refused here, by the server's bounds: nothing is sent
      const word = refusals.length > 1 ? "sliders" : "slider";
      refuse(refusals, { message: `Not run: ${refusals.map((r) => r.message).join("; ")}. `
        + `Move the marked ${word} to choose a value.` });
      return;
    }
    inflight = true;
    const mine = ++sequence;
    const started = performance.now();
    loadContour()
      .then(() => common.api("/api/run", runBody(settings)))
      .then((result) => {
        if (mine !== sequence) return;
        result.settings = settings;
        result.contour = contour;  // the plot it is drawn on, whatever is asked for next
        last = result;
        refused = [];
        showMarks();
        showError(null);
        setStale(false);
        draw();
        drawn.fire({ ms: performance.now() - started, nit: result.nit });
      })
      .catch((error) => {
        refuse(error.parameter ? [{ parameter: error.parameter, message: error.message }] : [], error);
      })
      .finally(() => { inflight = false; if (pending) requestRun(); });
  }

  function refuse(refusals, error) {
    refused = refusals;
    for (const r of refusals) if (r.parameter in SLIDERS && !(r.parameter in linked)) setSlider(r.parameter, state[r.parameter]);
    showMarks();
    showError(error);
    setStale(true);
    document.body.dataset.ready = "1";
    drawn.fire({ error: error.message });
  }

  async function runPinned(pin) {
    try { pin.result = await common.api("/api/run", runBody(pin.settings)); }
    catch (error) { pin.error = error.message; }
  }

  function showError(error) {
    const box = $("error");
    if (!error) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.textContent = (error.status ? `The server refused the request (HTTP ${error.status}): ` : "") + error.message;
  }

  // ------------------------------------------------------------------ drawing
  const STOPS = [[32, 52, 110], [44, 112, 170], [94, 170, 170], [180, 214, 160], [250, 244, 200]];
  function colour(t) {
    const s = Math.min(Math.max(t, 0), 1) * (STOPS.length - 1);
    const i = Math.min(Math.floor(s), STOPS.length - 2), f = s - i;
    return STOPS[i].map((c, k) => c + f * (STOPS[i + 1][k] - c));
  }

  // The contour plot as an image at canvas resolution: bilinear shades, colour bands, and a
  // dark line where the band changes (the level curves).
  function shadeImage(data) {
    const canvas = $("contour"), W = canvas.width, H = canvas.height, n = data.n;
    const bands = 18, shade = data.shades;
    const band = new Uint8Array(W * H);
    const value = new Float32Array(W * H);
    for (let py = 0; py < H; py++) {
      const gy = (1 - (py + 0.5) / H) * (n - 1), j = Math.min(Math.floor(gy), n - 2), fy = gy - j;
      for (let px = 0; px < W; px++) {
        const gx = ((px + 0.5) / W) * (n - 1), i = Math.min(Math.floor(gx), n - 2), fx = gx - i;
        const a = shade[j * n + i], b = shade[j * n + i + 1], c = shade[(j + 1) * n + i], d = shade[(j + 1) * n + i + 1];
        const v = ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy) / data.levels;
        value[py * W + px] = v;
        band[py * W + px] = Math.min(bands - 1, Math.floor(v * bands));
      }
    }
    const image = new ImageData(W, H);
    for (let p = 0; p < W * H; p++) {
      const edge = (p % W < W - 1 && band[p + 1] !== band[p]) || (p + W < W * H && band[p + W] !== band[p]);
      const rgb = colour((band[p] + 0.5) / bands);
      const k = edge ? 0.72 : 1;
      image.data[4 * p] = rgb[0] * k; image.data[4 * p + 1] = rgb[1] * k;
      image.data[4 * p + 2] = rgb[2] * k; image.data[4 * p + 3] = 255;
    }
    return image;
  }

  // The plot on screen: the last accepted run's (its problem may not be the one now chosen).
  function plotted() { return last ? last.contour : null; }
  function toPixel(x, y) {
    const [[x0, x1], [y0, y1]] = plotted().window, c = $("contour");
    const clamp = (v) => Math.max(-1e5, Math.min(1e5, v));
    return [clamp(((x - x0) / (x1 - x0)) * c.width), clamp(c.height - ((y - y0) / (y1 - y0)) * c.height)];
  }
  function toWorld(px, py) {
    const [[x0, x1], [y0, y1]] = plotted().window, c = $("contour");
    return [x0 + (px / c.width) * (x1 - x0), y0 + (1 - py / c.height) * (y1 - y0)];
  }

  function drawPath(ctx, path, color, width) {
    if (!path || !path.length) return;
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.beginPath();
    path.forEach((p, i) => {
      if (p === null || p[0] === null || p[1] === null) return;
      const [px, py] = toPixel(p[0], p[1]);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
    const [sx, sy] = toPixel(path[0][0], path[0][1]);
    ctx.fillStyle = color; ctx.beginPath(); ctx.arc(sx, sy, 5, 0, 2 * Math.PI); ctx.fill();
    const end = path[path.length - 1];
    if (end && end[0] !== null) {
      const [ex, ey] = toPixel(end[0], end[1]);
      ctx.lineWidth = 2.5; ctx.beginPath();
      ctx.moveTo(ex - 5, ey - 5); ctx.lineTo(ex + 5, ey + 5); ctx.moveTo(ex + 5, ey - 5); ctx.lineTo(ex - 5, ey + 5);
      ctx.stroke();
    }
  }

  // The plots show the last accepted run: a pin is drawn where its problem is that run's (the
  // current settings may be another's, refused or not yet run).
  function shown() { return last ? last.settings : state; }
  function samePlot(settings) {
    const s = shown();
    return settings.problem === s.problem && (s.problem !== "quadratic" || settings.kappa === s.kappa);
  }

  function drawContour() {
    const canvas = $("contour"), ctx = canvas.getContext("2d");
    const contour = plotted();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!contour || !contour.window) {
      ctx.fillStyle = "#f3f5f8"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#5d6678"; ctx.font = "14px system-ui, sans-serif"; ctx.textAlign = "center";
      ctx.fillText(`${shown().problem} has ${contour ? contour.dim : "?"} dimensions: no contour plot`, canvas.width / 2, canvas.height / 2);
      $("contour-note").textContent = "The loss curve, rate and diagnostics below still apply; the start is the problem's own.";
      return;
    }
    ctx.putImageData(contour.image, 0, 0);
    ctx.fillStyle = "#fff"; ctx.strokeStyle = "#111"; ctx.lineWidth = 1.5;
    for (const m of contour.minimizers) {
      const [px, py] = toPixel(m[0], m[1]);
      ctx.beginPath(); ctx.arc(px, py, 4, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
    for (const s of contour.saddle_points) {
      const [px, py] = toPixel(s[0], s[1]);
      ctx.beginPath(); ctx.moveTo(px, py - 6); ctx.lineTo(px + 6, py); ctx.lineTo(px, py + 6); ctx.lineTo(px - 6, py);
      ctx.closePath(); ctx.fill(); ctx.stroke();
    }
    for (const pin of pins) if (pin.result && samePlot(pin.settings)) drawPath(ctx, pin.result.path, pin.color, 2);
    if (last && last.path) drawPath(ctx, last.path, RUN_COLOR, 2);
    const [[x0, x1], [y0, y1]] = contour.window;
    $("contour-note").textContent = `x ∈ [${common.fmt(x0)}, ${common.fmt(x1)}], y ∈ [${common.fmt(y0)}, ${common.fmt(y1)}];`
      + " ● start, × end, ○ minimiser" + (contour.saddle_points.length ? ", ◇ saddle point" : "");
  }

  function gaps(result) {
    if (!result) return [];
    const fmin = result.f_min;
    return result.fvals.map((f) => (f === null ? null : (fmin === null ? f : f - fmin)));
  }

  function drawLoss() {
    const canvas = $("loss");
    const logY = last && last.f_min !== null;
    const series = [];
    for (const pin of pins) {
      if (pin.result && samePlot(pin.settings)) series.push({ values: gaps(pin.result), color: pin.color, label: pinLabel(pin.settings) });
    }
    if (last) {
      series.push({ values: gaps(last), color: RUN_COLOR, label: "this run" });
      const theory = last.rate.theory, g = gaps(last);
      if (logY && theory !== null && theory < 1 && g.length && g[0] > 0) {
        series.push({ values: g.map((_, k) => g[0] * Math.pow(theory, k)), color: "#868e96", dash: [6, 4], width: 1.5, label: "theory: e₀ρᵏ" });
      }
    }
    common.lineChart(canvas, series, { logY, xLabel: "iteration k", yLabel: logY ? "f(x_k) − f*" : "f(x_k)" });
    canvas.dataset.signature = last ? `${last.fvals.length}:${last.fvals[last.fvals.length - 1]}` : "";
  }

  function drawRate() {
    const r = last.rate;
    const rows = [["observed ρ̂ (fit of f − f*)", r.observed === null ? "— (no linear stretch to fit)" : common.fmt(r.observed, 4)],
      ["theory ρ", r.theory === null ? "—" : `${common.fmt(r.theory, 4)} (${r.theory_basis})`]];
    if (r.best) {
      rows.push(["best constant step", `ρ = ${common.fmt(r.best.rate, 4)} at lr = ${common.fmt(r.best.lr, 4)}`
        + (r.best.momentum !== undefined ? `, momentum = ${common.fmt(r.best.momentum, 4)}` : "")]);
    }
    $("rate").innerHTML = "";
    const table = document.createElement("table");
    for (const [k, v] of rows) {
      const tr = table.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = v;
    }
    $("rate").appendChild(table);
    if (r.theory_note) {
      const p = document.createElement("p"); p.className = "note"; p.textContent = r.theory_note; $("rate").appendChild(p);
    }
  }

  function drawDiagnosis() {
    const box = $("diagnosis");
    box.innerHTML = "";
    const badge = document.createElement("span");
    badge.className = "verdict " + last.verdict.split(",")[0];
    badge.id = "verdict";
    badge.textContent = `${last.verdict} after ${last.nit} iterations`;
    box.appendChild(badge);
    const list = document.createElement("ul");
    for (const line of last.diagnostics) { const li = document.createElement("li"); li.textContent = line; list.appendChild(li); }
    box.appendChild(list);
    if (last.suggested_lr !== null && methodInfo(state.method).lr) {
      const button = document.createElement("button");
      button.id = "use-suggested";
      button.textContent = `Use the suggested lr = ${common.fmt(last.suggested_lr, 3)}`;
      button.addEventListener("click", () => { unmark("lr"); state.lr = Number(last.suggested_lr.toPrecision(4)); showControls(); requestRun(); });
      box.appendChild(button);
    }
  }

  function pinLabel(s) {
    const info = methodInfo(s.method);
    let text = s.method;
    if (info.lr && !(s.line_search && s.line_search !== "none" && info.options.includes("line_search"))) {
      text += ` lr=${common.fmt(s.lr, 3)}` + (s.schedule !== "constant" ? ` (${s.schedule})` : "");
    }
    if (info.options.includes("momentum")) text += ` m=${common.fmt(s.momentum, 3)}`;
    if (info.options.includes("line_search") && s.line_search !== "none") text += ` ${s.line_search}`;
    return text;
  }

  function drawPins() {
    const list = $("pins").querySelector("ul");
    list.innerHTML = "";
    pins.forEach((pin, k) => {
      const li = document.createElement("li");
      const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = pin.color;
      const text = document.createElement("span"); text.className = "text";
      const r = pin.result;
      text.textContent = `${pinLabel(pin.settings)}: ` + (r ? `${r.verdict}, ${r.nit} it` : pin.error || "…")
        + (samePlot(pin.settings) ? "" : ` (${pin.settings.problem}, not drawn)`);
      const x = document.createElement("button"); x.textContent = "×"; x.title = "unpin";
      x.addEventListener("click", () => { pins.splice(k, 1); recolour(); toHash(); draw(); });
      li.append(sw, text, x);
      list.appendChild(li);
    });
    $("pin").disabled = pins.length >= PIN_COLORS.length;
  }
  function recolour() { pins.forEach((p, k) => { p.color = PIN_COLORS[k]; }); }

  function draw() {
    drawContour();
    if (last) { drawLoss(); drawRate(); drawDiagnosis(); }
    drawPins();
    draws += 1;
    const c = $("contour");
    c.dataset.draws = String(draws);
    c.dataset.points = last && last.path ? String(last.path.length) : "0";
    c.dataset.start = last && last.path ? JSON.stringify(last.path[0]) : "";
    document.body.dataset.ready = "1";
  }

  // ------------------------------------------------------------------ events
  function wire() {
    for (const id of Object.keys(SLIDERS)) {
      $(id).addEventListener("input", () => {
        state[id] = sliderValue(id);
        $(id + "-out").textContent = common.fmt(state[id], 3);
        unmark(id);
        requestRun();
      });
    }
    for (const id of SELECTS) {
      $(id).addEventListener("change", () => {
        state[id] = $(id).value;
        refused = refused.filter((r) => r.parameter !== id);
        if (id === "problem") state.x0 = null;
        if (id === "method" && methodInfo(state.method).default_lr) {  // a new method starts at its own lr
          state.lr = methodInfo(state.method).default_lr;
          delete linked.lr;
        }
        showControls();
        requestRun();
      });
    }
    const canvas = $("contour");
    let dragging = false;
    const setStart = (event) => {
      if (!plotted() || !plotted().window) return;
      const rect = canvas.getBoundingClientRect();
      // a drag past the edge stops there: beyond it the start (and often the run) was off the plot
      const within = (v, n) => Math.min(Math.max(v, 0), n);
      const px = within(((event.clientX - rect.left) / rect.width) * canvas.width, canvas.width);
      const py = within(((event.clientY - rect.top) / rect.height) * canvas.height, canvas.height);
      state.x0 = toWorld(px, py);
      showControls();
      requestRun();
    };
    canvas.addEventListener("pointerdown", (e) => { dragging = true; canvas.setPointerCapture(e.pointerId); setStart(e); });
    canvas.addEventListener("pointermove", (e) => { if (dragging) setStart(e); });
    canvas.addEventListener("pointerup", () => { dragging = false; });
    $("reset-x0").addEventListener("click", () => { state.x0 = null; showControls(); requestRun(); });
    $("pin").addEventListener("click", () => {
      if (!last || pins.length >= PIN_COLORS.length) return;
      const settings = JSON.parse(JSON.stringify(last.settings));  // the run on screen
      if (!settings.x0 && last.path) settings.x0 = last.path[0];
      pins.push({ settings, result: last, color: PIN_COLORS[pins.length] });
      toHash(); draw();
    });
    $("clear-pins").addEventListener("click", () => { pins = []; toHash(); draw(); });
    $("copy-link").addEventListener("click", async () => {
      toHash();
      try { await navigator.clipboard.writeText(location.href); $("copy-link").textContent = "Copied"; }
      catch (e) { $("copy-link").textContent = "Link in the address bar"; }
      setTimeout(() => { $("copy-link").textContent = "Copy link"; }, 1500);
    });
    // replaceState (our own writes) fires no hashchange; a link pasted into this tab does
    window.addEventListener("hashchange", reload);
  }
  function reload() { fromHash(); showControls(); Promise.all(pins.map(runPinned)).then(requestRun); }

  async function start() {
    try {
      meta = await common.api("/api/meta");
    } catch (error) { showError(error); return; }
    $("problem").innerHTML = meta.problems.map((p) => `<option value="${p.name}">${p.name}${p.plottable ? "" : ` (${p.dim}-D)`}</option>`).join("");
    $("method").innerHTML = meta.methods.map((m) => `<option value="${m.name}">${m.name}</option>`).join("");
    for (const id of Object.keys(SLIDERS)) {  // the bounds the server checks, and no others
      const b = meta.bounds[id], log = SLIDERS[id] === "log";
      $(id).min = log ? Math.log10(b.low) : b.low;
      $(id).max = log ? Math.log10(b.high) : b.high;
    }
    fromHash();
    showControls();
    wire();
    await Promise.all(pins.map(runPinned));
    requestRun();
  }

  window.explorer = {
    state, nextDraw: () => drawn.wait(), get last() { return last; }, get pins() { return pins; },
    get draws() { return draws; }, requestRun,
  };
  start();
})();
