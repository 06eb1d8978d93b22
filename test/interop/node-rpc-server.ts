/**
 * A TS RPC server in a process of its own, for tests that restart it (the queue manager
 * numbers queues per process). Argument: a JSON object `{ conf, topic, server }`. Prints
 * one JSON line per event (`ready`, `dispatch` with the args) and stops on stdin EOF.
 */
import { createInterface } from 'node:readline';
import { getRpcServer, getRpcTransport, silentLogger } from '../../src/index.js';

interface Args {
  conf: Record<string, Record<string, unknown>>;
  topic: string;
  server: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const transport = getRpcTransport(args.conf, { logger: silentLogger });
const server = getRpcServer(transport, { topic: args.topic, server: args.server }, [
  {
    record: (_ctxt: unknown, a: Record<string, unknown>) => {
      emit('dispatch', { args: a });
    },
  },
]);
await server.start();
emit('ready');
createInterface({ input: process.stdin }).on('close', () => {
  void (async () => {
    await server.close();
    await transport.cleanup();
    emit('stopped');
    process.exit(0);
  })();
});
