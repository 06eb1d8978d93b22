import assert from 'node:assert/strict';
import { test } from 'node:test';

import { JsonPayloadSerializer, NoOpSerializer, type Serializer } from '../../src/serializer.js';

test('NoOpSerializer - returns entities and contexts unchanged (same objects)', () => {
  const serializer = new NoOpSerializer();
  const ctxt = { user_id: 'u-1' };
  const entity = { when: new Date(0) };
  assert.equal(serializer.serializeEntity(ctxt, entity), entity);
  assert.equal(serializer.deserializeEntity(ctxt, entity), entity);
  assert.equal(serializer.serializeContext(ctxt), ctxt);
  assert.equal(serializer.deserializeContext(ctxt), ctxt);
});

test('NoOpSerializer.serializeContext - an absent context is {}, a non-object is refused', () => {
  const serializer = new NoOpSerializer();
  assert.deepEqual(serializer.serializeContext(undefined), {});
  assert.deepEqual(serializer.serializeContext(null), {});
  assert.throws(() => serializer.serializeContext('ctxt'), TypeError);
  assert.throws(() => serializer.serializeContext(['a']), TypeError);
});

test('JsonPayloadSerializer.serializeEntity - applies to_primitive', () => {
  const serializer = new JsonPayloadSerializer();
  const entity = {
    when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)),
    tags: new Set(['a']),
    raw: Buffer.from('caf\u00e9'),
  };
  assert.deepEqual(serializer.serializeEntity({}, entity), {
    when: '2024-05-06T07:08:09.123000',
    tags: ['a'],
    raw: 'caf\u00e9',
  });
});

test('JsonPayloadSerializer - leaves received entities and contexts unchanged', () => {
  const serializer = new JsonPayloadSerializer();
  const ctxt = { user_id: 'u-1', client_timeout: null };
  const entity = { when: '2024-05-06T07:08:09.123000' };
  assert.equal(serializer.deserializeEntity(ctxt, entity), entity);
  assert.equal(serializer.serializeContext(ctxt), ctxt);
  assert.equal(serializer.deserializeContext(ctxt), ctxt);
});

class RequestContext {
  constructor(
    readonly userId: string,
    readonly roles: readonly string[],
  ) {}
}

class RequestContextSerializer implements Serializer<RequestContext> {
  readonly #base = new JsonPayloadSerializer();
  serializeEntity(ctxt: RequestContext, entity: unknown): unknown {
    return this.#base.serializeEntity(ctxt, entity);
  }
  deserializeEntity(_ctxt: RequestContext, entity: unknown): unknown {
    return entity;
  }
  serializeContext(ctxt: RequestContext): Record<string, unknown> {
    return { user_id: ctxt.userId, roles: [...ctxt.roles] };
  }
  deserializeContext(ctxt: Record<string, unknown>): RequestContext {
    return new RequestContext(
      String(ctxt['user_id']),
      (ctxt['roles'] as string[] | undefined) ?? [],
    );
  }
}

test('Serializer - an application context class round-trips through its dict form', () => {
  const serializer = new RequestContextSerializer();
  const ctxt = new RequestContext('u-1', ['admin']);
  const wire = serializer.serializeContext(ctxt);
  assert.deepEqual(wire, { user_id: 'u-1', roles: ['admin'] });
  assert.deepEqual(serializer.deserializeContext({ ...wire, client_timeout: null }), ctxt);
  // A typed serializer is accepted wherever the library takes a Serializer.
  const accepted: Serializer = serializer;
  assert.ok(accepted);
});
