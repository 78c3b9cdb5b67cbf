// Download progress of the model store on stderr, for the commands that may fetch a model.
import type { ProgressEvent } from '../protocol/generationTypes.ts';
import { formatBytes } from '../protocol/byteSize.ts';

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** Writes progress to stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
export function downloadProgressPrinter(stream: NodeJS.WriteStream): (event: ProgressEvent) => void {
  let lastLineAt = 0;
  return (event) => {
    if (event.status === 'message') {
      stream.write(`${stream.isTTY ? '\r\x1b[K' : ''}${event.text}\n`);
      return;
    }
    if (event.status !== 'download') return;
    const speed = event.bytesPerSecond > 0 ? ` ${formatBytes(event.bytesPerSecond)}/s` : '';
    const eta = event.etaSeconds !== null ? ` ETA ${formatDuration(event.etaSeconds)}` : '';
    const others = (event.filesInFlight ?? 1) > 1 ? ` (+${event.filesInFlight! - 1} more)` : '';
    const line =
      `${event.file} ${formatBytes(event.fileBytes)}/${formatBytes(event.fileTotal)}${others}` +
      ` | total ${formatBytes(event.bytes)}/${formatBytes(event.total)}${speed}${eta}`;
    if (stream.isTTY) {
      stream.write(`\r\x1b[K${line}`);
      if (event.bytes >= event.total) stream.write('\n');
      return;
    }
    const now = Date.now();
    const fileDone = event.fileBytes >= event.fileTotal;
    if (fileDone || now - lastLineAt > 2_000) {
      stream.write(`${line}\n`);
      lastLineAt = now;
    }
  };
}
