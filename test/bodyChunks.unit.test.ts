// A fetch body whose read never settles must not hang a download once it is cancelled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readBodyChunks } from '../runtime/modelStore/bodyChunks.ts';

/** A body that sends `chunks`, then never answers another read (a wedged connection). */
function wedgedBody(chunks: Uint8Array[], onCancel: () => void): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent < chunks.length) controller.enqueue(chunks[sent++]);
        else return new Promise<void>(() => undefined);
      },
      cancel: onCancel,
    },
    { highWaterMark: 0 },
  );
}

describe('readBodyChunks', () => {
  it('ends a read that would never settle when the signal aborts, and cancels the body', async () => {
    let cancelled = 0;
    const controller = new AbortController();
    const received: number[] = [];
    const reading = (async () => {
      for await (const chunk of readBodyChunks(wedgedBody([new Uint8Array(3), new Uint8Array(5)], () => cancelled++), controller.signal)) {
        received.push(chunk.byteLength);
        if (received.length === 2) setTimeout(() => controller.abort(), 20);
      }
    })();
    await assert.rejects(reading, (e: Error) => e.name === 'AbortError' || /cancel/i.test(e.message));
    assert.deepEqual(received, [3, 5]);
    assert.equal(cancelled, 1);
  });

  it('throws at once for a signal aborted before the first read', async () => {
    const controller = new AbortController();
    controller.abort();
    const body = wedgedBody([new Uint8Array(1)], () => undefined);
    await assert.rejects(async () => {
      for await (const _ of readBodyChunks(body, controller.signal)) assert.fail('no chunk is read after an abort');
    });
  });

  it('reads a whole body, and cancels it when the caller stops early', async () => {
    const all: number[] = [];
    for await (const chunk of readBodyChunks(new Response(new Uint8Array(100_000)).body!)) all.push(chunk.byteLength);
    assert.equal(all.reduce((a, b) => a + b, 0), 100_000);
    let cancelled = 0;
    for await (const chunk of readBodyChunks(wedgedBody([new Uint8Array(2), new Uint8Array(2)], () => cancelled++))) {
      assert.equal(chunk.byteLength, 2);
      break;
    }
    assert.equal(cancelled, 1);
  });
});
