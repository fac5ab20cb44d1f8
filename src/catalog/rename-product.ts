import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import { defineCommand, type CommandContext, type Handler, type PayloadOf } from '../kernel/message.js';
import { ConflictError, NotFoundError } from '../kernel/errors.js';
import { label, uuid } from '../kernel/schemas.js';
import type { ProductRepository } from './product-repository.js';

export const RenameProduct = defineCommand(
  'RenameProduct',
  z.object({
    productID: uuid,
    productName: label.meta({ description: 'must start with an upper-case letter' }),
  }),
);

@injectable()
export class RenameProductHandler implements Handler<typeof RenameProduct> {
  constructor(@inject(TOKENS.ProductRepository) private readonly products: ProductRepository) {}

  async handle(command: PayloadOf<typeof RenameProduct>, { unit }: CommandContext): Promise<void> {
    const product = await this.products.findById(unit, command.productID);
    if (!product) throw new NotFoundError('product not found', command.productID);
    product.rename(command.productName);
    const newName = product.snapshot.name;
    const holder = await this.products.findByName(unit, newName);
    if (holder && holder.snapshot.id !== command.productID) throw new ConflictError('product name is taken', newName);
    await this.products.saveName(unit, product);
  }
}
