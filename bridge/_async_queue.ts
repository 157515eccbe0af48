// Private: a single-consumer async queue with a high-water mark, used between a call's producer and consumer.

/** A FIFO a producer pushes into and one consumer awaits; `push` resolves once the queue is below the mark. */
export class AsyncQueue<T> {
  readonly #items: T[] = [];
  readonly #highWater: number;
  #waiter: ((v: IteratorResult<T>) => void) | undefined;
  #drained: Array<() => void> = [];
  #closed = false;

  constructor(highWater = 16) {
    this.#highWater = highWater;
  }

  get size(): number {
    return this.#items.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds an item; the promise resolves when the consumer has room again (backpressure). Ignored after close. */
  push(item: T): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w({ value: item, done: false });
      return Promise.resolve();
    }
    this.#items.push(item);
    if (this.#items.length < this.#highWater) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** No more items: the consumer sees the end after the queued ones. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#items.length === 0) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.({ value: undefined, done: true });
    }
    this.#release();
  }

  /** Drops what is queued and closes. */
  clear(): void {
    this.#items.length = 0;
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) {
      const item = this.#items.shift() as T;
      if (this.#items.length < this.#highWater) this.#release();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }

  #release(): void {
    const d = this.#drained;
    this.#drained = [];
    for (const r of d) r();
  }
}
