// The side panel: the programme's loudness curve against the target's band (mixdown's own
// meter, measured by the server), the live momentary/short-term meter, the decision list,
// and the Render job with its progress and result.
import { get, send } from "./api.js";

const LO = -50, HI = 0;

export class Side {
  constructor(studio) {
    this.studio = studio;
    this.curve = null;           // {t, lufs} short-term, from the server
    this.integrated = null;
    this.source = "";
    this.loudVersion = null;
  }

  init() {
    const sel = document.getElementById("target");
    for (const [name, t] of Object.entries(this.studio.config.targets)) {
      const o = document.createElement("option");
      o.value = name; o.textContent = `${name} (${t.integrated_lufs} LUFS)`;
      sel.appendChild(o);
    }
    sel.value = this.studio.config.target.name;
    this.target = this.studio.config.target;
    sel.addEventListener("change", () => { this.target = this.studio.config.targets[sel.value]; this.draw(); });
    this.loadDecisions();
    window.addEventListener("resize", () => this.draw());
    this.draw();
  }

  sessionChanged() { this.stale = true; this.draw(); }

  async poll(st) {
    if (st.loudness === "ready" && st.version !== this.loudVersion) {
      const r = await get("/api/loudness");
      if (r.data) {
        this.loudVersion = r.data.version;
        if (!this.fromRender || r.data.version >= this.fromRender) {
          this.curve = r.data.short_term;
          this.integrated = r.data.integrated_lufs;
          this.source = `session v${r.data.version}`;
          this.stale = r.data.version !== st.version;
          this.draw();
        }
      }
    }
  }

  draw() {
    if (!this.studio.player.playing) this.meter({ m: null, s: null });
    const c = document.getElementById("loudness");
    const dpr = window.devicePixelRatio || 1;
    const W = c.clientWidth, H = 150;
    c.width = W * dpr; c.height = H * dpr;
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#141619"; g.fillRect(0, 0, W, H);
    const y = (l) => H - ((Math.max(LO, Math.min(HI, l)) - LO) / (HI - LO)) * H;
    const t = this.target;
    g.fillStyle = "rgba(76, 191, 122, 0.18)";
    g.fillRect(0, y(t.integrated_lufs + t.tolerance_lu), W, Math.max(2, y(t.integrated_lufs - t.tolerance_lu) - y(t.integrated_lufs + t.tolerance_lu)));
    g.strokeStyle = "rgba(76, 191, 122, 0.9)"; g.setLineDash([4, 3]);
    g.beginPath(); g.moveTo(0, y(t.integrated_lufs)); g.lineTo(W, y(t.integrated_lufs)); g.stroke();
    g.setLineDash([]);
    g.fillStyle = "#6b727c"; g.font = "9px sans-serif";
    for (let l = -50; l <= 0; l += 10) { g.fillText(`${l}`, 2, y(l) - 2); g.fillStyle = "#2a2e34"; g.fillRect(18, y(l), W, 1); g.fillStyle = "#6b727c"; }
    const len = this.studio.lanes.length / this.studio.config.sample_rate;
    if (this.curve && len > 0) {
      g.strokeStyle = this.stale ? "rgba(78, 159, 229, 0.45)" : "#4e9fe5"; g.lineWidth = 1.3; g.beginPath();
      let pen = false;
      this.curve.t.forEach((ts, i) => {
        const v = this.curve.lufs[i];
        if (v === null) { pen = false; return; }
        const x = (ts / len) * W;
        if (!pen) { g.moveTo(x, y(v)); pen = true; } else g.lineTo(x, y(v));
      });
      g.stroke();
    }
    if (this.integrated !== null && this.integrated !== undefined) {
      g.strokeStyle = "#f0b43c"; g.beginPath(); g.moveTo(0, y(this.integrated)); g.lineTo(W, y(this.integrated)); g.stroke();
    }
    const s = document.getElementById("loud-summary");
    s.textContent = this.integrated == null ? "measuring…" :
      `${this.integrated.toFixed(1)} LUFS integrated (${this.source}${this.stale ? ", before the last edit" : ""}); target ${t.name} ${t.integrated_lufs} ± ${t.tolerance_lu}`;
  }

  meter(m) {
    const c = document.getElementById("meter");
    const dpr = window.devicePixelRatio || 1;
    const W = c.clientWidth, H = 34;
    if (c.width !== W * dpr) { c.width = W * dpr; c.height = H * dpr; }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#141619"; g.fillRect(0, 0, W, H);
    const x = (l) => ((Math.max(LO, Math.min(HI, l)) - LO) / (HI - LO)) * W;
    g.fillStyle = "#2a2e34";
    for (let l = LO; l <= HI; l += 10) g.fillRect(x(l), 0, 1, H);
    const bar = (v, row, color) => { if (v !== null && Number.isFinite(v)) { g.fillStyle = color; g.fillRect(0, row, x(v), 12); } };
    bar(m.m, 3, "#4cbf7a"); bar(m.s, 19, "#4e9fe5");
    g.fillStyle = "#f0b43c"; g.fillRect(x(this.target.integrated_lufs), 0, 2, H);
    const f = (v) => (v === null || !Number.isFinite(v) ? "—" : v.toFixed(1));
    document.getElementById("m-lufs").textContent = f(m.m);
    document.getElementById("s-lufs").textContent = f(m.s);
  }

  async loadDecisions() {
    const list = await get("/api/decisions");
    const ol = document.getElementById("decisions");
    ol.textContent = "";
    document.getElementById("dec-count").textContent = list.length ? `${list.length}` : "";
    if (!list.length) {
      ol.innerHTML = '<li class="dim">No decisions yet: Render with “auto mix” lets mixdown decide (your hand edits are kept). Each decision then shows here with its reason.</li>';
      return;
    }
    for (const d of list) {
      const li = document.createElement("li");
      li.dataset.decision = d.kind;
      li.innerHTML = '<span class="kind"></span> <b></b> <span class="act"></span><div class="reason"></div>';
      li.querySelector(".kind").textContent = d.kind;
      li.querySelector("b").textContent = d.target;
      li.querySelector(".act").textContent = d.action;
      li.querySelector(".reason").textContent = d.reason;
      li.addEventListener("click", () => this.jump(d));
      ol.appendChild(li);
    }
  }

  jump(d) {
    const sr = this.studio.config.sample_rate;
    const track = String(d.target).split("/")[0];
    if (d.start_s !== null && d.start_s !== undefined) {
      const pos = Math.round(d.start_s * sr);
      this.studio.timeline.reveal(pos);
      this.studio.seek(pos);
    }
    if (this.studio.track(track)) {
      this.studio.select(track, null);
      this.studio.timeline.lanes.get(track).el.scrollIntoView({ block: "nearest" });
    }
  }

  async render() {
    const el = document.querySelector('[data-status="render"]');
    const mode = document.getElementById("render-mode").value;
    await this.studio.queue;
    let id;
    try {
      id = (await send("POST", "/api/render", { mode, target: document.getElementById("target").value })).id;
    } catch (err) { el.textContent = `render failed: ${err.message}`; return; }
    el.textContent = "render: starting";
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      const j = await get(`/api/render/${id}`);
      if (j.state === "running" || j.state === "queued") { el.textContent = `rendering ${Math.round(j.progress * 100)}%`; continue; }
      if (j.state === "failed") { el.textContent = `render failed: ${j.error}`; return; }
      const m = j.measured || {};
      const f = (v, u) => (v === null || v === undefined ? "—" : `${v.toFixed(1)} ${u}`);
      const verdict = j.compliant === true ? `meets ${j.target.name}` : j.compliant === false ? `misses ${j.target.name}: ${j.problems.join("; ")}` : "";
      el.textContent = `render: ${f(m.integrated_lufs, "LUFS")} integrated, ${f(m.true_peak_dbtp, "dBTP")} true peak, ` +
        `LRA ${f(m.loudness_range_lu, "LU")}; ${verdict} (${j.outputs.map((o) => o.path.split("/").pop()).join(", ")}) — done`;
      if (j.short_term) {
        this.curve = j.short_term; this.integrated = m.integrated_lufs; this.source = "rendered mix"; this.stale = false;
        this.fromRender = this.studio.lanes.version;
        this.draw();
      }
      if (mode === "auto") {
        this.studio.session = await get("/api/session");
        this.studio.setLanes(await get("/api/lanes"));
        this.studio.refreshViews();
        this.loadDecisions();
      }
      return;
    }
  }
}
