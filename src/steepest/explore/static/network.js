// steepest explore, the network view: a training session on the server, drawn frame by frame.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SLIDERS = { noise: "lin", points: "int", lr: "log", momentum: "lin", batch_size: "int", batches: "int", seed: "int" };
  const SELECTS = ["dataset", "activation", "optimizer"];
  const DEFAULTS = { dataset: "moons", noise: 0.1, points: 200, hidden: "8,8", activation: "tanh",
                     optimizer: "adam", lr: 0.03, momentum: 0.9, batch_size: 20, batches: 5, seed: 0 };
  const LAYER_COLORS = ["#2f5fb3", "#d9480f", "#2b8a3e", "#862e9c", "#0b7285", "#c2255c", "#5c940d"];
  const state = {};
  let meta = null, session = null, running = false, busy = false, starting = null;
  // What the charts draw, one entry a point: the frame's number in this session (0: the new
  // network's), its updates, losses and gradient norms. At most MAX_POINTS points: past that
  // every other one goes and only every `stride`-th frame is kept (and the latest), so a long
  // run is drawn whole at its true frame numbers. The oldest 1,000 had been dropped at 2,000,
  // and the axis, which counted the points, went back to 0.
  const MAX_POINTS = 2000, KEYS = ["frame", "updates", "train", "val", "norms"];
  let history = null, stride = 1, count = 0;
  let frames = 0, lastFrame = null;
  // A link's slider values beyond the bounds the server checks: id -> {text, message}. The
  // slider keeps its value (or the default) and shows the text, marked; no network is started
  // while a marked slider is in use, until it is moved. (They had become the default in silence.)
  let linked = {}, serverMark = null;
  const fixed = new Set();  // sliders moved off a refused value, whose letting go starts over
  const RANGES = {};  // each slider's own min, max and step, before a link stretched them
  const TRACE_HINT = $("trace").innerHTML;  // what the trace box says before a Step
  const framed = common.drawSignal();

  function sliderValue(id) {
    const raw = parseFloat($(id).value);
    if (SLIDERS[id] === "log") return Number(Math.pow(10, raw).toPrecision(3));
    return SLIDERS[id] === "int" ? Math.round(raw) : raw;
  }
  function setSlider(id, v) {
    $(id).value = SLIDERS[id] === "log" ? Math.log10(v) : v;
    $(id + "-out").textContent = common.fmt(v, 3);
  }

  // The link's settings. A slider value is checked against the server's bounds: beyond them it
  // is refused (see `linked`); within them it is taken, and a slider whose own range is
  // narrower (seed 0 to 20, batch size to 200) stretches to show it (seed=100 had become 0).
  function fromHash() {
    const h = common.readHash();
    linked = {};
    serverMark = null;
    for (const [k, d] of Object.entries(DEFAULTS)) {
      if (k in SLIDERS) {
        Object.assign($(k), RANGES[k]);
        const given = h[k] !== undefined && h[k] !== "";
        const v = common.number(h[k]), text = String(h[k]);
        const why = given ? common.refusal(k, text, v, meta.network.bounds[k], SLIDERS[k] === "int", "from the link") : null;
        if (!given) state[k] = d;
        else if (!why) { state[k] = v; reach(k, v); }
        else { linked[k] = { text, message: why }; if (!(k in state)) state[k] = d; }
      } else if (k === "hidden") {  // "none": the empty field, which writeHash would drop
        state.hidden = h.hidden === "none" ? "" : /^\s*\d+(\s*,\s*\d+)*\s*$/.test(h.hidden || "") ? h.hidden : d;
      } else {
        state[k] = h[k] || d;
      }
    }
    const lists = { dataset: meta.network.datasets, activation: meta.network.activations, optimizer: meta.network.optimizers };
    for (const k of SELECTS) if (!lists[k].includes(state[k])) state[k] = DEFAULTS[k];
  }
  // Stretch slider k to reach v (on its step grid, or by steps of 1 where v is off it).
  function reach(k, v) {
    const el = $(k), pos = SLIDERS[k] === "log" ? Math.log10(v) : v;
    if (pos > parseFloat(el.max)) el.max = pos;
    if (pos < parseFloat(el.min)) el.min = pos;
    const step = parseFloat(el.step), off = (pos - parseFloat(el.min)) / step;
    if (SLIDERS[k] === "int" && Math.abs(off - Math.round(off)) > 1e-9) el.step = 1;
  }
  function showControls() {
    for (const k of SELECTS) $(k).value = state[k];
    for (const k of Object.keys(SLIDERS)) setSlider(k, state[k]);
    for (const k of Object.keys(linked)) $(k + "-out").textContent = linked[k].text;  // what was refused
    $("hidden").value = state.hidden;
    $("row-momentum").classList.toggle("hidden", state.optimizer !== "sgd");
    showMarks();
    toHash();
  }
  function toHash() {
    const values = { ...state, hidden: state.hidden.trim() === "" ? "none" : state.hidden };
    for (const k of Object.keys(linked)) values[k] = linked[k].text;  // the link says what it said
    common.writeHash(values);
  }

  // A slider counts while its row is shown (momentum is sgd's only).
  function used(k) { return !$(k).closest(".row").classList.contains("hidden"); }
  function linkRefusals() {
    return Object.keys(linked).filter(used).map((k) => ({ parameter: k, message: linked[k].message }));
  }
  // The controls of refused settings, outlined with the reason beside them: the link's, and
  // the one the server named in its last refusal.
  function showMarks() {
    const marks = linkRefusals();
    if (serverMark && !marks.some((m) => m.parameter === serverMark.parameter)) marks.push(serverMark);
    common.markFields(marks);
  }
  // The widths go as typed: the server checks them and says what is wrong in the field's terms
  // (parsed here, "abc" became [NaN], sent as [null]: "got None (NoneType)").
  function sessionBody() {
    return { dataset: state.dataset, noise: state.noise, points: state.points, hidden: state.hidden,
             activation: state.activation, optimizer: state.optimizer, lr: state.lr,
             momentum: state.momentum, batch_size: Math.min(state.batch_size, state.points), seed: state.seed };
  }

  function showError(error, after) {
    const box = $("error");
    box.hidden = !error;
    box.textContent = error ? (error.status ? `The server refused the request (HTTP ${error.status}): ` : "") + error.message : "";
    if (error && after) box.appendChild(note(after));
  }

  // A frame came: an error of an earlier request is over (it went on saying "the training
  // session had expired" after the new one trained). A refused setting stays, with its field.
  function clearPastError() {
    if (!document.querySelector("[aria-invalid='true']")) showError(null);
  }

  // Train and Step need a session; without one they are off, and the hint says what to do.
  function showButtons() {
    $("train").disabled = $("step").disabled = !session;
    $("session-hint").hidden = Boolean(session);
  }
  function sizes(s) { return s.sizes.join("-"); }

  // ------------------------------------------------------------------ the session
  // A refused setting keeps the session on screen (its plots stay true, Train and Step go on
  // with it); it was dropped before the request, which left the page with none.
  async function newSession() {
    const refusals = linkRefusals();
    if (refusals.length) {  // refused here, in the server's bounds: nothing is sent
      const word = refusals.length > 1 ? "sliders" : "slider";
      refused({ message: `Not started: ${refusals.map((r) => r.message).join("; ")}. Move the marked ${word} to choose a value.` });
      document.body.dataset.ready = "1";
      return;
    }
    let fresh;
    try {
      fresh = await common.api("/api/net/session", sessionBody());
    } catch (error) {
      refused(error);
      return;
    }
    const old = session;
    if (old) common.api(`/api/net/${old.id}`, undefined, "DELETE").catch(() => {});
    session = fresh;
    resetHistory();
    showError(null);
    serverMark = null;
    showMarks();
    showButtons();
    clearTrace();
    record(session.frame);
    draw(session.frame);
  }
  function restart() { starting = newSession(); return starting; }

  function refused(error) {
    setRunning(false);
    const kept = session ? `The network on screen is still the previous ${sizes(session)} one (${session.settings.activation}, `
      + `on ${session.settings.dataset}): Train and Step go on with it, at lr = ${common.fmt(state.lr, 3)}.`
      : "There is no network to train until the settings are fixed.";
    showError(error, kept);
    serverMark = error.parameter ? { parameter: error.parameter, message: error.message } : null;
    showMarks();
    showButtons();
  }

  // A frame of this tab's session, or null when a new session replaced it meanwhile (a frame
  // of the old network must not be drawn over the new one).
  async function call(kind, body) {
    await starting;
    const mine = session;
    if (!mine) throw new Error("no network: fix the settings marked above, then press Reset");
    try {
      const frame = await common.api(`/api/net/${mine.id}/${kind}`, body);
      return session === mine ? frame : null;
    } catch (error) {
      if (error.status !== 404) throw error;
      if (session === mine) session = null;  // it expired on the server
      await restart();
      throw new Error("the training session had expired; started a new one");
    }
  }

  function resetHistory() {
    history = { frame: [], updates: [], train: [], val: [], norms: [] };
    stride = 1; count = 0;
  }
  function record(frame) {
    const h = history, n = count++, end = h.frame.length - 1;
    if (end >= 0 && h.frame[end] % stride !== 0) for (const k of KEYS) h[k].pop();  // the latest, off the stride, makes way
    h.frame.push(n); h.updates.push(frame.updates); h.train.push(frame.train_loss);
    h.val.push(frame.val_loss); h.norms.push(frame.grad_norms);
    if (h.frame.length > MAX_POINTS) {
      stride *= 2;
      const keep = h.frame.map((f, i) => f % stride === 0 || i === h.frame.length - 1);
      for (const k of KEYS) h[k] = h[k].filter((_, i) => keep[i]);
    }
  }
  // Frames as if the server had sent them, drawn once after the last: for tests of long runs
  // (a real run of 2,000 frames takes over a minute).
  function replay(list) {
    for (const frame of list) record(frame);
    if (list.length) draw(list[list.length - 1]);
  }

  async function trainFrame() {
    if (!running || busy) return;
    busy = true;
    const started = performance.now();
    try {
      const frame = await call("train", { batches: state.batches, lr: state.lr });
      if (frame) {
        record(frame);
        clearPastError();
        draw(frame);
        framed.fire({ ms: performance.now() - started, loss: frame.train_loss });
      }
    } catch (error) {
      showError(error);
      setRunning(false);
      framed.fire({ error: error.message });
    } finally {
      busy = false;
    }
    if (running) requestAnimationFrame(trainFrame);
  }

  function setRunning(on) {
    running = on;
    $("train").textContent = on ? "Pause" : "Train";
    if (on) requestAnimationFrame(trainFrame);
  }

  async function step() {
    setRunning(false);
    while (busy) await new Promise((r) => setTimeout(r, 10));
    busy = true;
    try {
      const frame = await call("step", { lr: state.lr });
      if (frame) {
        record(frame);
        clearPastError();
        draw(frame);
        drawTrace(frame.trace);
        framed.fire({ loss: frame.train_loss });
      }
    } catch (error) { showError(error); }
    finally { busy = false; }
  }

  // ------------------------------------------------------------------ drawing
  function probColour(p) {  // class 0 blue, class 1 orange, 0.5 white
    const t = Math.abs(p - 0.5) * 2;
    const c = p < 0.5 ? [64, 120, 200] : [235, 140, 52];
    return c.map((v) => Math.round(255 + (v - 255) * t * 0.75));
  }

  function drawBoundary(frame) {
    const canvas = $("boundary"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    const n = frame.grid, p = frame.boundary, top = frame.levels, image = new ImageData(W, H);
    for (let py = 0; py < H; py++) {
      const gy = (1 - (py + 0.5) / H) * (n - 1), j = Math.min(Math.floor(gy), n - 2), fy = gy - j;
      for (let px = 0; px < W; px++) {
        const gx = ((px + 0.5) / W) * (n - 1), i = Math.min(Math.floor(gx), n - 2), fx = gx - i;
        const v = ((p[j * n + i] * (1 - fx) + p[j * n + i + 1] * fx) * (1 - fy)
                 + (p[(j + 1) * n + i] * (1 - fx) + p[(j + 1) * n + i + 1] * fx) * fy) / top;
        const rgb = probColour(v);
        const k = 4 * (py * W + px);
        image.data[k] = rgb[0]; image.data[k + 1] = rgb[1]; image.data[k + 2] = rgb[2]; image.data[k + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
    drawDecisionLine(canvas, levelSegments(p, n, top / 2), n);  // P = 0.5
    const w = session.window;
    const toPx = (x, y) => [((x + w) / (2 * w)) * W, H - ((y + w) / (2 * w)) * H];
    const dots = (set, filled) => {
      set.X.forEach((xy, k) => {
        const [px, py] = toPx(xy[0], xy[1]);
        ctx.beginPath(); ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
        const colour = set.y[k] ? "#c25e00" : "#1f4f99";
        if (filled) { ctx.fillStyle = colour; ctx.fill(); ctx.strokeStyle = "#fff"; ctx.lineWidth = 0.8; ctx.stroke(); }
        else { ctx.strokeStyle = colour; ctx.lineWidth = 1.4; ctx.stroke(); }
      });
    };
    dots(session.validation, false);
    dots(session.train, true);
  }

  // The level curve p = level of an n x n grid (row 0 at the bottom) as segments in grid units,
  // by marching squares: linear along each cell edge, a saddle cell split by its centre. A
  // field that never crosses the level has none (a band |p - 0.5| < 0.012 of pixels had filled
  // the flat fields of a new network, and thickened where the field was shallow).
  function levelSegments(p, n, level) {
    const segments = [];
    for (let j = 0; j < n - 1; j++) {
      for (let i = 0; i < n - 1; i++) {
        const corners = [[i, j], [i + 1, j], [i + 1, j + 1], [i, j + 1]];
        const v = corners.map(([a, b]) => p[b * n + a]);
        const cut = [];
        for (let e = 0; e < 4; e++) {
          const a = v[e], b = v[(e + 1) % 4], [x0, y0] = corners[e], [x1, y1] = corners[(e + 1) % 4];
          if ((a > level) !== (b > level)) { const t = (level - a) / (b - a); cut.push([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]); }
        }
        if (cut.length === 2) segments.push(cut);
        else if (cut.length === 4) {
          const joined = (v[0] + v[1] + v[2] + v[3]) / 4 > level === v[0] > level;
          segments.push(...(joined ? [[cut[0], cut[1]], [cut[2], cut[3]]] : [[cut[3], cut[0]], [cut[1], cut[2]]]));
        }
      }
    }
    return segments;
  }

  function drawDecisionLine(canvas, segments, n) {
    const ctx = canvas.getContext("2d"), sx = canvas.width / (n - 1), sy = canvas.height / (n - 1);
    let length = 0;
    ctx.strokeStyle = "#1d2330"; ctx.lineWidth = 1.5; ctx.lineCap = "round";
    ctx.beginPath();
    for (const [[x0, y0], [x1, y1]] of segments) {
      ctx.moveTo(x0 * sx, canvas.height - y0 * sy); ctx.lineTo(x1 * sx, canvas.height - y1 * sy);
      length += Math.hypot((x1 - x0) * sx, (y1 - y0) * sy);
    }
    ctx.stroke();
    canvas.dataset.lineSegments = String(segments.length);  // what was drawn, for tests
    canvas.dataset.lineLength = String(Math.round(length));
  }

  function drawCharts() {
    common.lineChart($("net-loss"), [
      { values: history.train, color: "#2f5fb3", label: "train" },
      { values: history.val, color: "#d9480f", label: "validation" },
    ], { logY: true, xLabel: "frame", yLabel: "loss", x: history.frame });
    const layers = history.norms.reduce((m, r) => Math.max(m, r.length), 0);
    const series = [];
    for (let l = 0; l < layers; l++) {
      series.push({ values: history.norms.map((r) => (r.length ? r[l] : null)), color: LAYER_COLORS[l % LAYER_COLORS.length], label: `layer ${l + 1} ‖∂L/∂W‖` });
    }
    common.lineChart($("grad-norms"), series, { logY: true, xLabel: "frame", yLabel: "norm", x: history.frame });
  }

  function draw(frame) {
    lastFrame = frame;
    drawBoundary(frame);
    drawCharts();
    $("stat-updates").textContent = frame.updates;
    $("stat-epoch").textContent = frame.epoch;
    $("stat-train").textContent = common.fmt(frame.train_loss, 3);
    $("stat-val").textContent = common.fmt(frame.val_loss, 3);
    $("stat-acc").textContent = `${Math.round(100 * frame.val_accuracy)}%`;
    const inactive = frame.inactive.map((units, k) => `${units.length}/${frame.widths[k]}`);
    $("stat-inactive").textContent = inactive.length ? inactive.join(" · ") : "—";
    $("inactive").classList.toggle("alert", frame.inactive.some((units) => units.length > 0));
    frames += 1;
    const c = $("net-loss");
    c.dataset.frames = String(frames);
    c.dataset.trainLoss = String(frame.train_loss);
    document.body.dataset.ready = "1";
  }

  function vector(v) { return "[" + v.map((x) => common.fmt(x, 2)).join(", ") + "]"; }
  function norm(m) { let s = 0; for (const r of m) for (const x of (Array.isArray(r) ? r : [r])) s += x * x; return Math.sqrt(s); }

  // A new session's network is not the traced one: back to the hint, the diagram blank.
  function clearTrace() {
    $("trace").innerHTML = TRACE_HINT;
    const canvas = $("trace-net");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    delete canvas.dataset.traceOf;
  }

  function note(text) { const p = document.createElement("p"); p.className = "note"; p.textContent = text; return p; }

  // The output layer has no activation (the loss applies σ to the logit itself), so its row
  // says a = z, the logit, rather than a = σ(z); P(class 1) = σ(z) is in the caption.
  function drawTrace(trace) {
    const box = $("trace"), f = session.settings.activation, last = trace.layers.length - 1;
    box.innerHTML = "";
    box.appendChild(note(`example ${trace.index}: x = ${vector(trace.x)}, label ${trace.y}; output logit z = ${common.fmt(trace.logit, 3)}, `
      + `P(class 1) = σ(z) = ${common.fmt(trace.probability, 3)}; loss ${common.fmt(trace.loss, 4)} (from ${trace.source})`));
    const table = document.createElement("table");
    const head = table.insertRow();
    for (const t of ["layer", "a_in (input)", "z = W a_in + b", `a = f(z), f = ${f}`, "δ = ∂loss/∂z", "‖∂loss/∂W‖", "‖∂loss/∂b‖"]) {
      const th = document.createElement("th"); th.textContent = t; head.appendChild(th);
    }
    trace.layers.forEach((l, k) => {
      const row = table.insertRow();
      const a = k === last ? `${vector(l.a)} = z, the logit (no f)` : vector(l.a);
      for (const v of [k === last ? `${k + 1} (output)` : `${k + 1} (hidden)`, vector(l.a_in), vector(l.z), a, vector(l.delta), common.fmt(norm(l.dW), 3), common.fmt(norm(l.db), 3)]) {
        const td = row.insertCell(); td.textContent = v; td.className = "mono";
      }
    });
    box.appendChild(table);
    drawTraceNet(trace);
    $("trace-net").dataset.traceOf = session.id;
  }

  // The network as columns of units: fill = activation, the bar under each unit = δ, edges
  // coloured by the sign of ∂loss/∂W and as thick as its size (relative within the layer).
  function drawTraceNet(trace) {
    const canvas = $("trace-net"), ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    const inactive = [[]].concat((lastFrame && lastFrame.inactive) || []).map((units) => new Set(units));
    ctx.clearRect(0, 0, W, H);
    const columns = [trace.x].concat(trace.layers.map((l) => l.a));
    const deltas = [null].concat(trace.layers.map((l) => l.delta));
    const pos = columns.map((col, c) => col.map((_, i) => [60 + (c * (W - 120)) / (columns.length - 1), 20 + ((i + 0.5) * (H - 40)) / col.length]));
    trace.layers.forEach((l, k) => {
      const biggest = Math.max(1e-12, ...l.dW.flat().map(Math.abs));
      l.dW.forEach((row, i) => row.forEach((g, j) => {
        const [x0, y0] = pos[k][j], [x1, y1] = pos[k + 1][i];
        ctx.strokeStyle = g < 0 ? "rgba(47,95,179,0.7)" : "rgba(217,72,15,0.7)";
        ctx.lineWidth = 0.3 + 3.5 * Math.abs(g) / biggest;
        ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
      }));
    });
    const dmax = Math.max(1e-12, ...deltas.slice(1).flat().map(Math.abs));
    columns.forEach((col, c) => col.forEach((a, i) => {
      const [x, y] = pos[c][i];
      const t = Math.max(-1, Math.min(1, a));
      ctx.fillStyle = t < 0 ? `rgba(47,95,179,${Math.abs(t)})` : `rgba(217,72,15,${t})`;
      ctx.strokeStyle = "#1d2330"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.arc(x, y, 9, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      if (inactive[c] && inactive[c].has(i)) {  // no gradient reaches it: a grey cross over it
        ctx.strokeStyle = "#8a93a6"; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(x - 6, y - 6); ctx.lineTo(x + 6, y + 6);
        ctx.moveTo(x + 6, y - 6); ctx.lineTo(x - 6, y + 6); ctx.stroke();
      }
      if (deltas[c]) {
        const d = deltas[c][i], len = 14 * Math.abs(d) / dmax;
        ctx.fillStyle = d < 0 ? "#2f5fb3" : "#d9480f";
        ctx.fillRect(x + 12, y - 2, len, 4);
      }
    }));
    ctx.fillStyle = "#5d6678"; ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center";
    columns.forEach((_, c) => ctx.fillText(c === 0 ? "input" : c === columns.length - 1 ? "output: logit z" : `hidden ${c}`, pos[c][0][0], H - 4));
  }

  // ------------------------------------------------------------------ events
  function wire() {
    const restartKeys = new Set(["dataset", "noise", "points", "activation", "optimizer", "momentum", "batch_size", "seed"]);
    for (const k of Object.keys(SLIDERS)) {
      $(k).addEventListener("input", () => {
        state[k] = sliderValue(k);
        $(k + "-out").textContent = common.fmt(state[k], 3);
        if (k in linked) { delete linked[k]; fixed.add(k); }
        if (serverMark && serverMark.parameter === k) serverMark = null;
        showMarks();
        toHash();
      });
      // letting go of a slider moved off a refused value starts the network the link asked for
      $(k).addEventListener("change", () => { if (fixed.delete(k) || restartKeys.has(k)) restart(); });
    }
    for (const k of SELECTS) {
      $(k).addEventListener("change", () => { state[k] = $(k).value; showControls(); restart(); });
    }
    $("hidden").addEventListener("change", () => { state.hidden = $("hidden").value; showControls(); restart(); });
    $("train").addEventListener("click", () => setRunning(!running));
    $("step").addEventListener("click", step);
    $("reset").addEventListener("click", () => { setRunning(false); restart(); });
    // a link pasted into this tab changes only the hash: follow it, as the optimizer view does
    // (the controls and the network stayed the old ones); our own writes fire no hashchange
    window.addEventListener("hashchange", () => { setRunning(false); fromHash(); showControls(); restart(); });
    window.addEventListener("beforeunload", () => {
      if (session) fetch(`/api/net/${session.id}`, { method: "DELETE", keepalive: true });
    });
  }

  async function start() {
    try { meta = await common.api("/api/meta"); } catch (error) { showError(error); return; }
    const options = (list) => list.map((v) => `<option value="${v}">${v}</option>`).join("");
    $("dataset").innerHTML = options(meta.network.datasets);
    $("activation").innerHTML = options(meta.network.activations);
    $("optimizer").innerHTML = options(meta.network.optimizers);
    $("batches").max = Math.min(50, meta.network.max_batches);
    for (const k of Object.keys(SLIDERS)) RANGES[k] = { min: $(k).min, max: $(k).max, step: $(k).step };
    resetHistory();
    fromHash();
    showControls();
    wire();
    await restart();
  }

  window.netExplorer = {
    state, nextFrame: () => framed.wait(), get frames() { return frames; }, get history() { return history; },
    get session() { return session; }, get last() { return lastFrame; }, setRunning, step,
    levelSegments,  // for tests of the decision line on made-up fields
    replay,  // and of the charts of a long run
  };
  start();
})();
