// The gallery's PNG metadata reader, run in a worker thread (see pngMetadataReader.ts): whatever a
// file in the output folder holds, reading it never blocks the extension host's thread. One message
// in ({ id, path }), one out ({ id, chunks } or { id, error }).
import { parentPort } from 'node:worker_threads';
import { readPngTextChunksFromFile } from '../../runtime/png/pngTextChunks.ts';
import type { MetadataReply, MetadataRequest } from './pngMetadataReader.ts';

const port = parentPort;
if (!port) throw new Error('pngMetadataWorker runs only as a worker thread');

port.on('message', (request: MetadataRequest) => {
  readPngTextChunksFromFile(request.path, { keys: request.keys }).then(
    (chunks): void => port.postMessage({ id: request.id, chunks: { ...chunks } } satisfies MetadataReply),
    (error: unknown): void => port.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) } satisfies MetadataReply),
  );
});
