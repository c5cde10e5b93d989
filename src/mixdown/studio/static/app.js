// mixdown studio: the page's controller. It holds the session as data (the session file's
// schema), sends every edit to the server (which validates it as `mixdown render` would and
// answers with the lanes as the renderer sees them), and keeps undo/redo as session snapshots.
import { get, send } from "./api.js";
import { Player } from "./audio.js";
import { Mixer } from "./mixer.js";
import { Side } from "./side.js";
import { Timeline, fmtDb, timecode } from "./timeline.js";

class Studio {
  constructor() {
    this.undoStack = [];
    this.redoStack = [];
    this.queue = Promise.resolve();
    this.versions = new Map();       // session version -> {track: effective dB}
    this.live = null;                // a fader being moved: {kind, name, delta}
    this.speech = {};
    this.selectedClip = null;
    this.selectedTracks = new Set();
    this.dragging = null;
    this.firstWaveformAt = null;
    this.heardOverride = new Map();
    this.player = new Player(this);
  }

  async init() {
    this.config = await get("/api/config");
    document.getElementById("session-name").textContent = this.config.name;
    document.title = `${this.config.name} — mixdown studio`;
    this.session = await get("/api/session");
    this.setLanes(await get("/api/lanes"));
    const state = await get("/api/state");
    this.timeline = new Timeline(this);
    this.mixer = new Mixer(this);
    this.side = new Side(this);
    this.timeline.build();
    this.mixer.build();
    this.shape = this.shapeOf();
    this.side.init();
    this.bind();
    const audio = await this.player.init(state.preview, this.config);
    console.info(`studio: audio ${audio}`);
    this.audioGate(audio !== "running");
    if (this.config.import_notes.length) this.message(`imported: ${this.config.import_notes.length} note(s) — ${this.config.import_notes[0]}`);
    this.poll();
    this.tick();
    this.ready = true;
  }

  // -- state the views read --------------------------------------------------------

  setLanes(lanes) {
    this.lanes = lanes;
    const eff = {};
    for (const t of lanes.tracks) eff[t.name] = t.effective_db;
    this.versions.set(lanes.version, eff);
    this.heardOverride.clear();
  }

  shapeOf() {
    return JSON.stringify([this.lanes.tracks.map((t) => t.name), this.lanes.buses.map((b) => b.name),
                           this.lanes.groups.map((g) => g.name)]);
  }

  track(name) { return this.lanes.tracks.find((t) => t.name === name); }
  heard(name) {
    if (this.heardOverride.has(name)) return this.heardOverride.get(name);
    const t = this.track(name);
    return t ? t.heard : false;
  }
  position() { return this.player.position(); }

  path(track) {
    // the strips a track's signal passes on its way to the master (for live fader corrections)
    const out = [track];
    let node = this.track(track)?.output;
    const seen = new Set(out);
    while (node && node !== "master" && !seen.has(node)) { out.push(node); seen.add(node); node = this.lanes.buses.find((b) => b.name === node)?.output; }
    return out;
  }

  liveDelta(track) {
    const l = this.live;
    if (!l) return 0;
    if (l.kind === "master") return l.delta;
    const path = this.path(track);
    if (l.kind === "track" || l.kind === "bus") return path.includes(l.name) ? l.delta : 0;
    const g = this.lanes.groups.find((x) => x.name === l.name);
    return g && g.members.some((m) => path.includes(m)) ? l.delta : 0;
  }

  // dB to apply to a segment rendered at `version` so it sounds as the mixer is set now
  correction(track, version) {
    const t = this.track(track);
    if (!t) return 0;
    const now = t.effective_db + this.liveDelta(track);
    const then = this.versions.get(version)?.[track];
    return then === undefined ? this.liveDelta(track) : now - then;
  }

  keyList(t, kind) {
    if (kind === "track") return { keys: t.keyframes };
    if (kind === "auto") return t.auto ? { keys: t.auto.keyframes } : null;
    const clip = t.clips.find((c) => c.index === Number(kind.split("-")[1]));
    if (!clip) return null;
    if (kind.startsWith("clipauto")) return clip.auto ? { keys: clip.auto.keyframes, clip } : null;
    return { keys: clip.keyframes, clip };
  }

  // -- edits ---------------------------------------------------------------------------

  item(data, kind, name) {
    if (kind === "track") return data.tracks.find((t) => t.name === name);
    if (kind === "bus") return (data.buses || []).find((b) => b.name === name);
    if (kind === "group") return (data.groups || []).find((g) => g.name === name);
    if (!data.master) data.master = {};
    return data.master;
  }

  commit(label, mutate) {
    this.queue = this.queue.then(async () => {
      const prev = structuredClone(this.session);
      const next = structuredClone(this.session);
      mutate(next);
      try {
        await this.apply(next);
        this.undoStack.push(prev);
        this.redoStack = [];
      } catch (err) {
        this.message(`${label}: ${err.message}`, true);
        this.live = null;
        this.refreshViews();
      }
    });
    return this.queue;
  }

  async apply(data) {
    const r = await send("PUT", "/api/session", data);
    this.session = await get("/api/session");
    this.live = null;
    this.setLanes(r.lanes);
    this.message(`edited (version ${r.version})`);
    this.refreshViews(r.affected !== undefined);
    if (r.affected !== null && !(r.affected && r.affected[0] === 0 && r.affected[1] === 0)) this.player.refresh();
    this.side.sessionChanged();
  }

  refreshViews(refetch = true) {
    // strips and lanes come and go with tracks, buses and groups: rebuild them then
    const shape = this.shapeOf();
    if (shape !== this.shape) { this.mixer.build(); this.timeline.build(); this.shape = shape; }
    this.mixer.refresh();
    this.timeline.refreshHeads();
    for (const lane of this.timeline.lanes.values()) this.timeline.drawLane(lane);
    if (refetch) this.timeline.refetch();
    this.player.applyGains();
  }

  undo() {
    this.queue = this.queue.then(async () => {
      if (!this.undoStack.length) return this.message("nothing to undo");
      const prev = this.undoStack.pop();
      const cur = structuredClone(this.session);
      try { await this.apply(prev); this.redoStack.push(cur); this.message("undone"); }
      catch (err) { this.undoStack.push(prev); this.message(`undo: ${err.message}`, true); }
    });
    return this.queue;
  }

  redo() {
    this.queue = this.queue.then(async () => {
      if (!this.redoStack.length) return this.message("nothing to redo");
      const next = this.redoStack.pop();
      const cur = structuredClone(this.session);
      try { await this.apply(next); this.undoStack.push(cur); this.message("redone"); }
      catch (err) { this.redoStack.push(next); this.message(`redo: ${err.message}`, true); }
    });
    return this.queue;
  }

  liveFader(kind, name, db) {
    const item = kind === "master" ? this.lanes.master : this.lanes[kind === "track" ? "tracks" : kind === "bus" ? "buses" : "groups"].find((x) => x.name === name);
    this.live = { kind, name, delta: db - (item ? item.gain_db : 0) };
    this.player.applyGains();
  }

  setParam(kind, name, param, value) {
    if (param === "mute" || param === "solo") {
      // heard at once where the answer is obvious; the server's answer follows
      if (kind === "track" && param === "mute") this.heardOverride.set(name, !value && this.heard(name));
      this.player.applyGains();
    }
    return this.commit(`${name} ${param}`, (d) => {
      const it = this.item(d, kind, name);
      if (it) it[param] = value;
    });
  }

  setClip(track, index, param, value) {
    return this.commit(`${track} clip ${index + 1} ${param}`, (d) => {
      const clip = d.tracks.find((t) => t.name === track).clips[index];
      clip[param] = value;
    });
  }

  addGroup(name, members) {
    return this.commit(`group ${name}`, (d) => { d.groups = [...(d.groups || []), { name, members }]; });
  }

  keysIn(d, track, kind) {
    const t = d.tracks.find((x) => x.name === track);
    if (kind === "track") { t.automation = t.automation || {}; return { owner: t.automation, t }; }
    if (kind === "auto") return { owner: this.autoLayer(t, "automation.gain_db").automation, t };
    const clip = t.clips[Number(kind.split("-")[1])];
    if (kind.startsWith("clipauto")) return { owner: this.autoLayer(clip, "automation.gain_db").automation, t };
    clip.automation = clip.automation || {};
    return { owner: clip.automation, t };
  }

  // a hand edit of an auto value is marked in its layer's `edited`, so auto's next run keeps it
  autoLayer(item, name) {
    item.auto = item.auto || {};
    item.auto.automation = item.auto.automation || {};
    item.auto.edited = Array.from(new Set([...(item.auto.edited || []), name]));
    return item.auto;
  }

  setClipAuto(track, index, value) {
    return this.commit(`${track} clip ${index + 1} auto gain`, (d) => {
      const clip = d.tracks.find((t) => t.name === track).clips[index];
      this.autoLayer(clip, "gain_db").gain_db = value;
    });
  }

  secs(samples) { return Math.round((samples / this.config.sample_rate) * 1e6) / 1e6; }

  moveKeyframe(track, kind, i, pos, val) {
    return this.commit(`move keyframe`, (d) => {
      const { owner } = this.keysIn(d, track, kind);
      const kf = owner.gain_db[i];
      owner.gain_db[i] = kf.length > 2 ? [this.secs(pos), val, kf[2]] : [this.secs(pos), val];
    });
  }

  addKeyframe(track, kind, pos, val) {
    return this.commit(`add keyframe`, (d) => {
      const { owner } = this.keysIn(d, track, kind);
      const list = owner.gain_db || [];
      const at = this.keyList(this.track(track), kind).keys.filter((k) => k[0] <= pos).length;
      const prev = list[at - 1];
      const interp = prev && prev.length > 2 ? prev[2] : "exp";
      list.splice(at, 0, interp === "linear" ? [this.secs(pos), Math.round(val * 10) / 10]
                                             : [this.secs(pos), Math.round(val * 10) / 10, interp]);
      owner.gain_db = list;
    });
  }

  deleteKeyframe(track, kind, i) {
    return this.commit(`delete keyframe`, (d) => {
      const { owner } = this.keysIn(d, track, kind);
      owner.gain_db.splice(i, 1);
      if (!owner.gain_db.length) delete owner.gain_db;
    });
  }

  // -- transport ---------------------------------------------------------------------

  async togglePlay() {
    if (this.player.playing) { this.player.stop(); this.setPlayButton(false); return; }
    if (this.player.suspended) {
      await this.player.resume().catch(() => {});
      if (this.player.suspended) { this.audioGate(true); return; }
    }
    await this.player.play(this.position());
    this.setPlayButton(true);
  }

  setPlayButton(on) {
    const b = document.querySelector('[data-action="play"]');
    b.innerHTML = on ? "&#9632;" : "&#9654;";
    b.setAttribute("aria-pressed", String(on));
  }

  ended() { this.player.stop(); this.player.pos = 0; this.setPlayButton(false); }

  seek(pos) {
    pos = Math.max(0, Math.min(pos, this.lanes.length));
    if (this.player.playing) this.player.play(pos); else this.player.pos = pos;
    this.timeline.drawPlayhead(pos);
    this.updateClock(pos);
  }

  toggleAB() {
    const b = !this.player.b;
    this.player.setAB(b);
    const btn = document.querySelector('[data-action="ab"]');
    btn.textContent = b ? "B" : "A";
    btn.setAttribute("aria-pressed", String(b));
    btn.title = b ? "B: the raw sum (every clip at unity, no processing)" : "A: the mix";
  }

  audioGate(show) {
    const gate = document.getElementById("audio-gate");
    gate.hidden = !show;
    document.body.dataset.audio = show ? "blocked" : "enabled";
  }

  select(track, clipIndex) {
    this.selectedClip = clipIndex === null ? null : { track, index: clipIndex };
    for (const lane of this.timeline.lanes.values()) {
      lane.el.classList.toggle("selected", lane.track === track);
      this.timeline.drawLane(lane);
    }
    this.mixer.refreshClip();
  }

  toggleSelected(name, multi) {
    if (!multi) { const had = this.selectedTracks.has(name) && this.selectedTracks.size === 1; this.selectedTracks.clear(); if (!had) this.selectedTracks.add(name); }
    else if (this.selectedTracks.has(name)) this.selectedTracks.delete(name); else this.selectedTracks.add(name);
    this.mixer.refresh();
  }

  async save() {
    const el = document.querySelector('[data-status="save"]');
    el.textContent = "saving…";
    await this.queue;
    try {
      const r = await send("POST", "/api/save");
      el.textContent = `saved ${r.path}`;
    } catch (err) { el.textContent = `save failed: ${err.message}`; }
  }

  async exportTimeline() {
    await this.queue;
    try {
      const r = await send("POST", "/api/export", { format: document.getElementById("export-format").value });
      this.message(`exported ${r.path}${r.notes.length ? ` (${r.notes.length} note(s): ${r.notes[0]})` : ""}`);
    } catch (err) { this.message(`export: ${err.message}`, true); }
  }

  message(text, error = false) {
    const el = document.querySelector('[data-status="message"]');
    el.textContent = text;
    el.classList.toggle("error", error);
  }

  updateClock(pos) {
    document.getElementById("clock").textContent = timecode(pos, this.config);
  }

  bind() {
    const on = (action, fn) => document.querySelector(`[data-action="${action}"]`).addEventListener("click", fn);
    on("play", () => this.togglePlay());
    on("ab", () => this.toggleAB());
    on("undo", () => this.undo());
    on("redo", () => this.redo());
    on("save", () => this.save());
    on("render", () => this.side.render());
    on("export", () => this.exportTimeline());
    on("zoom-in", () => this.timeline.zoom(2));
    on("zoom-out", () => this.timeline.zoom(0.5));
    on("zoom-fit", () => this.timeline.fit());
    on("enable-audio", async () => { await this.player.resume(); this.audioGate(this.player.suspended); });
    window.addEventListener("keydown", (e) => {
      if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
      const k = e.key;
      if (k === " ") { e.preventDefault(); this.togglePlay(); }
      else if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === "z") { e.preventDefault(); if (e.shiftKey) this.redo(); else this.undo(); }
      else if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === "y") { e.preventDefault(); this.redo(); }
      else if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === "s") { e.preventDefault(); this.save(); }
      else if (k === "+" || k === "=") this.timeline.zoom(2);
      else if (k === "-") this.timeline.zoom(0.5);
      else if (k === "0") this.timeline.fit();
      else if (k.toLowerCase() === "a" && !e.ctrlKey) this.toggleAB();
      else if ((k === "Delete" || k === "Backspace") && this.timeline.selectedKf) {
        const { lane, id } = this.timeline.selectedKf;
        const [kind, i] = id.split(":");
        this.timeline.selectedKf = null;
        this.deleteKeyframe(lane, kind, Number(i));
      }
    });
  }

  async poll() {
    try {
      const st = await get("/api/state");
      this.player.setLayout(st.preview);
      if (st.speech === "ready" && !this.speechLoaded) {
        this.speech = (await get("/api/speech")).regions;
        this.speechLoaded = true;
        for (const lane of this.timeline.lanes.values()) this.timeline.drawLane(lane);
      }
      await this.side.poll(st);
      document.querySelector('[data-action="save"]').classList.toggle("dirty", st.version !== st.saved_version);
    } catch (err) { this.message(`server: ${err.message}`, true); }
    setTimeout(() => this.poll(), 800);
  }

  tick() {
    const pos = this.position();
    if (this.player.playing) {
      this.timeline.drawPlayhead(pos);
      this.updateClock(pos);
      const w = this.timeline.width * this.timeline.view.spp;
      if (pos > this.timeline.view.start + w) this.timeline.setStart(pos - w * 0.1);
      const levels = this.player.levels();
      levels.__master = Math.sqrt(2) * this.player.rms();
      this.mixer.meters(levels);
      this.side.meter(this.player.meter);
    }
    requestAnimationFrame(() => this.tick());
  }
}

const studio = new Studio();
window.studio = studio;
studio.init().catch((err) => { studio.message(`could not open the studio: ${err.message}`, true); console.error(err); });
export { fmtDb };
