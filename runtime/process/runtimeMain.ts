// Entry point of the runtime child process (dist/runtime.js), forked by the extension host's
// supervisor. It speaks runtime/protocol/runtimeProtocol.ts over the IPC channel and exits with its parent.
import { OcrReader } from '../legibility/ocrReader.ts';
import { planModelDownload, resolveModel } from '../modelStore/resolveModel.ts';
import { ImageGenerator } from '../pipeline/imageGenerator.ts';
import { registerRuntimeHandlers, type RuntimeServices } from './runtimeHandlers.ts';
import { watchParent } from './parentWatch.ts';
import { processPort, RuntimeServer } from './runtimeServer.ts';
import { loadClipTokenizer } from '../tokenizer/clipTokenizer.ts';

const services: RuntimeServices = {
  createGenerator: (options) => new ImageGenerator(options),
  planModel: (options) => planModelDownload(options),
  resolveModel: (options) => resolveModel(options),
  loadTokenizer: (modelDir) => loadClipTokenizer(modelDir),
  createOcrReader: () => new OcrReader(),
};

const server = new RuntimeServer(processPort());
const handlers = registerRuntimeHandlers(server, services);

watchParent((reason) => {
  process.stderr.write(`letterpress runtime: exiting, ${reason}\n`);
  // Give nothing a chance to keep us alive: the host that would read our answers is gone.
  void handlers.dispose().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

process.on('uncaughtException', (error) => {
  process.stderr.write(`letterpress runtime: uncaught ${error.stack ?? error.message}\n`);
  process.exit(70);
});
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`letterpress runtime: unhandled rejection ${reason instanceof Error ? reason.stack : String(reason)}\n`);
});
