// A stand-in for the extension host that the parent-death test kills: it starts the test runtime
// through the real supervisor, prints the runtime's pid and then idles.
import { resolve } from 'node:path';
import { RuntimeSupervisor } from '../extension/runtime/runtimeSupervisor.ts';
import { testEchoRequest } from './runtimeTestProtocol.ts';

const supervisor = new RuntimeSupervisor({ modulePath: resolve('test/runtimeTestChild.ts'), execArgv: ['--import', 'tsx'] });
void supervisor.request(testEchoRequest, { text: 'hello' }).then(({ pid }) => process.stdout.write(`${pid}\n`));
setInterval(() => {}, 1000);
