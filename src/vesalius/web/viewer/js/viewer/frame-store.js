// Frames fetched, decoded and kept for the viewports.
//
// A bounded cache (least recently used goes first, counted in bytes) and a
// scheduler: each viewport says which frames it wants, most wanted first
// (the one on screen, then its neighbours); the store fetches a few at a time,
// taking the viewports' wishes in turn, and aborts a fetch nobody wants any
// more. A request is {key, load(signal) -> Promise<{value, bytes}>}: the store
// knows nothing of HTTP or pixels.

export class FrameStore {
  constructor({ maxBytes = 320 * 2 ** 20, concurrency = 4 } = {}) {
    this.maxBytes = maxBytes;
    this.concurrency = concurrency;
    this.cache = new Map(); // key -> {value, bytes}, oldest use first
    this.bytes = 0;
    this.wishes = new Map(); // owner -> [request, ...] most wanted first
    this.loading = new Map(); // key -> AbortController
    this.failures = new Map(); // key -> Error; not fetched again
    this.listeners = new Set();
    this.disposed = false;
  }

  /** The cached value of key (now the most recently used), or undefined. */
  get(key) {
    const entry = this.cache.get(key);
    if (!entry) return undefined;
    this.cache.delete(key);
    this.cache.set(key, entry);
    return entry.value;
  }

  has(key) {
    return this.cache.has(key);
  }

  failure(key) {
    return this.failures.get(key);
  }

  /** Replace what owner wants; the cached ones among them count as just used. */
  want(owner, requests) {
    if (this.disposed) return;
    this.wishes.set(owner, requests);
    for (let i = requests.length - 1; i >= 0; i -= 1) this.get(requests[i].key);
    this.abortUnwanted();
    this.pump();
  }

  /** Owner wants nothing more (a viewport closing). */
  forget(owner) {
    this.wishes.delete(owner);
    this.abortUnwanted();
    this.pump();
  }

  /** listener(key, value, error) after each fetch ends; returns the way to unsubscribe. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Abort everything and drop the cache. */
  dispose() {
    this.disposed = true;
    for (const controller of this.loading.values()) controller.abort();
    this.loading.clear();
    this.wishes.clear();
    this.cache.clear();
    this.listeners.clear();
    this.bytes = 0;
  }

  wanted() {
    const keys = new Set();
    for (const requests of this.wishes.values()) for (const request of requests) keys.add(request.key);
    return keys;
  }

  abortUnwanted() {
    const keys = this.wanted();
    for (const [key, controller] of this.loading) {
      if (!keys.has(key)) {
        controller.abort();
        this.loading.delete(key);
      }
    }
  }

  /** The most wanted request not yet cached, loading or failed: owners take turns by rank. */
  next() {
    const lists = [...this.wishes.values()];
    const longest = Math.max(0, ...lists.map((list) => list.length));
    for (let rank = 0; rank < longest; rank += 1) {
      for (const list of lists) {
        const request = list[rank];
        if (!request) continue;
        const { key } = request;
        if (!this.cache.has(key) && !this.loading.has(key) && !this.failures.has(key)) return request;
      }
    }
    return null;
  }

  pump() {
    while (!this.disposed && this.loading.size < this.concurrency) {
      const request = this.next();
      if (!request) return;
      this.start(request);
    }
  }

  start({ key, load }) {
    const controller = new AbortController();
    this.loading.set(key, controller);
    load(controller.signal).then(
      ({ value, bytes }) => {
        if (controller.signal.aborted || this.disposed) return;
        this.loading.delete(key);
        this.put(key, value, bytes);
        this.notify(key, value, null);
        this.pump();
      },
      (error) => {
        if (controller.signal.aborted || this.disposed) return;
        this.loading.delete(key);
        this.failures.set(key, error);
        this.notify(key, undefined, error);
        this.pump();
      },
    );
  }

  put(key, value, bytes) {
    this.cache.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldKey, entry] of this.cache) {
      if (this.bytes <= this.maxBytes || oldKey === key) break;
      this.cache.delete(oldKey);
      this.bytes -= entry.bytes;
      entry.value?.bitmap?.close?.();
    }
  }

  notify(key, value, error) {
    for (const listener of this.listeners) listener(key, value, error);
  }
}
