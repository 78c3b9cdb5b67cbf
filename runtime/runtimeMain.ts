// Entry point of the runtime child process (dist/runtime.js), forked by the extension host's
// supervisor. It speaks runtime/protocol.ts over the IPC channel and exits with its parent.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError } from './protocol.ts';
import { loadClipTokenizer } from './tokenizer/clipTokenizer.ts';
import { registerRuntimeHandlers, type RuntimeServices } from './runtimeHandlers.ts';
import { watchParent } from './runtimeParentWatch.ts';
import { processPort, RuntimeServer } from './runtimeServer.ts';

function notYet(what: string): never {
  throw new RuntimeError('unavailable', `${what} is not part of this build of Letterpress yet.`);
}

const services: RuntimeServices = {
  createGenerator: () => notYet('Image generation'),
  // Until the model store lands: local folders only.
  resolveModel: async ({ model }) => {
    if (model && existsSync(join(model, 'model_index.json'))) return { modelDir: model, source: 'local' };
    throw new RuntimeError('modelMissing', model ? `${model} is not a model folder (no model_index.json).` : 'Downloading models is not part of this build yet.');
  },
  loadTokenizer: (modelDir) => loadClipTokenizer(modelDir),
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
