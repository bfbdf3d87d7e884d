// Cine: play a viewport's images at a number of frames per second, looping.
// A frame that has not arrived yet holds the loop (no skipping into black);
// the viewport prefetches ahead in the direction of play.

export class Cine {
  /** viewport: {nextCineIndex(), isReady(index), show(index), onCineChange()} */
  constructor(viewport) {
    this.viewport = viewport;
    this.fps = 10;
    this.playing = false;
    this.handle = 0;
    this.last = 0;
    this.tick = this.tick.bind(this);
  }

  start() {
    if (this.playing) return;
    this.playing = true;
    this.last = performance.now();
    this.handle = requestAnimationFrame(this.tick);
    this.viewport.onCineChange();
  }

  stop() {
    if (!this.playing) return;
    this.playing = false;
    cancelAnimationFrame(this.handle);
    this.viewport.onCineChange();
  }

  toggle() {
    if (this.playing) this.stop();
    else this.start();
  }

  setFps(fps) {
    const value = Number(fps);
    if (Number.isFinite(value)) this.fps = Math.min(120, Math.max(1, value));
    this.viewport.onCineChange();
  }

  tick(now) {
    if (!this.playing) return;
    const interval = 1000 / this.fps;
    if (now - this.last >= interval) {
      const next = this.viewport.nextCineIndex();
      if (this.viewport.isReady(next)) {
        this.viewport.show(next);
        // keep the cadence, but never try to catch up more than one frame
        this.last = now - Math.min(interval, now - this.last - interval);
      }
    }
    this.handle = requestAnimationFrame(this.tick);
  }
}
