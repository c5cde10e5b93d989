// The mixer: a strip per track (fader, pan, mute, solo, colour), per bus, per group (a VCA
// fader over its members) and the master; and the clip mixer for the selected clip.
// Fader positions map to dB by the server's fader law.
import { fmtDb, makeScale } from "./timeline.js";

export class Mixer {
  constructor(studio) {
    this.studio = studio;
    this.el = document.getElementById("strips");
    this.clipEl = document.getElementById("clip-mixer");
    this.taper = studio.config.taper;
    this.scale = makeScale(this.taper);
    this.strips = new Map();
  }

  pos(db) { return Math.round(this.scale.toPos(db) * this.taper.steps); }
  db(pos) { return Math.round(this.scale.toDb(pos / this.taper.steps) * 10) / 10; }

  build() {
    const L = this.studio.lanes;
    this.el.textContent = "";
    this.strips.clear();
    for (const t of L.tracks) this.strip("track", t);
    for (const b of L.buses) this.strip("bus", b);
    for (const g of L.groups) this.strip("group", g);
    this.strip("master", L.master);
    const add = document.createElement("div");
    add.className = "strip add";
    add.innerHTML = `<div class="cap" style="--c:#444"></div><div class="sname dim">groups</div>
      <button data-action="new-group" title="A VCA group over the selected tracks">+ group</button>`;
    add.querySelector("button").addEventListener("click", () => this.newGroup());
    this.el.appendChild(add);
    this.refresh();
  }

  strip(kind, item) {
    const el = document.createElement("div");
    el.className = `strip ${kind}`;
    const key = kind === "track" ? "track" : kind === "bus" ? "bus" : kind === "group" ? "group" : "strip";
    el.dataset[key] = item.name;
    const pan = kind === "track" || kind === "bus";
    const ms = kind !== "master";
    el.innerHTML = `
      <div class="cap"></div>
      <div class="sname"></div>
      <div class="kind"></div>
      ${kind === "master" ? "" : '<input type="color" data-param="color" title="Colour">'}
      <div class="grp"></div>
      ${pan ? '<input type="range" class="pan" data-param="pan" min="-100" max="100" step="1" title="Pan">' : '<div style="height:16px"></div>'}
      <div class="fader-row">
        <div class="scale"></div>
        <input type="range" data-param="gain_db" min="0" max="${this.taper.steps}" step="1" title="Fader">
        <canvas class="vu" width="8" height="150"></canvas>
      </div>
      <input class="db" data-param="gain_db_text" title="Fader, dB">
      ${ms ? '<div class="ms"><button data-param="mute" aria-pressed="false" title="Mute">M</button><button data-param="solo" aria-pressed="false" title="Solo">S</button></div>' : ""}`;
    el.querySelector(".sname").textContent = item.name;
    const scale = el.querySelector(".scale");
    for (const m of this.taper.marks_db) {
      const s = document.createElement("span");
      s.textContent = m > 0 ? `+${m}` : `${m}`;
      s.style.top = `${(1 - this.scale.toPos(m)) * 100}%`;
      scale.appendChild(s);
    }
    const fader = el.querySelector('[data-param="gain_db"]');
    const text = el.querySelector('[data-param="gain_db_text"]');
    fader.addEventListener("input", () => {
      const db = this.db(Number(fader.value));
      text.value = fmtDb(db);
      this.studio.liveFader(kind, item.name, db);
    });
    fader.addEventListener("change", () => this.studio.setParam(kind, item.name, "gain_db", this.db(Number(fader.value))));
    fader.addEventListener("dblclick", () => this.studio.setParam(kind, item.name, "gain_db", 0));
    text.addEventListener("change", () => {
      const v = text.value.trim() === "-∞" ? -144 : Number(text.value);
      if (Number.isFinite(v)) this.studio.setParam(kind, item.name, "gain_db", Math.max(-144, Math.min(48, v)));
      else this.refresh();
    });
    if (pan) {
      const p = el.querySelector('[data-param="pan"]');
      p.addEventListener("change", () => this.studio.setParam(kind, item.name, "pan", Number(p.value) / 100));
      p.addEventListener("dblclick", () => this.studio.setParam(kind, item.name, "pan", 0));
    }
    if (ms) {
      for (const param of ["mute", "solo"]) {
        const b = el.querySelector(`[data-param="${param}"]`);
        b.addEventListener("click", () => this.studio.setParam(kind, item.name, param, b.getAttribute("aria-pressed") !== "true"));
      }
    }
    const color = el.querySelector('[data-param="color"]');
    if (color) color.addEventListener("change", () => this.studio.setParam(kind, item.name, "color", color.value));
    el.querySelector(".sname").addEventListener("click", (e) => {
      if (kind === "track") this.studio.toggleSelected(item.name, e.ctrlKey || e.metaKey || e.shiftKey);
    });
    this.el.appendChild(el);
    this.strips.set(`${kind}:${item.name}`, { el, kind, name: item.name });
  }

  // Show the session's values (after every commit, undo or refused edit).
  refresh() {
    const L = this.studio.lanes;
    const groupsOf = (name) => L.groups.filter((g) => g.members.includes(name)).map((g) => g.name);
    const items = [...L.tracks.map((t) => ["track", t]), ...L.buses.map((b) => ["bus", b]),
                   ...L.groups.map((g) => ["group", g]), ["master", L.master]];
    for (const [kind, item] of items) {
      const s = this.strips.get(`${kind}:${item.name}`);
      if (!s) continue;
      const el = s.el;
      const color = item.color || "#c9b458";
      el.style.setProperty("--c", color);
      el.querySelector(".cap").style.background = color;
      el.querySelector('[data-param="gain_db"]').value = String(this.pos(item.gain_db));
      el.querySelector('[data-param="gain_db_text"]').value = fmtDb(item.gain_db);
      const c = el.querySelector('[data-param="color"]');
      if (c) c.value = color;
      const p = el.querySelector('[data-param="pan"]');
      if (p) p.value = String(Math.round((item.pan || 0) * 100));
      for (const param of ["mute", "solo"]) {
        const b = el.querySelector(`[data-param="${param}"]`);
        if (b) b.setAttribute("aria-pressed", String(!!item[param]));
      }
      const kindLabel = el.querySelector(".kind");
      kindLabel.textContent = kind === "track" ? `${item.role} → ${item.output}` : kind === "bus" ? `bus → ${item.output}`
        : kind === "group" ? `vca · ${item.members.length}` : "master";
      const auto = item.auto && item.auto.gain_db ? `auto ${fmtDb(item.auto.gain_db)} ` : "";
      el.querySelector(".grp").textContent = kind === "group" ? item.members.join(", ") : auto + groupsOf(item.name).join(" ");
      el.classList.toggle("selected", this.studio.selectedTracks.has(item.name));
      if (kind === "track") el.style.opacity = this.studio.heard(item.name) ? "1" : "0.6";
    }
    this.refreshClip();
  }

  meters(levels) {
    for (const s of this.strips.values()) {
      const cv = s.el.querySelector("canvas.vu");
      if (!cv) continue;
      const p = s.kind === "track" ? levels[s.name] || 0 : s.kind === "master" ? levels.__master || 0 : 0;
      const g = cv.getContext("2d");
      const h = cv.height;
      g.fillStyle = "#0d0f12"; g.fillRect(0, 0, 8, h);
      const db = p > 0 ? 20 * Math.log10(p) : -144;
      const frac = Math.max(0, Math.min(1, (db + 60) / 60));
      const grad = g.createLinearGradient(0, h, 0, 0);
      grad.addColorStop(0, "#3fbf6a"); grad.addColorStop(0.75, "#d6d24a"); grad.addColorStop(1, "#e5534b");
      g.fillStyle = grad;
      g.fillRect(1, h * (1 - frac), 6, h * frac);
    }
  }

  refreshClip() {
    const sel = this.studio.selectedClip;
    const el = this.clipEl;
    el.innerHTML = '<h4>Clip mixer</h4>';
    if (!sel) { el.insertAdjacentHTML("beforeend", '<p class="dim">Click a clip on the timeline to set its gain.<br>' +
      'Double-click a lane adds a keyframe (Alt: on the clip); drag to move, right-click to delete.</p>'); return; }
    const t = this.studio.track(sel.track);
    const clip = t && t.clips.find((c) => c.index === sel.index);
    if (!clip) return;
    el.insertAdjacentHTML("beforeend", `<div><b></b> <span class="dim"></span></div>
      <label>Clip gain <input type="number" step="0.1" min="-144" max="48" data-param="clip_gain_db"> dB</label>
      <label>Mute clip <input type="checkbox" data-param="clip_mute"></label>
      <div class="dim"></div>`);
    el.querySelector("b").textContent = clip.name;
    el.querySelector("span.dim").textContent = `${sel.track} · ${clip.source}`;
    const g = el.querySelector('[data-param="clip_gain_db"]');
    g.value = String(clip.gain_db);
    g.addEventListener("change", () => this.studio.setClip(sel.track, sel.index, "gain_db", Number(g.value)));
    const m = el.querySelector('[data-param="clip_mute"]');
    m.checked = clip.mute;
    m.addEventListener("change", () => this.studio.setClip(sel.track, sel.index, "mute", m.checked));
    el.lastElementChild.textContent = `${clip.keyframes.length} clip keyframe(s)`;
    if (clip.auto) {
      // auto's leveling of this clip, apart from the hand gain; changing it marks it edited
      el.insertAdjacentHTML("beforeend", `<label>Auto gain <input type="number" step="0.1" min="-144" max="48" data-param="clip_auto_gain_db"> dB</label>
        <div class="dim">${clip.auto.edited.includes("gain_db") ? "edited by hand: auto keeps it" : "auto's; re-run auto to refresh"}</div>`);
      const a = el.querySelector('[data-param="clip_auto_gain_db"]');
      a.value = String(clip.auto.gain_db);
      a.addEventListener("change", () => this.studio.setClipAuto(sel.track, sel.index, Number(a.value)));
    }
  }

  newGroup() {
    const members = [...this.studio.selectedTracks];
    if (!members.length) { this.studio.message("select tracks first: click strip names (Ctrl for more)", true); return; }
    const existing = new Set(this.studio.lanes.groups.map((g) => g.name));
    let n = 1;
    while (existing.has(`Group ${n}`)) n++;
    this.studio.addGroup(`Group ${n}`, members);
  }
}
