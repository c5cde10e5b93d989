// Playback: the preview bundle, fetched a segment at a time, mixed by Web Audio gain nodes.
//
// Each segment holds every track's post-fader signal as the server rendered it at some
// session version. A segment's stems go through a per-segment gain that corrects them
// from that version's effective gains to the ones the mixer shows now (so a fader acts at
// once, before the server has rendered the edit), then through the track's gain (mute and
// solo, as the server resolved them), the mix bus (A) and the master. The raw sum (B)
// goes straight to the master. Segments are scheduled back to back on the context clock,
// so tracks stay sample-aligned and A/B never moves the playhead.
import { binary } from "./api.js";

const AHEAD_S = 12;
export const dbToAmp = (db) => (db <= -144 ? 0 : Math.pow(10, db / 20));

export class Player {
  constructor(studio) {
    this.studio = studio;
    this.ctx = null;
    this.playing = false;
    this.startPos = 0;     // timeline sample at ctxStart
    this.ctxStart = 0;
    this.scheduled = [];   // {k, nodes, gains, version, end}
    this.nextK = 0;
    this.b = false;        // A/B: false = mix (A), true = raw sum (B)
    this.meter = { m: null, s: null };
    this.pos = 0;
  }

  async init(layout, config) {
    this.layout = layout;
    const sr = layout.sample_rate;
    this.ctx = new AudioContext({ sampleRate: sr, latencyHint: "interactive" });
    const ctx = this.ctx;
    this.master = ctx.createGain();
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 2048;
    this.mix = ctx.createGain();
    this.raw = ctx.createGain();
    this.raw.gain.value = 0;
    this.mix.connect(this.master);
    this.raw.connect(this.master);
    this.master.connect(this.analyser);
    this.analyser.connect(ctx.destination);
    this.tracks = new Map();
    for (const s of layout.stems) {
      const g = ctx.createGain();
      const an = ctx.createAnalyser();
      an.fftSize = 512;
      g.connect(an);
      g.connect(this.mix);
      this.tracks.set(s.track, { gain: g, analyser: an });
    }
    try {
      await ctx.audioWorklet.addModule("/static/meter-worklet.js");
      this.kmeter = new AudioWorkletNode(ctx, "k-meter", {
        numberOfInputs: 1, numberOfOutputs: 0, channelCount: layout.channels_per_stem, channelCountMode: "explicit",
        processorOptions: { sos: config.kweighting_sos, weights: weightsFor(layout.channels_per_stem) } });
      this.kmeter.port.onmessage = (e) => { this.meter = e.data; };
      this.master.connect(this.kmeter);
    } catch (err) {
      console.warn("loudness meter unavailable", err);
    }
    return ctx.state;
  }

  get suspended() { return !this.ctx || this.ctx.state !== "running"; }
  async resume() { if (this.ctx) await this.ctx.resume(); }

  position() {
    if (!this.playing) return this.pos;
    return Math.max(0, Math.round(this.startPos + (this.ctx.currentTime - this.ctxStart) * this.layout.sample_rate));
  }

  setLayout(layout) { this.layout = layout; }

  async play(from) {
    if (this.playing) this.stop();
    if (this.ctx.state !== "running") await this.ctx.resume().catch(() => {});
    this.playing = true;
    this.startPos = from;
    this.ctxStart = this.ctx.currentTime + 0.15;
    this.nextK = Math.floor(from / this.layout.segment_frames);
    this.pump();
    this.timer = setInterval(() => this.pump(), 500);
  }

  stop() {
    this.pos = this.position();
    this.playing = false;
    clearInterval(this.timer);
    for (const s of this.scheduled) for (const n of s.nodes) { try { n.stop(); } catch (_) { /* ended */ } }
    this.scheduled = [];
  }

  // Drop what is scheduled after the segment playing now and fetch it again (after an edit).
  refresh() {
    if (!this.playing) return;
    const now = this.position();
    const seg = this.layout.segment_frames;
    const keep = [];
    for (const s of this.scheduled) {
      if (s.k * seg > now + seg * 0.05 && s.k > Math.floor(now / seg)) {
        for (const n of s.nodes) { try { n.stop(); } catch (_) { /* */ } }
      } else keep.push(s);
    }
    this.scheduled = keep;
    this.nextK = keep.length ? Math.max(...keep.map((s) => s.k)) + 1 : Math.floor(now / seg);
    this.pump();
  }

  async pump() {
    if (!this.playing || this.busy) return;
    this.busy = true;
    try {
      const L = this.layout;
      const seg = L.segment_frames;
      this.scheduled = this.scheduled.filter((s) => s.endTime > this.ctx.currentTime - 1);
      while (this.playing && this.nextK * seg < L.frames &&
             this.timeOf(this.nextK * seg) < this.ctx.currentTime + AHEAD_S) {
        const k = this.nextK++;
        await this.schedule(k);
      }
      if (this.nextK * seg >= L.frames && this.ctx.currentTime > this.timeOf(L.frames)) this.studio.ended();
    } catch (err) {
      this.studio.message(`playback: ${err.message}`, true);
    } finally { this.busy = false; }
  }

  timeOf(sample) { return this.ctxStart + (sample - this.startPos) / this.layout.sample_rate; }

  async schedule(k) {
    const L = this.layout;
    const seg = L.segment_frames;
    const C = L.channels;
    const f0 = k * seg, f1 = Math.min(f0 + seg, L.frames);
    const a = L.header_bytes + f0 * C * 4, b = L.header_bytes + f1 * C * 4 - 1;
    const { buffer, headers } = await binary("/api/audio/preview.wav", { Range: `bytes=${a}-${b}` });
    if (!this.playing) return;
    const version = Number((headers.get("X-Segment-Versions") || "0").split(",")[0]);
    const data = new Float32Array(buffer);
    const n = data.length / C;
    const ctx = this.ctx;
    const per = L.channels_per_stem;
    const when = this.timeOf(f0);
    const offset = Math.max(0, this.startPos - f0) / L.sample_rate;
    const startAt = Math.max(when, ctx.currentTime);
    const lateBy = startAt - when;
    const rec = { k, nodes: [], gains: new Map(), version, endTime: when + n / L.sample_rate };
    const make = (first) => {
      const buf = ctx.createBuffer(per, n, L.sample_rate);
      for (let c = 0; c < per; c++) {
        const ch = buf.getChannelData(c);
        for (let i = 0, j = first + c; i < n; i++, j += C) ch[i] = data[j];
      }
      const src = ctx.createBufferSource();
      src.buffer = buf;
      rec.nodes.push(src);
      return src;
    };
    for (const s of L.stems) {
      const src = make(s.first_channel);
      const g = ctx.createGain();
      g.gain.value = dbToAmp(this.studio.correction(s.track, version));
      src.connect(g);
      g.connect(this.tracks.get(s.track).gain);
      rec.gains.set(s.track, g);
    }
    make(L.raw_first_channel).connect(this.raw);
    for (const src of rec.nodes) src.start(startAt, offset + lateBy);
    this.scheduled.push(rec);
  }

  // The mixer moved: set every scheduled segment's correction and every track's mute/solo gain.
  applyGains() {
    if (!this.ctx) return;
    const t = this.ctx.currentTime;
    for (const rec of this.scheduled) {
      for (const [track, g] of rec.gains) g.gain.setTargetAtTime(dbToAmp(this.studio.correction(track, rec.version)), t, 0.01);
    }
    for (const [track, node] of this.tracks) node.gain.gain.setTargetAtTime(this.studio.heard(track) ? 1 : 0, t, 0.005);
  }

  setAB(b) {
    this.b = b;
    const t = this.ctx.currentTime;
    this.mix.gain.setTargetAtTime(b ? 0 : 1, t, 0.004);
    this.raw.gain.setTargetAtTime(b ? 1 : 0, t, 0.004);
  }

  levels() {
    const out = {};
    const buf = new Float32Array(512);
    for (const [track, node] of this.tracks) {
      node.analyser.getFloatTimeDomainData(buf);
      let p = 0;
      for (let i = 0; i < buf.length; i++) p = Math.max(p, Math.abs(buf[i]));
      out[track] = p;
    }
    return out;
  }

  rms() {
    const buf = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(buf);
    let e = 0;
    for (let i = 0; i < buf.length; i++) e += buf[i] * buf[i];
    return Math.sqrt(e / buf.length);
  }
}

function weightsFor(channels) {
  // BS.1770 channel weights: L R C LFE Ls Rs
  if (channels === 6) return [1, 1, 1, 0, 1.41, 1.41];
  return new Array(channels).fill(1);
}
