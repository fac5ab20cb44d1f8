import type { Mediator } from '../kernel/mediator.js';
import { SCOPES } from '../kernel/actor.js';
import type { RouteSpec } from '../platform/http/route-spec.js';
import { CreateAddress } from './create-address.js';
import { CreateUser } from './create-user.js';

export function customerRoutes(mediator: Mediator): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/addresses',
      aliases: ['/address'],
      operationId: 'createAddress',
      tag: 'customers',
      summary: 'Create an address',
      requires: [SCOPES.customersWrite],
      request: { body: CreateAddress.schema },
      success: { status: 204, description: 'created' },
      errors: [409],
      handle: ({ body, correlationId, actor }) => mediator.receive(CreateAddress, body, correlationId, { actor }),
    },
    {
      method: 'post',
      path: '/users',
      operationId: 'createUser',
      tag: 'customers',
      summary: 'Create a user living at an existing address',
      requires: [SCOPES.customersWrite],
      request: { body: CreateUser.schema },
      success: { status: 204, description: 'created' },
      errors: [404, 409],
      handle: ({ body, correlationId, actor }) => mediator.receive(CreateUser, body, correlationId, { actor }),
    },
  ];
}
