/**
 * The public RPC API: clients, servers, dispatcher, access policies and endpoint
 * helpers.
 *
 * @module
 */
export { RPCClient, getRpcClient } from './client.js';
export type {
  CallOptions,
  CastOptions,
  ClientTransportOptions,
  PrepareOptions,
  RPCClientOptions,
  RpcArgs,
  RpcCallArgs,
  RpcMethodName,
  RpcResult,
  UntypedRpcApi,
} from './client.js';
export { PING_METHOD, RPCDispatcher } from './dispatcher.js';
export type { DispatchableMessage, RPCDispatcherOptions } from './dispatcher.js';
export {
  DefaultRPCAccessPolicy,
  ExplicitRPCAccessPolicy,
  LegacyRPCAccessPolicy,
  expectedExceptions,
  expose,
} from './endpoint.js';
export type {
  EndpointMethod,
  ErrorClass,
  MethodNames,
  RPCAccessPolicy,
  RPCAccessPolicyClass,
} from './endpoint.js';
export { RPCServer, getRpcServer } from './server.js';
export type { RPCServerOptions } from './server.js';
