/**
 * examples/openstack end to end: run.ts starts the Nova-like Python service
 * (oslo.messaging), runs the Node consumer against it and stops the service; this test
 * runs it on names of its own and checks what the consumer printed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InteropScope, PYTHON, TRANSPORT_URL } from './helpers.js';

const RUN = fileURLToPath(new URL('../../examples/openstack/run.ts', import.meta.url));
const RUN_TIMEOUT_MS = 120_000;

const WEB_1 = 'f3b9c6a2-5d1e-4c8a-9f7b-2e6d4a1c8b35';
const DB_1 = '0c7e2d94-8a3b-4f61-b5d2-9e1a7c3f6d48';
const MISSING = '00000000-0000-4000-8000-000000000000';

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Run examples/openstack/run.ts to its end (killed after a bound); never rejects. */
function runExample(argv: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), RUN, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHON },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // SIGTERM first: run.ts then stops the service and the consumer itself.
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    const killer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS + 20_000);
    const done = (code: number | string): void => {
      clearTimeout(timer);
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    };
    child.on('error', (error) => done(`error: ${error.message}`));
    child.on('close', (code, signal) => done(code ?? signal ?? 'unknown'));
  });
}

/** A parsed `notification ...` line of the consumer and its `payload:` line. */
interface Notification {
  eventType: string;
  priority: string;
  publisherId: string;
  summary: string;
  requestId: string;
  payload: Record<string, unknown>;
}

function parseNotifications(lines: readonly string[]): Notification[] {
  const found: Notification[] = [];
  const header =
    /^notification (\S+) \[(\w+)\] from (\S+) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?: (.*); request (\S+)$/;
  lines.forEach((line, i) => {
    const m = header.exec(line);
    if (m === null) return;
    const next = lines[i + 1] ?? '';
    assert.ok(next.startsWith('  payload: '), `no payload line after: ${line}`);
    found.push({
      eventType: m[1]!,
      priority: m[2]!,
      publisherId: m[3]!,
      summary: m[4]!,
      requestId: m[5]!,
      payload: JSON.parse(next.slice('  payload: '.length)),
    });
  });
  return found;
}

/** The JSON after `prefix` on the one line that starts with it. */
function jsonAfter(lines: readonly string[], prefix: string | RegExp): unknown {
  const matching = lines.filter((line) =>
    typeof prefix === 'string' ? line.startsWith(prefix) : prefix.test(line),
  );
  assert.equal(matching.length, 1, `one line starting with ${String(prefix)}`);
  const line = matching[0]!;
  return JSON.parse(line.slice(line.indexOf(': ') + 2));
}

test(
  'examples/openstack: the Node consumer gets the Nova-like service notifications and calls its RPC API',
  { timeout: RUN_TIMEOUT_MS + 60_000 },
  async (t) => {
    const scope = new InteropScope(t);
    const topic = scope.name('compute');
    const notificationTopic = scope.name('notifications');
    const pool = scope.pool('pool');
    const host = 'example-host';
    // RPC: topic queues and fanout exchange; notifications: the `<topic>.<priority>`
    // queues oslo's notifier declares; the pool's queue; the control exchange (by the
    // scope). Anything else named with the scope's prefix is found at cleanup.
    scope.trackRpcTopic(topic, [host]);
    scope.trackNotificationTopic(notificationTopic);

    const run = await runExample([
      '--transport-url',
      TRANSPORT_URL,
      '--exchange',
      scope.exchange,
      '--topic',
      topic,
      '--notification-topic',
      notificationTopic,
      '--pool',
      pool,
      '--host',
      host,
      // oslo's debug log names the reply queue of each call: the consumer's, to delete.
      '--debug',
    ]);
    for (const m of run.stderr.matchAll(/reply to (reply_[0-9a-f]{32})/g)) scope.trackQueue(m[1]!);
    const context = `exit ${run.code}\n--- stdout:\n${run.stdout}\n--- stderr tail:\n${run.stderr.slice(-4000)}`;
    assert.equal(run.code, 0, context);
    assert.match(run.stderr, /reply to reply_[0-9a-f]{32}/, 'the reply queue is known');

    const lines = run.stdout.split('\n');
    const service = lines.filter((l) => l.startsWith('[nova-like] ')).map((l) => l.slice(12));
    const node = lines.filter((l) => l.startsWith('[node] ')).map((l) => l.slice(7));

    // The service started, was ready, and was stopped by PID at the end.
    assert.ok(service.includes('ready'), context);
    assert.match(service[0]!, new RegExp(`exchange ${scope.exchange}, RPC topic ${topic} `));
    assert.match(service[0]!, new RegExp(`messagingv2 on topic\\(s\\) ${notificationTopic}$`));
    assert.equal(service.at(-1), 'stopped', context);
    assert.ok(lines.some((l) => /^\[run\] stopping the Python service \(pid \d+\)$/.test(l)));
    assert.ok(lines.includes('[run] the Python service exited (0)'), context);
    assert.ok(lines.includes('[run] the Node consumer exited (0)'), context);

    // Configuration from nova.conf, with the test's overrides; the password is masked.
    assert.match(node[0]!, /^config .*examples\/openstack\/nova\.conf: broker rabbit:\/\//);
    assert.ok(node[0]!.endsWith(`control_exchange ${scope.exchange}`), node[0]);
    assert.ok(!node[0]!.includes('guest:guest'), node[0]);
    assert.equal(
      node[1],
      `listening to ${notificationTopic} on exchange ${scope.exchange}, pool ${pool}`,
    );

    // RPC results.
    const web1 = {
      uuid: WEB_1,
      display_name: 'web-1',
      host,
      vm_state: 'active',
      task_state: null,
      power_state: 'running',
      flavor: {
        flavorid: '2',
        name: 'm1.small',
        vcpus: 1,
        memory_mb: 2048,
        root_gb: 20,
        ephemeral_gb: 0,
      },
      project_id: '6f70656e737461636b20697320636f6f',
      user_id: '8a2c1e94f5b74d3fa0e6c1d2b3a49587',
    };
    const instances = jsonAfter(node, 'rpc list_instances: ') as (typeof web1)[];
    assert.deepEqual(
      instances.map((i) => [i.uuid, i.display_name, i.host, i.flavor.name]),
      [
        [WEB_1, 'web-1', host, 'm1.small'],
        [DB_1, 'db-1', host, 'm1.medium'],
      ],
    );
    assert.deepEqual(jsonAfter(node, 'rpc get_instance: '), web1);
    const rebootLine = node.find((l) => l.startsWith('rpc reboot_instance ('));
    const requestId = /^rpc reboot_instance \((req-[0-9a-f-]{36})\): /.exec(rebootLine ?? '')?.[1];
    assert.ok(requestId !== undefined, `reboot line: ${String(rebootLine)}`);
    assert.deepEqual(jsonAfter(node, /^rpc reboot_instance \(/), web1);
    // The service saw the same request id.
    assert.ok(service.includes(`reboot_instance(${WEB_1}, HARD) for request ${requestId}`));

    // The notifications: Nova's legacy reboot.start and reboot.end, from compute.<host>,
    // with the request's context.
    const notifications = parseNotifications(node);
    assert.deepEqual(
      notifications.map((n) => [n.eventType, n.priority, n.publisherId, n.requestId]),
      [
        ['compute.instance.reboot.start', 'info', `compute.${host}`, requestId],
        ['compute.instance.reboot.end', 'info', `compute.${host}`, requestId],
      ],
    );
    const [start, end] = notifications;
    assert.equal(start!.summary, `web-1 (${WEB_1}) on ${host}: state active, task rebooting_hard`);
    assert.equal(end!.summary, `web-1 (${WEB_1}) on ${host}: state active, task -`);
    // Shaped like Nova's legacy instance payloads (info_from_instance).
    const legacyPayload = (stateDescription: string): Record<string, unknown> => ({
      tenant_id: web1.project_id,
      user_id: web1.user_id,
      instance_id: WEB_1,
      display_name: 'web-1',
      hostname: 'web-1',
      host,
      node: host,
      availability_zone: 'nova',
      instance_type: 'm1.small',
      instance_flavor_id: '2',
      instance_type_id: 2,
      memory_mb: 2048,
      vcpus: 1,
      root_gb: 20,
      ephemeral_gb: 0,
      disk_gb: 20,
      state: 'active',
      state_description: stateDescription,
      progress: '',
      image_ref_url: 'http://glance.example.org:9292/images/5c2e9a4b-7d3f-4e1a-8b6c-0f9d2e4a7c13',
      created_at: '2024-05-02T09:14:27Z',
      launched_at: '2024-05-02T09:15:03Z',
      terminated_at: '',
      deleted_at: '',
      metadata: {},
    });
    assert.deepEqual(start!.payload, legacyPayload('rebooting_hard'), 'reboot.start payload');
    assert.deepEqual(end!.payload, legacyPayload(''), 'reboot.end payload');
    assert.ok(node.includes('the reboot notifications arrived'));

    // The errors: InstanceNotFound rebuilt as the local class, with its kwargs; the
    // ValueError from builtins (not allowed) as RemoteError.
    assert.ok(
      node.includes(
        `InstanceNotFound rebuilt locally: Instance ${MISSING} could not be found. ` +
          `(instanceId ${MISSING}, code 404)`,
      ),
      context,
    );
    assert.ok(
      node.includes(
        "RemoteError (module builtins not allowed): ValueError: reboot_type must be one of SOFT, HARD, not 'WARM'",
      ),
      context,
    );
    assert.ok(
      node.includes(
        `  remote traceback ends: "ValueError: reboot_type must be one of SOFT, HARD, not 'WARM'\\n"`,
      ),
      context,
    );
    assert.equal(node.at(-1), 'done: 2 instance notification(s) received');
  },
);
