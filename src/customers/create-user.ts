import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import { defineCommand, type CommandContext, type Handler, type PayloadOf } from '../kernel/message.js';
import { NotFoundError } from '../kernel/errors.js';
import { label, uuid } from '../kernel/schemas.js';
import type { CustomerRepository } from './customer-repository.js';

export const CreateUser = defineCommand(
  'CreateUser',
  z.object({
    userID: uuid,
    username: label,
    addressID: uuid.meta({ description: 'the id of an existing address' }),
  }).meta({ id: 'User' }),
);

@injectable()
export class CreateUserHandler implements Handler<typeof CreateUser> {
  constructor(@inject(TOKENS.CustomerRepository) private readonly customers: CustomerRepository) {}

  async handle({ userID, username, addressID }: PayloadOf<typeof CreateUser>, { unit }: CommandContext): Promise<void> {
    if (!(await this.customers.addressExists(unit, addressID))) throw new NotFoundError('address not found', addressID);
    await this.customers.insertUser(unit, { id: userID, username, addressId: addressID });
  }
}
