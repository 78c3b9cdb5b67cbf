// A minimal typed event emitter shaped like vscode.EventEmitter, so the runtime client, supervisor
// and job queue stay free of the `vscode` module and run in plain Node tests.
export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (value: T) => void) => Disposable;

export class Emitter<T> {
  private listeners = new Set<(value: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (error) {
        // One faulty listener must not stop the others (or the supervisor's own bookkeeping).
        console.error('letterpress: event listener failed', error);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
