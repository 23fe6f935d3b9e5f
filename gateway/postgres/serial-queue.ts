/**
 * Processes items strictly in order with handlers that are usually synchronous and sometimes
 * async (an audit write, an approval, a catalog lookup). The synchronous path allocates no
 * promises; while an async step is pending, `busy` tells the producer to pause its socket.
 */
export class SerialQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private running = false;
  private stopped = false;

  constructor(
    private readonly handle: (item: T) => void | Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly onIdle: () => void,
  ) {}

  get busy(): boolean {
    return this.running;
  }

  push(items: readonly T[]): void {
    for (const item of items) this.items.push(item);
    if (!this.running) this.drain();
  }

  stop(): void {
    this.stopped = true;
    this.items.length = 0;
    this.head = 0;
  }

  private drain(): void {
    while (!this.stopped && this.head < this.items.length) {
      const item = this.items[this.head++]!;
      let result: void | Promise<void>;
      try {
        result = this.handle(item);
      } catch (error) {
        this.onError(error);
        return;
      }
      if (result) {
        this.running = true;
        result.then(
          () => {
            this.running = false;
            this.drain();
          },
          (error: unknown) => {
            this.running = false;
            this.onError(error);
          },
        );
        return;
      }
    }
    this.items.length = 0;
    this.head = 0;
    if (!this.stopped) this.onIdle();
  }
}
