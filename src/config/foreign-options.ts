/**
 * Option groups of oslo.messaging drivers this library does not have: the AMQP 1.0 driver
 * (`[oslo_messaging_amqp]`, removed upstream after 14.x) and the Kafka driver
 * (`[oslo_messaging_kafka]`). Their options are known by name and type, so that a
 * deployment's configuration file loads and a bad value is still reported, and each
 * option set is reported once as having no effect. Names, types, bounds and defaults
 * are those of oslo.messaging 14.0.3 (`test/fixtures/options/list_opts.py`).
 *
 * @module
 */
import type { OptionInfo } from './types.js';

/** One row of a group that is known but has no effect here. */
export type InertOptionSpec = Omit<OptionInfo, 'name'>;

const NO_AMQP1 = 'this library has no AMQP 1.0 driver (upstream removed it after 14.x)';
const NO_KAFKA = 'this library has no Kafka driver';

/** `[oslo_messaging_amqp]`, as 14.0.3 registers it. */
export const AMQP1_OPTIONS: Readonly<Record<string, InertOptionSpec>> = {
  container_name: {
    type: 'string',
    default: undefined,
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): container name.',
  },
  idle_timeout: {
    type: 'int',
    default: 0,
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): idle timeout.',
  },
  trace: {
    type: 'bool',
    default: false,
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): trace.',
  },
  ssl: {
    type: 'bool',
    default: false,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): ssl.',
  },
  ssl_ca_file: {
    type: 'string',
    default: '',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): ssl ca file.',
  },
  ssl_cert_file: {
    type: 'string',
    default: '',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): ssl cert file.',
  },
  ssl_key_file: {
    type: 'string',
    default: '',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): ssl key file.',
  },
  ssl_key_password: {
    type: 'string',
    default: undefined,
    deprecatedNames: [{ group: 'amqp1' }],
    secret: true,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): ssl key password.',
  },
  ssl_verify_vhost: {
    type: 'bool',
    default: false,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): ssl verify vhost.',
  },
  sasl_mechanisms: {
    type: 'string',
    default: '',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): sasl mechanisms.',
  },
  sasl_config_dir: {
    type: 'string',
    default: '',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): sasl config dir.',
  },
  sasl_config_name: {
    type: 'string',
    default: '',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): sasl config name.',
  },
  sasl_default_realm: {
    type: 'string',
    default: '',
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): sasl default realm.',
  },
  connection_retry_interval: {
    type: 'int',
    default: 1,
    min: 1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): connection retry interval.',
  },
  connection_retry_backoff: {
    type: 'int',
    default: 2,
    min: 0,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): connection retry backoff.',
  },
  connection_retry_interval_max: {
    type: 'int',
    default: 30,
    min: 1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): connection retry interval max.',
  },
  link_retry_delay: {
    type: 'int',
    default: 10,
    min: 1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): link retry delay.',
  },
  default_reply_retry: {
    type: 'int',
    default: 0,
    min: -1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): default reply retry.',
  },
  default_reply_timeout: {
    type: 'int',
    default: 30,
    min: 5,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): default reply timeout.',
  },
  default_send_timeout: {
    type: 'int',
    default: 30,
    min: 5,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): default send timeout.',
  },
  default_notify_timeout: {
    type: 'int',
    default: 30,
    min: 5,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): default notify timeout.',
  },
  default_sender_link_timeout: {
    type: 'int',
    default: 600,
    min: 1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): default sender link timeout.',
  },
  addressing_mode: {
    type: 'string',
    default: 'dynamic',
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): addressing mode.',
  },
  pseudo_vhost: {
    type: 'bool',
    default: true,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): pseudo vhost.',
  },
  server_request_prefix: {
    type: 'string',
    default: 'exclusive',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): server request prefix.',
  },
  broadcast_prefix: {
    type: 'string',
    default: 'broadcast',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): broadcast prefix.',
  },
  group_request_prefix: {
    type: 'string',
    default: 'unicast',
    deprecatedNames: [{ group: 'amqp1' }],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): group request prefix.',
  },
  rpc_address_prefix: {
    type: 'string',
    default: 'openstack.org/om/rpc',
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): rpc address prefix.',
  },
  notify_address_prefix: {
    type: 'string',
    default: 'openstack.org/om/notify',
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): notify address prefix.',
  },
  multicast_address: {
    type: 'string',
    default: 'multicast',
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): multicast address.',
  },
  unicast_address: {
    type: 'string',
    default: 'unicast',
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): unicast address.',
  },
  anycast_address: {
    type: 'string',
    default: 'anycast',
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): anycast address.',
  },
  default_notification_exchange: {
    type: 'string',
    default: undefined,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): default notification exchange.',
  },
  default_rpc_exchange: {
    type: 'string',
    default: undefined,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): default rpc exchange.',
  },
  reply_link_credit: {
    type: 'int',
    default: 200,
    min: 1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): reply link credit.',
  },
  rpc_server_credit: {
    type: 'int',
    default: 100,
    min: 1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): rpc server credit.',
  },
  notify_server_credit: {
    type: 'int',
    default: 100,
    min: 1,
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): notify server credit.',
  },
  pre_settled: {
    type: 'multi',
    default: ['rpc-cast', 'rpc-reply'],
    inert: NO_AMQP1,
    help: 'AMQP 1.0 driver (oslo.messaging 14 and older): pre settled.',
  },
};

/** `[oslo_messaging_kafka]`, as 14.0.3 registers it. */
export const KAFKA_OPTIONS: Readonly<Record<string, InertOptionSpec>> = {
  kafka_max_fetch_bytes: {
    type: 'int',
    default: 1048576,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: kafka max fetch bytes.',
  },
  kafka_consumer_timeout: {
    type: 'float',
    default: 1.0,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: kafka consumer timeout.',
  },
  pool_size: {
    type: 'int',
    default: 10,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: pool size.',
  },
  conn_pool_min_size: {
    type: 'int',
    default: 2,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: conn pool min size.',
  },
  conn_pool_ttl: {
    type: 'int',
    default: 1200,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: conn pool ttl.',
  },
  consumer_group: {
    type: 'string',
    default: 'oslo_messaging_consumer',
    inert: NO_KAFKA,
    help: 'Kafka notification driver: consumer group.',
  },
  producer_batch_timeout: {
    type: 'float',
    default: 0.0,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: producer batch timeout.',
  },
  producer_batch_size: {
    type: 'int',
    default: 16384,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: producer batch size.',
  },
  compression_codec: {
    type: 'enum',
    default: 'none',
    choices: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
    inert: NO_KAFKA,
    help: 'Kafka notification driver: compression codec.',
  },
  enable_auto_commit: {
    type: 'bool',
    default: false,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: enable auto commit.',
  },
  max_poll_records: {
    type: 'int',
    default: 500,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: max poll records.',
  },
  security_protocol: {
    type: 'enum',
    default: 'PLAINTEXT',
    choices: ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL', 'SASL_SSL'],
    inert: NO_KAFKA,
    help: 'Kafka notification driver: security protocol.',
  },
  sasl_mechanism: {
    type: 'string',
    default: 'PLAIN',
    inert: NO_KAFKA,
    help: 'Kafka notification driver: sasl mechanism.',
  },
  ssl_cafile: {
    type: 'string',
    default: '',
    inert: NO_KAFKA,
    help: 'Kafka notification driver: ssl cafile.',
  },
  ssl_client_cert_file: {
    type: 'string',
    default: '',
    inert: NO_KAFKA,
    help: 'Kafka notification driver: ssl client cert file.',
  },
  ssl_client_key_file: {
    type: 'string',
    default: '',
    inert: NO_KAFKA,
    help: 'Kafka notification driver: ssl client key file.',
  },
  ssl_client_key_password: {
    type: 'string',
    default: '',
    secret: true,
    inert: NO_KAFKA,
    help: 'Kafka notification driver: ssl client key password.',
  },
};
