import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import { defineCommand, type CommandContext, type Handler, type PayloadOf } from '../kernel/message.js';
import { label, uuid } from '../kernel/schemas.js';
import { checkAddress } from './address.js';
import type { CustomerRepository } from './customer-repository.js';

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

@injectable()
export class CreateAddressHandler implements Handler<typeof CreateAddress> {
  constructor(@inject(TOKENS.CustomerRepository) private readonly customers: CustomerRepository) {}

  async handle({ addressID, ...fields }: PayloadOf<typeof CreateAddress>, { unit }: CommandContext): Promise<void> {
    await this.customers.insertAddress(unit, addressID, checkAddress(fields));
  }
}
