import { z } from 'zod';
import { defineCommand } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { ConflictError } from '../kernel/errors.js';
import { label, uuid } from '../kernel/schemas.js';
import { requireTransaction } from '../platform/database/transaction-context.js';
import { isUniqueViolation } from '../platform/database/database-errors.js';
import { checkAddress } from './address.js';

export const CreateAddress = defineCommand(
  'CreateAddress',
  z.object({
    addressID: uuid,
    // The column is a 32-bit INTEGER.
    buildingNumber: z.number().int().positive().max(2_147_483_647),
    streetName: label,
    city: label,
    country: label,
  }).meta({ id: 'Address' }),
);

export function createAddressHandler(): Handler<typeof CreateAddress> {
  return async ({ addressID, ...fields }) => {
    const address = checkAddress(fields);
    try {
      await requireTransaction().address.create({ data: { id: addressID, ...address } });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError('an address with this id already exists', addressID);
      throw error;
    }
  };
}
