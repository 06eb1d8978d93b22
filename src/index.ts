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
// Observability: the diagnostics_channel names (tracing is an option of the transport)
export { DIAGNOSTICS_CHANNELS } from './observability/diagnostics.js';
export { Config, listOpts } from './config/config.js';
export { parseIni } from './config/ini.js';
export { KOMBU_FAILOVER_STRATEGIES, RABBIT_LOGIN_METHODS } from './drivers/rabbit/options-table.js';
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
  TransportClosed,
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
export { RPCClient, getRpcClient } from './rpc/client.js';
export { RPCDispatcher, PING_METHOD } from './rpc/dispatcher.js';
export {
  DefaultRPCAccessPolicy,
  ExplicitRPCAccessPolicy,
  LegacyRPCAccessPolicy,
  expectedExceptions,
  expose,
} from './rpc/endpoint.js';
export { RPCServer, getRpcServer } from './rpc/server.js';

// Notifications
export { Notifier } from './notify/notifier.js';
export { TestNotificationSink, NOTIFY_DRIVERS } from './notify/notify-drivers.js';
export {
  getNotificationListener,
  getBatchNotificationListener,
  NotificationServer,
  NotificationServerBase,
  BatchNotificationServer,
} from './notify/listener.js';
export { NotificationFilter } from './notify/filter.js';
export { NotificationResult, PRIORITIES } from './notify/result.js';

export type { TransportOptions } from './transport.js';
export type { PinoLikeLogger } from './observability/structured-log.js';
export type { TransportStatus, TransportEventMap } from './transport-status.js';
export type { DriverCapabilities } from './drivers/driver.js';
export type { RequestContext, NotificationMessage } from './wire/messages.js';
export type {
  TransportHost,
  EffectiveHost,
  TransportURLFields,
  TransportURLParseOptions,
} from './transport-url.js';
export type { ConfigInput } from './config/config.js';
export type {
  ConfigObject,
  ConfigGroups,
  DefaultOptions,
  NotificationOptions,
  MetricsOptions,
  OptionInfo,
  OptionType,
  OptionUnit,
  DeprecatedName,
} from './config/types.js';
export type {
  KombuFailoverStrategy,
  RabbitLoginMethod,
  RabbitOptions,
} from './drivers/rabbit/options-table.js';
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
} from './rpc/client.js';
export type { DispatchableMessage, RPCDispatcherOptions } from './rpc/dispatcher.js';
export type {
  AnyFunction,
  EndpointMethod,
  ErrorClass,
  MethodNames,
  RPCAccessPolicy,
  RPCAccessPolicyClass,
} from './rpc/endpoint.js';
export type { RPCServerOptions } from './rpc/server.js';
export type {
  NotifierContext,
  NotifierOptions,
  NotifierPrepareOptions,
  NotifyOptions,
} from './notify/notifier.js';
export type { NotifyDriverName, SentNotification } from './notify/notify-drivers.js';
export type { RoutingConfig, RoutingRule } from './notify/routing.js';
export type {
  NotificationListenerOptions,
  BatchNotificationListenerOptions,
} from './notify/listener.js';
export type {
  NotificationEndpoint,
  BatchNotificationEndpoint,
  BatchNotificationMessage,
  NotificationMetadata,
} from './notify/dispatcher.js';
export type {
  FilterPattern,
  FilterPatterns,
  NotificationFilterLike,
  NotificationFilterOptions,
} from './notify/filter.js';
export type { NotificationPriority } from './notify/result.js';
