/**
 * The RPC server: a MessageHandlingServer that consumes a target's RPC queues and
 * dispatches each request to endpoints.
 *
 * @module
 */
import type { DriverListener, IncomingMessage, RpcIncomingMessage } from '../drivers/driver.js';
import type { RpcReply } from '../wire/messages.js';
import { serializeRemoteError } from '../wire/remote-error.js';
import { ExpectedException, InvalidTarget, NoSuchMethod } from '../errors.js';
import { errorSummary } from '../log.js';
import { preview } from '../wire/bounds.js';
import { MessageHandlingServer, type ServerOptions } from '../server.js';
import type { Serializer } from '../serializer.js';
import { Target, type TargetFields } from '../target.js';
import { NotificationTransport, type Transport } from '../transport.js';
import type { ReportFailure } from '../transport-hooks.js';
import { RPCDispatcher } from './dispatcher.js';
import type { RPCAccessPolicy, RPCAccessPolicyClass } from './endpoint.js';

/** Options for {@link getRpcServer}. */
export interface RPCServerOptions extends ServerOptions {
  /** Restores the request context and arguments, serialises results. @default NoOpSerializer */
  serializer?: Serializer | undefined;
  /**
   * Which endpoint methods requests may invoke: an instance or a class.
   * @default DefaultRPCAccessPolicy
   */
  accessPolicy?: RPCAccessPolicy | RPCAccessPolicyClass | undefined;
}

/**
 * An RPC server: listens on `topic`, `topic.server` and the topic's fanout, and
 * dispatches every request with an {@link RPCDispatcher}. Create one with
 * {@link getRpcServer}.
 *
 * Delivery is at-most-once, as in oslo: a request is acknowledged before it is
 * dispatched, so a crash during the method loses it and the caller times out. A call
 * gets exactly one final reply: the result, or the error in oslo's failure format. A
 * cast that throws is logged.
 */
export class RPCServer extends MessageHandlingServer {
  /** What this server listens to. */
  readonly target: Target;
  /** The dispatcher with this server's endpoints. */
  readonly dispatcher: RPCDispatcher;

  /**
   * @throws InvalidTarget when the target lacks a topic or a server name
   * @throws ExecutorLoadFailure for an unknown executor
   */
  constructor(
    transport: Transport,
    target: Target,
    dispatcher: RPCDispatcher,
    options: ServerOptions = {},
  ) {
    super(transport, options);
    if (target.topic === undefined || target.server === undefined) {
      throw new InvalidTarget(
        "A server's target must have topic and server names specified",
        target,
      );
    }
    if (transport instanceof NotificationTransport) {
      this.logger.warn(
        'Using a notification transport for RPC; use getRpcTransport() to get an RPC transport',
      );
    }
    this.target = target;
    this.dispatcher = dispatcher;
  }

  /** @internal */
  protected override createListener(
    maxUnsettled: number,
  ): Promise<DriverListener<RpcIncomingMessage>> {
    return this.transport._listen(this.target, maxUnsettled);
  }

  /** @internal */
  protected override async processMessage(incoming: IncomingMessage): Promise<void> {
    // This server's listener hands over RPC requests only.
    const message = incoming as RpcIncomingMessage;
    await this.transport._process([message], (fail) => this.#handle(message, fail));
  }

  async #handle(message: RpcIncomingMessage, fail: ReportFailure): Promise<void> {
    const method = message.message['method'];
    this.logger.debug(
      'Received message with id %s and method: %s',
      preview(message.msgId ?? '(cast)'),
      preview(method),
    );
    // RPC requests are acked before dispatch: at-most-once, as oslo does. A request
    // is never redelivered once its method may have started.
    try {
      await message.acknowledge();
    } catch (err) {
      this.logger.error('Can not acknowledge message, skipping it', { err });
      fail(err);
      return;
    }

    let reply: RpcReply;
    try {
      const result = await this.dispatcher.dispatch(message);
      // oslo replies `null` for a method that returns nothing (JSON has no undefined).
      reply = { result: result === undefined ? null : result };
    } catch (err) {
      fail(err);
      this.#logFailure(err, method);
      // A cast's failure is only logged: nobody waits for it.
      if (message.msgId === undefined) return;
      reply = { failure: serializeRemoteError(err) };
    }
    if (message.msgId === undefined) return;

    try {
      await this.transport._reply(message, reply);
    } catch (err) {
      this.logger.error('Can not send reply for message %s', preview(message.msgId), { err });
      if (reply.failure !== undefined) return;
      // Most likely the result could not be encoded; send that failure rather than
      // leave the caller waiting for its timeout.
      try {
        await this.transport._reply(message, { failure: serializeRemoteError(err) });
      } catch (again) {
        this.logger.error('Can not send failure reply for message %s', preview(message.msgId), {
          err: again,
        });
      }
    }
  }

  /**
   * Log a dispatch error as oslo does: an expected exception (one the endpoint declared
   * with `expectedExceptions`) and a missing `*_ignore_errors` method on one debug line,
   * without a stack; anything else as an error, with the error (and its stack, once) as
   * the structured `err` field. (An `ExpectedException` is serialised as its cause, the
   * original error.)
   */
  #logFailure(err: unknown, method: unknown): void {
    if (err instanceof ExpectedException) {
      this.logger.debug('Expected exception during message handling (%s)', errorSummary(err.cause));
    } else if (err instanceof NoSuchMethod && err.method.endsWith('_ignore_errors')) {
      this.logger.debug('Method %s not found', preview(err.method));
    } else {
      this.logger.error('Exception during message handling', { err, method: preview(method) });
    }
  }
}

/**
 * Create an RPC server (oslo's `get_rpc_server`).
 *
 * Endpoints are objects whose methods take `(ctxt, args)`, `args` being the call's
 * keyword arguments, and return a value or a promise. An endpoint's optional
 * `target` property (a {@link Target} or its fields) sets the namespace and version
 * it implements (default: no namespace, version `1.0`). Which methods are reachable
 * is up to the access policy; members of `Object.prototype` never are. With
 * `[DEFAULT] rpc_ping_enabled` the server also answers `oslo_rpc_server_ping`.
 *
 * @param target - topic and server name to listen on (exchange optional)
 *
 * @throws InvalidTarget when the target lacks a topic or a server name
 * @throws TypeError for a malformed endpoint or access policy
 *
 * @example
 * ```ts
 * import {
 *   getRpcClient,
 *   getRpcServer,
 *   getRpcTransport,
 *   Target,
 *   type RequestContext,
 * } from 'oslo-messaging';
 *
 * class ComputeEndpoint {
 *   readonly target = new Target({ namespace: 'compute', version: '5.3' });
 *   async resize(ctxt: RequestContext, args: { instance: string; flavor: number }) {
 *     return `resized ${args.instance}`;
 *   }
 * }
 * const transport = getRpcTransport('fake://');
 * const server = getRpcServer(transport, { topic: 'compute', server: 'host1' }, [
 *   new ComputeEndpoint(),
 * ]);
 * await server.start();
 * const client = getRpcClient(transport, { topic: 'compute', namespace: 'compute', version: '5.3' });
 * console.log(await client.call({}, 'resize', { instance: 'vm1', flavor: 2 })); // resized vm1
 * await server.close(); // stop() then wait()
 * await transport.cleanup();
 * ```
 */
export function getRpcServer(
  transport: Transport,
  target: Target | TargetFields,
  endpoints: readonly object[],
  options: RPCServerOptions = {},
): RPCServer {
  const resolved = target instanceof Target ? target : new Target(target);
  const dispatcher = new RPCDispatcher(endpoints, {
    serializer: options.serializer,
    accessPolicy: options.accessPolicy,
    pingEnabled: transport.conf.defaults().rpc_ping_enabled,
    logger: transport.logger,
  });
  return new RPCServer(transport, resolved, dispatcher, { executor: options.executor });
}
