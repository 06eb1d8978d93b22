/**
 * oslo-messaging: OpenStack's messaging library for Node.js. RPC (call, cast,
 * fanout) and notifications over RabbitMQ, speaking oslo.messaging's exact wire
 * format, plus an in-memory `fake://` transport for tests and examples.
 *
 * This file names everything public: values first, then types.
 *
 * @packageDocumentation
 */

// Transports and configuration
export {
  Transport,
  RPCTransport,
  NotificationTransport,
  getTransport,
  getRpcTransport,
  getNotificationTransport,
} from './transport.js';
export { TransportURL, DEFAULT_AMQP_PORT } from './transport-url.js';
export { Config, listOpts, parseIni } from './config.js';
export { Target } from './target.js';
export { NoOpSerializer, JsonPayloadSerializer } from './serializer.js';
export { isCompatible as versionIsCompatible } from './version.js';
export { MessageHandlingServer } from './server.js';
export { EXECUTORS } from './executor.js';
export { defaultLogger, silentLogger, formatLogRecord, errorSummary } from './log.js';

// Data fidelity: Python's numbers, JSON and regular expressions
export { PyFloat, pyFloat, isReceivedFloat } from './wire/pynumbers.js';
export { pyDumps, pyLoads } from './wire/pyjson.js';
export { PythonRegExp } from './wire/python-re.js';

// Errors
export {
  MessagingException,
  ConfigurationError,
  InvalidTransportURL,
  DriverLoadFailure,
  ExecutorLoadFailure,
  InvalidTarget,
  MessagingTimeout,
  MessageDeliveryFailure,
  MessageUndeliverable,
  ServerListenError,
  TaskTimeout,
  UnsupportedRpcEnvelopeVersion,
  MalformedMessage,
  ClientSendError,
  InvalidRPCVersion,
  RPCVersionCapError,
  NoSuchMethod,
  UnsupportedVersion,
  ExpectedException,
  RemoteError,
  PatternError,
  UnsupportedPattern,
} from './errors.js';

// RPC
export {
  RPCClient,
  getRpcClient,
  RPCDispatcher,
  PING_METHOD,
  DefaultRPCAccessPolicy,
  ExplicitRPCAccessPolicy,
  LegacyRPCAccessPolicy,
  expectedExceptions,
  expose,
  RPCServer,
  getRpcServer,
} from './rpc/index.js';

// Notifications
export {
  Notifier,
  TestNotificationSink,
  NOTIFY_DRIVERS,
  getNotificationListener,
  getBatchNotificationListener,
  NotificationServer,
  BatchNotificationServer,
  NotificationFilter,
  NotificationResult,
  PRIORITIES,
} from './notify/index.js';

export type { TransportOptions } from './transport.js';
export type { Context as RequestContext, NotificationMessage } from './drivers/driver.js';
export type {
  TransportHost,
  EffectiveHost,
  TransportURLFields,
  TransportURLParseOptions,
} from './transport-url.js';
export type {
  ConfigInput,
  ConfigObject,
  ConfigGroups,
  DefaultOptions,
  NotificationOptions,
  RabbitOptions,
  MetricsOptions,
  OptionInfo,
  OptionType,
  OptionUnit,
  DeprecatedName,
} from './config.js';
export type { TargetFields, TargetOverrides } from './target.js';
export type { Serializer } from './serializer.js';
export type { ServerOptions, ServerState } from './server.js';
export type { ExecutorName } from './executor.js';
export type { Logger, LogFields } from './log.js';
export type { PyInt } from './wire/pynumbers.js';
export type { MessagingErrorOptions } from './errors.js';
export type {
  FailureInfo,
  RemoteExceptionClass,
  RemoteExceptionConstructor,
  RemoteExceptionFactory,
  RemoteExceptionRegistry,
} from './wire/remote-error.js';
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
  DispatchableMessage,
  RPCDispatcherOptions,
  EndpointMethod,
  ErrorClass,
  MethodNames,
  RPCAccessPolicy,
  RPCAccessPolicyClass,
  RPCServerOptions,
} from './rpc/index.js';
export type {
  NotifierContext,
  NotifierOptions,
  NotifierPrepareOptions,
  NotifyDriverName,
  SentNotification,
  RoutingConfig,
  RoutingRule,
  NotificationListenerOptions,
  BatchNotificationListenerOptions,
  NotificationEndpoint,
  BatchNotificationEndpoint,
  BatchNotificationMessage,
  NotificationMetadata,
  FilterPattern,
  FilterPatterns,
  NotificationFilterLike,
  NotificationFilterOptions,
  NotificationPriority,
} from './notify/index.js';
