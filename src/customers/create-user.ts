import { z } from 'zod';
import { defineCommand } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { ConflictError, NotFoundError } from '../kernel/errors.js';
import { label, uuid } from '../kernel/schemas.js';
import { requireTransaction } from '../platform/database/transaction-context.js';
import { isUniqueViolation } from '../platform/database/database-errors.js';

export const CreateUser = defineCommand(
  'CreateUser',
  z.object({
    userID: uuid,
    username: label,
    addressID: uuid.meta({ description: 'the id of an existing address' }),
  }).meta({ id: 'User' }),
);

export function createUserHandler(): Handler<typeof CreateUser> {
  return async ({ userID, username, addressID }) => {
    const tx = requireTransaction();
    if (!(await tx.address.findUnique({ where: { id: addressID }, select: { id: true } }))) {
      throw new NotFoundError('address not found', addressID);
    }
    try {
      await tx.user.create({ data: { id: userID, username, addressId: addressID } });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError('a user with this id already exists', userID);
      throw error;
    }
  };
}
