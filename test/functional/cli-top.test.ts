/**
 * The live views in a real terminal: tmux runs the tool, the test reads the screen with
 * `capture-pane`. `top` (live rates; the test publishes, then quits with `q`) and the
 * progress bar of a `bench` run longer than two seconds. Skipped where tmux is not installed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  broker,
  haveTmux,
  inTerminal,
  pythonNotification,
  screenUntil,
  tmux,
  uniqueName,
  URL_,
} from './cli-helpers.js';

test('cli top - shows live rates per topic, event type and publisher on a terminal; q quits with status 0', async (t) => {
  if (!haveTmux()) {
    t.skip('tmux is not installed');
    return;
  }
  const b = await broker(t);
  const exchange = uniqueName('x');
  const topic = uniqueName('top');
  b.cleanup({ exchanges: [exchange] });
  const session = inTerminal(t, 'top', [
    'top',
    '--url',
    URL_,
    '--exchange',
    exchange,
    '--interval',
    '300',
  ]);
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

test('cli bench - a run longer than two seconds draws a progress bar on the terminal, then removes it', async (t) => {
  if (!haveTmux()) {
    t.skip('tmux is not installed');
    return;
  }
  const session = inTerminal(t, 'bench', [
    'bench',
    'notify-client',
    '--url',
    'fake://',
    '--topic',
    uniqueName('bench'),
    '--duration',
    '5',
    '--concurrency',
    '4',
  ]);
  // cli-progress's bar: label, bar, percentage, count and rate.
  const bar = /^notify-client \[[=-]{30}\] \d+% \d+ \d+ msg\/s$/m;
  const during = await screenUntil(session, bar);
  assert.match(during, bar);
  const after = await screenUntil(session, /bench exited \d+/);
  assert.match(after, /bench exited 0/);
  // clearOnComplete: the report is on the screen, the bar is not.
  assert.match(after, /^notify-client: \d+ sent in 5\.\d\d s/m);
  assert.doesNotMatch(after, /\[[=-]{30}\]/);
});
