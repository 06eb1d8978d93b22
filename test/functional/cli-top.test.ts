/**
 * `oslo-messaging top` in a real terminal: tmux runs it, the test publishes, reads the
 * screen with `capture-pane`, and quits with `q`. Skipped where tmux is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { broker, MAIN, pythonNotification, ROOT, uniqueName, URL_ } from './cli-helpers.js';

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

function haveTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Poll the screen until `pattern` shows (or 20 s pass); returns the last screen. */
async function screenUntil(session: string, pattern: RegExp): Promise<string> {
  let screen = '';
  for (let i = 0; i < 100; i++) {
    screen = tmux('capture-pane', '-p', '-t', session);
    if (pattern.test(screen)) return screen;
    await sleep(200);
  }
  return screen;
}

test('cli top - shows live rates per topic, event type and publisher on a terminal; q quits with status 0', async (t) => {
  if (!haveTmux()) {
    t.skip('tmux is not installed');
    return;
  }
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('top');
  b.cleanup({ exchanges: [exchange] });
  const session = uniqueName('tmux');
  const command = [
    process.execPath,
    '--import',
    'tsx',
    MAIN,
    'top',
    '--url',
    URL_,
    '--exchange',
    exchange,
    '--interval',
    '300',
  ]
    .map((a) => `'${a}'`)
    .join(' ');
  // The exit status is printed on the screen once top ends; the pane then stays a while.
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '120',
    '-y',
    '40',
    '-c',
    ROOT,
    `env OSLO_MESSAGING_TRANSPORT_URL= ${command}; echo "top exited $?"; sleep 30`,
  );
  t.after(() => {
    try {
      tmux('kill-session', '-t', session);
    } catch {
      // already gone
    }
  });
  const started = await screenUntil(session, /^TOPIC +MSG\/S +TOTAL/m);
  assert.match(started, /^oslo-messaging top: rabbit:\/\/.*exchanges omtc_/m);

  for (const [event, publisher] of [
    ['compute.instance.create.end', 'compute.h1'],
    ['compute.instance.create.end', 'compute.h2'],
    ['compute.instance.delete.end', 'compute.h1'],
  ] as const) {
    await b.publish(
      exchange,
      `${topic}.info`,
      pythonNotification({ eventType: event, publisherId: publisher, payload: '{}' }),
    );
  }
  await b.publish(
    exchange,
    topic,
    JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{"method": "resize", "args": {}}' }),
  );

  const screen = await screenUntil(session, /^messages: [\d.]+\/s, 4 in all$/m);
  assert.match(screen, /^messages: [\d.]+\/s, 4 in all$/m);
  assert.match(screen, new RegExp(`^${exchange}/${topic} +[\\d.]+ +4$`, 'm'));
  assert.match(screen, /^compute\.instance\.create\.end +[\d.]+ +2$/m);
  assert.match(screen, /^compute\.instance\.delete\.end +[\d.]+ +1$/m);
  assert.match(screen, /^\(rpc\) resize +[\d.]+ +1$/m);
  assert.match(screen, /^compute\.h1 +[\d.]+ +2$/m);

  tmux('send-keys', '-t', session, 'q');
  const after = await screenUntil(session, /top exited \d+/);
  assert.match(after, /top exited 0/);
  // The alternate screen is gone: the view's tables are not left on the terminal.
  assert.doesNotMatch(after, /^TOPIC +MSG\/S/m);
});
