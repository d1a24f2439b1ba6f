// The annotation being edited: tempo, downbeat and sections, with undo and redo.
// No DOM here: app.js draws it and turns clicks and keys into these calls.

const EPSILON = 0.05; // seconds: two boundaries closer than this are one

export class Editor {
  constructor(doc, onChange = () => {}) {
    this.onChange = onChange;
    this.duration = doc.duration;
    this.state = {
      bpm: doc.bpm,
      downbeat: doc.downbeat,
      sections: doc.structure.map((s) => ({ time: s.time, label: s.label, confidence: s.confidence })),
    };
    this.beatsPerBar = doc.beats_per_bar || 4;
    this.undoStack = [];
    this.redoStack = [];
    this.dirty = false;
    this.selected = 0;
  }

  get barSeconds() { return (this.beatsPerBar * 60) / this.state.bpm; }
  get beatSeconds() { return 60 / this.state.bpm; }

  snap(time) {
    const bar = this.barSeconds;
    const snapped = this.state.downbeat + Math.round((time - this.state.downbeat) / bar) * bar;
    const inside = snapped >= 0 && snapped < this.duration ? snapped : time;
    return Math.round(inside * 1000) / 1000;
  }

  sectionAt(time) {
    let found = 0;
    this.state.sections.forEach((s, i) => { if (s.time <= time + 1e-6) found = i; });
    return found;
  }

  change(mutate) {
    const before = JSON.stringify(this.state);
    const result = mutate(this.state);
    if (result === false || JSON.stringify(this.state) === before) {
      this.state = JSON.parse(before);
      this.onChange();
      return false;
    }
    this.state.sections.sort((a, b) => a.time - b.time);
    this.undoStack.push(before);
    this.redoStack = [];
    this.dirty = true;
    this.onChange();
    return true;
  }

  undo() { return this._swap(this.undoStack, this.redoStack); }
  redo() { return this._swap(this.redoStack, this.undoStack); }

  _swap(from, to) {
    if (!from.length) return false;
    to.push(JSON.stringify(this.state));
    this.state = JSON.parse(from.pop());
    this.selected = Math.min(this.selected, this.state.sections.length - 1);
    this.dirty = true;
    this.onChange();
    return true;
  }

  addBoundary(time, quantise) {
    const at = quantise ? this.snap(time) : Math.round(time * 1000) / 1000;
    if (at < 0 || at >= this.duration) return false;
    if (this.state.sections.some((s) => Math.abs(s.time - at) < EPSILON)) return false;
    const label = this.state.sections[this.sectionAt(at)]?.label || "unlabeled";
    const done = this.change((state) => { state.sections.push({ time: at, label, confidence: null }); });
    if (done) this.selected = this.state.sections.findIndex((s) => s.time === at);
    return done;
  }

  moveBoundary(index, time, quantise) {
    const at = quantise ? this.snap(time) : Math.round(time * 1000) / 1000;
    const sections = this.state.sections;
    const previous = index > 0 ? sections[index - 1].time : -Infinity;
    const next = index + 1 < sections.length ? sections[index + 1].time : this.duration;
    if (!(at > previous + EPSILON && at < next - EPSILON) || at < 0) {
      this.onChange(); // back where it was
      return false;
    }
    this.selected = index;
    return this.change((state) => { state.sections[index].time = at; });
  }

  deleteBoundary(index) {
    if (this.state.sections.length <= 1 || index < 0) return false;
    const done = this.change((state) => { state.sections.splice(index, 1); });
    this.selected = Math.max(0, index - 1);
    this.onChange();
    return done;
  }

  relabel(index, label) {
    return this.change((state) => {
      if (!state.sections[index]) return false;
      state.sections[index].label = label;
      return undefined;
    });
  }

  setBpm(bpm) {
    if (!(bpm >= 20 && bpm <= 400)) { this.onChange(); return false; }
    return this.change((state) => { state.bpm = Math.round(bpm * 1000) / 1000; });
  }

  setDownbeat(time) {
    if (!(time >= 0 && time < this.duration)) { this.onChange(); return false; }
    return this.change((state) => { state.downbeat = Math.round(time * 1000) / 1000; });
  }

  bar(time) {
    return Math.max(1, 1 + Math.round((time - this.state.downbeat) / this.barSeconds));
  }

  payload(reviewed) {
    return {
      bpm: this.state.bpm,
      downbeat: this.state.downbeat,
      structure: this.state.sections.map((s) => ({ time: s.time, label: s.label, confidence: s.confidence })),
      reviewed,
    };
  }
}

// Tempo from tap times (ms): the median interval of the last 8 taps; null under 4 taps or
// after a pause of more than 2 s (which starts a new count).
export function tapTempo(taps) {
  const recent = [];
  for (let i = taps.length - 1; i >= 0 && recent.length < 8; i--) {
    if (recent.length && recent[0] - taps[i] > 2000) break;
    recent.unshift(taps[i]);
  }
  if (recent.length < 4) return null;
  const gaps = recent.slice(1).map((t, i) => t - recent[i]).sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  return Math.round((60000 / median) * 100) / 100;
}
