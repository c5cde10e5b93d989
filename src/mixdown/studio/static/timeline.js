// The timeline: ruler, one lane per track (clips, waveform from the server's peaks, speech
// regions, the gain curve the server evaluates) and keyframe handles you can drag.
import { binary, get, q } from "./api.js";

const MIN_SPP = 1 / 32;           // 32 px per sample at the deepest zoom
const CURVE_TOP_DB = 12;
const HANDLE_MAX = 400;           // handles drawn per lane (the rest are off screen)

export function timecode(samples, cfg) {
  // mixdown.timebase.Timebase.timecode: floor to the frame, SMPTE drop-frame counting
  const [num, den] = cfg.frame_rate;
  let frames = Math.floor((samples * num) / (den * cfg.sample_rate)) + cfg.start_frames;
  const nominal = Math.round(num / den);
  const drop = cfg.drop_frame;
  if (drop) {
    const dropped = 2 * Math.floor(nominal / 30);
    const per10 = nominal * 600 - dropped * 9, perMin = nominal * 60 - dropped;
    const tens = Math.floor(frames / per10), rem = frames % per10;
    frames += rem > dropped ? dropped * 9 * tens + dropped * Math.floor((rem - dropped) / perMin) : dropped * 9 * tens;
  }
  const p = (n) => String(n).padStart(2, "0");
  const ff = frames % nominal, ss = Math.floor(frames / nominal) % 60;
  const mm = Math.floor(frames / (nominal * 60)) % 60, hh = Math.floor(frames / (nominal * 3600));
  return `${p(hh)}:${p(mm)}:${p(ss)}${drop ? ";" : ":"}${p(ff)}`;
}

// dB <-> fraction of a lane's height, by the server's fader law (so a curve sits where the fader says)
export function makeScale(taper) {
  const pts = taper.points;
  const toPos = (db) => {
    if (db <= pts[0][1]) return 0;
    for (let i = 1; i < pts.length; i++) {
      if (db <= pts[i][1]) {
        const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
        return x0 + ((db - y0) / (y1 - y0)) * (x1 - x0);
      }
    }
    return 1;
  };
  const toDb = (p) => {
    if (p <= 0) return pts[0][1];
    for (let i = 1; i < pts.length; i++) {
      if (p <= pts[i][0]) {
        const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
        return y0 + ((p - x0) / (x1 - x0)) * (y1 - y0);
      }
    }
    return pts[pts.length - 1][1];
  };
  return { toPos, toDb };
}

export class Timeline {
  constructor(studio) {
    this.studio = studio;
    this.lanesEl = document.getElementById("lanes");
    this.ruler = document.getElementById("ruler");
    this.hscroll = document.getElementById("hscroll");
    this.view = { start: 0, spp: 1024 };
    this.lanes = new Map();
    this.selectedKf = null;
    this.playhead = document.createElement("div");
    this.playhead.id = "playhead";
    document.getElementById("timeline").appendChild(this.playhead);
    this.scale = makeScale(studio.config.taper);
    this.bind();
  }

  get width() { return Math.max(1, this.ruler.clientWidth); }
  get length() { return Math.max(1, this.studio.lanes.length); }
  x(sample) { return (sample - this.view.start) / this.view.spp; }
  sampleAt(x) { return Math.round(this.view.start + x * this.view.spp); }
  yOf(db, h) { return (1 - this.scale.toPos(db)) * (h - 8) + 4; }
  dbAt(y, h) { return this.scale.toDb(1 - (y - 4) / (h - 8)); }

  build() {
    const L = this.studio.lanes;
    this.lanesEl.textContent = "";
    this.lanes.clear();
    for (const t of L.tracks) {
      const el = document.createElement("div");
      el.className = "lane";
      el.dataset.track = t.name;
      el.innerHTML = `<div class="head"><div class="name"></div><div class="meta"></div><div class="btns"></div></div>
        <div class="area"><canvas></canvas><div class="handles"></div></div>`;
      el.querySelector(".name").textContent = t.name;
      this.lanesEl.appendChild(el);
      const lane = { el, canvas: el.querySelector("canvas"), handles: el.querySelector(".handles"), track: t.name,
                     peaks: null, curve: null, drawnPeaks: false, seq: 0 };
      this.lanes.set(t.name, lane);
      el.querySelector(".area").addEventListener("dblclick", (e) => this.addKeyframe(lane, e));
      el.querySelector(".area").addEventListener("pointerdown", (e) => this.areaDown(lane, e));
    }
    this.refreshHeads();
    this.resize();
  }

  refreshHeads() {
    for (const t of this.studio.lanes.tracks) {
      const lane = this.lanes.get(t.name);
      if (!lane) continue;
      lane.el.style.setProperty("--c", t.color);
      lane.el.querySelector(".meta").textContent = `${t.role} → ${t.output} · ${fmtDb(t.gain_db)} dB`;
      lane.el.classList.toggle("silent", !this.studio.heard(t.name));
      const btns = lane.el.querySelector(".btns");
      btns.innerHTML = `${t.mute ? '<span class="dim">muted</span>' : ""} ${t.solo ? '<span class="dim">solo</span>' : ""}`;
    }
  }

  bind() {
    window.addEventListener("resize", () => this.resize());
    new ResizeObserver(() => this.resize()).observe(this.lanesEl);
    this.ruler.addEventListener("pointerdown", (e) => this.studio.seek(this.sampleAt(e.offsetX)));
    this.lanesEl.addEventListener("wheel", (e) => {
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        const rect = this.ruler.getBoundingClientRect();
        this.zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - rect.left);
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        e.preventDefault();
        this.scrollBy((e.deltaX || e.deltaY) * this.view.spp);
      }
    }, { passive: false });
    this.hscroll.addEventListener("scroll", () => {
      if (this.syncing) return;
      const inner = this.hscroll.firstElementChild.clientWidth - this.hscroll.clientWidth;
      const span = this.length - this.width * this.view.spp;
      if (inner > 0) this.setStart((this.hscroll.scrollLeft / inner) * span);
    });
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    this.ruler.width = this.width * dpr;
    this.ruler.height = 28 * dpr;
    for (const lane of this.lanes.values()) {
      const r = lane.canvas.parentElement.getBoundingClientRect();
      lane.canvas.width = Math.max(1, r.width * dpr);
      lane.canvas.height = Math.max(1, r.height * dpr);
    }
    if (!this.fitted) { this.fit(); this.fitted = true; } else this.changed();
  }

  fit() { this.view.start = 0; this.view.spp = Math.max(MIN_SPP, this.length / this.width); this.changed(); }

  zoom(factor, anchorX = this.width / 2) {
    const at = this.view.start + anchorX * this.view.spp;
    const maxSpp = Math.max(MIN_SPP, this.length / this.width);
    this.view.spp = Math.min(maxSpp, Math.max(MIN_SPP, this.view.spp / factor));
    this.view.start = at - anchorX * this.view.spp;
    this.clampStart();
    this.changed();
  }

  scrollBy(samples) { this.setStart(this.view.start + samples); }
  setStart(s) { this.view.start = s; this.clampStart(); this.changed(); }
  clampStart() {
    const span = Math.max(0, this.length - this.width * this.view.spp);
    this.view.start = Math.min(Math.max(0, this.view.start), span);
  }

  reveal(sample) {
    const w = this.width * this.view.spp;
    if (sample < this.view.start || sample > this.view.start + w) this.setStart(sample - w * 0.2);
  }

  changed() {
    this.drawRuler();
    this.syncScroll();
    for (const lane of this.lanes.values()) this.drawLane(lane);
    clearTimeout(this.fetchTimer);
    this.fetchTimer = setTimeout(() => this.fetchAll(), 40);
    const z = document.getElementById("zoom-label");
    if (z) z.textContent = this.view.spp >= 1 ? `${Math.round(this.view.spp)} smp/px` : `${Math.round(1 / this.view.spp)} px/smp`;
    this.drawPlayhead(this.studio.position());
  }

  syncScroll() {
    const inner = this.hscroll.firstElementChild;
    const total = Math.min(this.length / this.view.spp, 5e6);
    inner.style.width = `${Math.max(total, this.width)}px`;
    const span = this.length - this.width * this.view.spp;
    this.syncing = true;
    this.hscroll.scrollLeft = span > 0 ? (this.view.start / span) * (inner.clientWidth - this.hscroll.clientWidth) : 0;
    requestAnimationFrame(() => { this.syncing = false; });
  }

  // -- data ------------------------------------------------------------------------

  fetchAll() { for (const lane of this.lanes.values()) this.fetchLane(lane); }

  async fetchLane(lane) {
    const seq = ++lane.seq;
    const v = this.view;
    const w = this.width;
    const bin = Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, v.spp))));
    const start = Math.max(0, Math.floor(v.start / bin) * bin);
    const count = Math.min(16384, Math.ceil((w * v.spp) / bin) + 2);
    const cbin = Math.max(1, Math.round(v.spp));
    const ccount = Math.min(16384, Math.ceil((w * v.spp) / cbin) + 2);
    const name = encodeURIComponent(lane.track);
    try {
      const [pk, cv] = await Promise.all([
        binary(`/api/peaks/${name}?${q({ start, bin, count })}`),
        get(`/api/curve/${name}?${q({ start: Math.floor(v.start), bin: cbin, count: ccount })}`),
      ]);
      if (seq !== lane.seq) return;
      lane.peaks = { start, bin, data: new Float32Array(pk.buffer) };
      lane.curve = cv;
      this.drawLane(lane);
    } catch (err) {
      this.studio.message(`${lane.track}: ${err.message}`, true);
    }
  }

  refetch() { clearTimeout(this.fetchTimer); this.fetchAll(); }

  // -- drawing -----------------------------------------------------------------------

  drawRuler() {
    const c = this.ruler, g = c.getContext("2d"), dpr = window.devicePixelRatio || 1;
    const cfg = this.studio.config;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#1f2227"; g.fillRect(0, 0, this.width, 28);
    const sr = cfg.sample_rate;
    const frame = (sr * cfg.frame_rate[1]) / cfg.frame_rate[0];
    const steps = [1, 10, 100, 1000].map((n) => ({ s: n, label: "smp" }))
      .concat([1, 2, 5, 10].map((n) => ({ s: n * frame, label: "tc" })))
      .concat([1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].map((n) => ({ s: n * sr, label: "tc" })));
    const step = steps.find((st) => st.s / this.view.spp >= 90) || steps[steps.length - 1];
    const first = Math.floor(this.view.start / step.s) * step.s;
    g.font = "10px DejaVu Sans Mono, monospace"; g.textBaseline = "top";
    for (let s = first; s < this.view.start + this.width * this.view.spp; s += step.s) {
      const x = Math.round(this.x(s)) + 0.5;
      g.strokeStyle = "#6b727c"; g.beginPath(); g.moveTo(x, 14); g.lineTo(x, 28); g.stroke();
      for (let k = 1; k < 5; k++) {
        const xs = Math.round(this.x(s + (k * step.s) / 5)) + 0.5;
        g.strokeStyle = "#3a3f46"; g.beginPath(); g.moveTo(xs, 22); g.lineTo(xs, 28); g.stroke();
      }
      g.fillStyle = "#aab1ba";
      const label = step.label === "smp" ? `${Math.round(s)}` : timecode(Math.round(s), cfg);
      g.fillText(label, x + 3, 3);
    }
  }

  drawLane(lane) {
    const t = this.studio.track(lane.track);
    if (!t) return;
    const c = lane.canvas, g = c.getContext("2d"), dpr = window.devicePixelRatio || 1;
    const W = c.width / dpr, H = c.height / dpr;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#141619"; g.fillRect(0, 0, W, H);
    const v = this.view;
    // speech regions (dialogue lanes): a band along the bottom and a faint tint
    const speech = this.studio.speech[lane.track] || [];
    const band = [];
    for (const [a, b] of speech) {
      const x0 = this.x(a), x1 = this.x(b);
      if (x1 < 0 || x0 > W) continue;
      g.fillStyle = "rgba(140, 220, 255, 0.06)";
      g.fillRect(x0, 0, Math.max(1, x1 - x0), H);
      band.push([x0, x1]);
    }
    const color = t.color;
    for (const clip of t.clips) {
      if (clip.end == null) continue;
      const x0 = this.x(clip.start), x1 = this.x(clip.end);
      if (x1 < 0 || x0 > W) continue;
      const sel = this.studio.selectedClip && this.studio.selectedClip.track === t.name && this.studio.selectedClip.index === clip.index;
      g.fillStyle = hexA(color, clip.mute ? 0.08 : 0.2);
      g.fillRect(x0, 1, Math.max(1, x1 - x0), H - 2);
      g.strokeStyle = sel ? "#ffffff" : hexA(color, 0.8);
      g.lineWidth = sel ? 1.5 : 1;
      g.strokeRect(x0 + 0.5, 1.5, Math.max(1, x1 - x0 - 1), H - 3);
      g.fillStyle = hexA(color, 0.55); g.fillRect(x0, 1, Math.max(1, x1 - x0), 13);
      if (x1 - x0 > 30) {
        g.save(); g.beginPath(); g.rect(x0, 0, x1 - x0, 14); g.clip();
        g.fillStyle = "#0b0c0e"; g.font = "10px sans-serif"; g.textBaseline = "top";
        g.fillText(clip.name, Math.max(x0, 0) + 4, 2); g.restore();
      }
    }
    lane.drawnPeaks = false;
    if (lane.peaks) this.drawPeaks(g, lane, W, H, color);
    // speech regions on top of the clips: a bright bar along the lane's foot
    g.fillStyle = "rgba(120, 235, 200, 0.9)";
    for (const [x0, x1] of band) g.fillRect(x0, H - 5, Math.max(1, x1 - x0), 3);
    if (lane.curve) this.drawCurve(g, lane, W, H);
    this.placeHandles(lane, t, W, H);
    c.dataset.drawn = lane.drawnPeaks ? "peaks" : "clips";
    if (lane.drawnPeaks && !this.studio.firstWaveformAt) this.studio.firstWaveformAt = performance.now();
  }

  drawPeaks(g, lane, W, H, color) {
    const { start, bin, data } = lane.peaks;
    const v = this.view;
    const n = data.length / 2;
    const mid = 14 + (H - 18) / 2, amp = (H - 18) / 2;
    g.fillStyle = hexA(color, 0.95);
    g.strokeStyle = hexA(color, 0.95);
    if (v.spp < 1) {
      // samples: a line through them, dots where they are far apart
      g.beginPath();
      let first = true;
      for (let i = 0; i < n; i++) {
        const x = this.x(start + i * bin), y = mid - data[2 * i + 1] * amp;
        if (x < -2 || x > W + 2) continue;
        if (first) { g.moveTo(x, y); first = false; } else g.lineTo(x, y);
        if (1 / v.spp > 6) g.fillRect(x - 1.5, y - 1.5, 3, 3);
      }
      g.stroke();
      lane.drawnPeaks = true;
      return;
    }
    for (let x = 0; x < W; x++) {
      const s0 = v.start + x * v.spp, s1 = s0 + v.spp;
      let i0 = Math.floor((s0 - start) / bin), i1 = Math.ceil((s1 - start) / bin);
      if (i1 <= 0 || i0 >= n) continue;
      i0 = Math.max(0, i0); i1 = Math.min(n, Math.max(i1, i0 + 1));
      let lo = 0, hi = 0;
      for (let i = i0; i < i1; i++) { if (data[2 * i] < lo) lo = data[2 * i]; if (data[2 * i + 1] > hi) hi = data[2 * i + 1]; }
      if (hi - lo < 1e-6) continue;
      const y0 = mid - Math.min(1, hi) * amp, y1 = mid - Math.max(-1, lo) * amp;
      g.fillRect(x, y0, 1, Math.max(1, y1 - y0));
      lane.drawnPeaks = true;
    }
  }

  drawCurve(g, lane, W, H) {
    const cv = lane.curve;
    const v = this.view;
    const line = (values, style, width) => {
      g.strokeStyle = style; g.lineWidth = width; g.beginPath();
      let pen = false;
      for (let i = 0; i < values.length; i++) {
        const val = values[i];
        const x = this.x(cv.start + i * cv.bin + cv.bin / 2);
        if (val === null || x < -2 || x > W + 2) { pen = false; continue; }
        const y = this.yOf(val, H);
        if (!pen) { g.moveTo(x, y); pen = true; } else g.lineTo(x, y);
      }
      g.stroke();
    };
    if (v.spp > 0) {
      line(cv.clip_db, "rgba(155, 227, 143, 0.8)", 1);
      line(cv.track_db, "#f0b43c", 1.6);
    }
  }

  // -- keyframes ---------------------------------------------------------------------

  placeHandles(lane, t, W, H) {
    if (this.studio.dragging && this.studio.dragging.lane === lane) { lane.handles.textContent = ""; return this.placeDrag(lane, W, H); }
    // handles are kept and moved, not made anew on every redraw (a pointer may be on one)
    const old = new Map([...lane.handles.children].map((h) => [h.dataset.keyframe, h]));
    const keep = new Set();
    const offset = t.strip_db;
    let drawn = 0;
    const add = (kind, i, pos, val, extra = "") => {
      const x = this.x(pos);
      if (x < -6 || x > W + 6 || drawn++ > HANDLE_MAX) return;
      const id = `${kind}:${i}`;
      keep.add(id);
      let h = old.get(id);
      const fresh = !h;
      if (fresh) h = document.createElement("div");
      h.dataset.keyframe = id;
      h.className = `${kind === "track" ? "" : kind.replace(/-\d+$/, "")} ${extra}`.trim();
      if (this.selectedKf && this.selectedKf.lane === lane.track && this.selectedKf.id === h.dataset.keyframe) h.classList.add("selected");
      h.style.left = `${x}px`;
      h.style.top = `${this.yOf(val, H)}px`;
      h.title = `${timecode(pos, this.studio.config)}  ${fmtDb(val)} dB`;
      if (fresh) {
        h.addEventListener("pointerdown", (e) => this.startDrag(e, lane, kind, i));
        h.addEventListener("contextmenu", (e) => { e.preventDefault(); this.studio.deleteKeyframe(lane.track, kind, i); });
        lane.handles.appendChild(h);
      }
    };
    t.keyframes.forEach(([pos, val], i) => add("track", i, pos, offset + val));
    if (t.auto) {
      const edited = t.auto.edited.includes("automation.gain_db");
      t.auto.keyframes.forEach(([pos, val], i) => add("auto", i, pos, offset + val, edited ? "edited" : ""));
    }
    for (const clip of t.clips) {
      if (clip.end == null) continue;
      clip.keyframes.forEach(([pos, val], i) => add(`clip-${clip.index}`, i, clip.start + pos, clip.effective_gain_db + val, "clip"));
      if (clip.auto) {
        const edited = clip.auto.edited.includes("automation.gain_db") ? "edited" : "";
        clip.auto.keyframes.forEach(([pos, val], i) => add(`clipauto-${clip.index}`, i, clip.start + pos, clip.effective_gain_db + val, `clip auto ${edited}`));
      }
    }
    for (const [id, h] of old) if (!keep.has(id)) h.remove();
  }

  placeDrag(lane, W, H) {
    const d = this.studio.dragging;
    const h = document.createElement("div");
    h.dataset.keyframe = `${d.kind}:${d.i}`;
    h.className = `selected ${d.kind.startsWith("clip") ? "clip" : ""} ${d.kind.includes("auto") ? "auto" : ""}`;
    h.style.left = `${this.x(d.base + d.pos)}px`;
    h.style.top = `${this.yOf(d.shown, H)}px`;
    lane.handles.appendChild(h);
  }

  startDrag(e, lane, kind, i) {
    e.preventDefault(); e.stopPropagation();
    const t = this.studio.track(lane.track);
    const list = this.studio.keyList(t, kind);
    if (!list) return;
    const base = list.clip ? list.clip.start : 0;
    // handles sit at the strip's (or clip's) static gain, hand and auto together, plus their own value
    const offset = list.clip ? list.clip.effective_gain_db : t.strip_db;
    const keys = list.keys;
    const lo = i > 0 ? keys[i - 1][0] : 0;
    const hi = i + 1 < keys.length ? keys[i + 1][0] : (list.clip ? list.clip.end - list.clip.start : Infinity);
    const H = lane.canvas.clientHeight;
    const rect = lane.canvas.getBoundingClientRect();
    const grab = { x: e.clientX, y: e.clientY, pos: keys[i][0], val: keys[i][1] };
    this.selectedKf = { lane: lane.track, id: `${kind}:${i}` };
    const d = { lane, kind, i, base, pos: grab.pos, val: grab.val, shown: offset + grab.val, moved: false };
    this.studio.dragging = d;
    const move = (ev) => {
      const dx = ev.clientX - grab.x;
      const y = this.yOf(offset + grab.val, H) + (ev.clientY - grab.y);
      d.pos = Math.min(hi, Math.max(lo, Math.round(grab.pos + dx * this.view.spp)));
      const shown = Math.min(CURVE_TOP_DB, Math.max(-144, this.dbAt(Math.min(H, Math.max(0, y)), H)));
      d.val = Math.round((shown - offset) * 10) / 10;
      d.shown = offset + d.val;
      d.moved = d.moved || Math.abs(dx) > 0 || Math.abs(ev.clientY - grab.y) > 0;
      this.placeHandles(lane, t, rect.width, H);
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      this.studio.dragging = null;
      if (d.moved) this.studio.moveKeyframe(lane.track, kind, i, d.pos, d.val);
      else this.drawLane(lane);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  }

  addKeyframe(lane, e) {
    const rect = lane.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const pos = this.sampleAt(x);
    const t = this.studio.track(lane.track);
    const clip = t.clips.find((c) => c.end != null && pos >= c.start && pos < c.end);
    if (e.altKey && clip) {
      this.studio.addKeyframe(lane.track, `clip-${clip.index}`, pos - clip.start, this.dbAt(y, rect.height) - clip.effective_gain_db);
    } else {
      const offset = t.strip_db;
      this.studio.addKeyframe(lane.track, "track", pos, this.dbAt(y, rect.height) - offset);
    }
  }

  areaDown(lane, e) {
    if (e.target.dataset.keyframe || e.button !== 0) return;
    const rect = lane.canvas.getBoundingClientRect();
    const pos = this.sampleAt(e.clientX - rect.left);
    const t = this.studio.track(lane.track);
    const clip = t.clips.find((c) => c.end != null && pos >= c.start && pos < c.end);
    this.studio.select(lane.track, clip ? clip.index : null);
    if (!e.shiftKey) this.studio.seek(pos);
  }

  drawPlayhead(pos) {
    const x = this.x(pos);
    const left = this.lanesEl.getBoundingClientRect().left - this.playhead.parentElement.getBoundingClientRect().left;
    const head = document.querySelector(".head-spacer").offsetWidth;
    this.playhead.style.display = x < 0 || x > this.width ? "none" : "block";
    this.playhead.style.left = `${left + head + x}px`;
  }
}

export function fmtDb(db) {
  if (db <= -144) return "-∞";
  return (db > 0 ? "+" : "") + db.toFixed(1);
}

export function hexA(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}
