// BS.1770 momentary (400 ms) and short-term (3 s) loudness of what plays, in an AudioWorklet.
// The K-weighting coefficients are mixdown's own (sent by the server for the session rate);
// the mean square is kept per 100 ms hop, as mixdown's meter does.
class KMeter extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.sos = o.sos;                 // [[b0, b1, b2, a0, a1, a2], ...]
    this.w = o.weights;
    this.z = this.w.map(() => this.sos.map(() => [0, 0]));
    this.hop = Math.round(sampleRate / 10);
    this.acc = 0;
    this.n = 0;
    this.hops = [];
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const frames = input[0].length;
    for (let i = 0; i < frames; i++) {
      let e = 0;
      for (let c = 0; c < input.length && c < this.w.length; c++) {
        let x = input[c][i];
        const zc = this.z[c];
        for (let s = 0; s < this.sos.length; s++) {
          const [b0, b1, b2, a0, a1, a2] = this.sos[s];
          const z = zc[s];
          const y = (b0 * x + z[0]) / a0;
          z[0] = (b1 * x - a1 * y) / a0 + z[1];
          z[1] = (b2 * x - a2 * y) / a0;
          x = y;
        }
        e += this.w[c] * x * x;
      }
      this.acc += e;
      if (++this.n === this.hop) {
        this.hops.push(this.acc / this.hop);
        if (this.hops.length > 30) this.hops.shift();
        this.acc = 0;
        this.n = 0;
        const mean = (k) => {
          if (this.hops.length < k) return null;
          let s = 0;
          for (let j = this.hops.length - k; j < this.hops.length; j++) s += this.hops[j];
          s /= k;
          return s > 0 ? -0.691 + 10 * Math.log10(s) : -Infinity;
        };
        this.port.postMessage({ m: mean(4), s: mean(30) });
      }
    }
    return true;
  }
}

registerProcessor("k-meter", KMeter);
