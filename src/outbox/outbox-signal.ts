import { EventEmitter } from 'node:events';

/**
 * Tells the relay that ready rows were committed. In-process listeners hear it at once; the relay's wake-up
 * (which may also listen to PostgreSQL NOTIFY from other processes) subscribes here.
 */
export class OutboxSignal extends EventEmitter {
  readyRowsCommitted(): void {
    this.emit('ready');
  }

  onReady(listener: () => void): () => void {
    this.on('ready', listener);
    return () => this.off('ready', listener);
  }
}
