import { z } from 'zod';
import { defineCommand } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { ConflictError, NotFoundError } from '../kernel/errors.js';
import { label, uuid } from '../kernel/schemas.js';
import type { PrismaProductRepository } from './prisma-product-repository.js';

export const RenameProduct = defineCommand(
  'RenameProduct',
  z.object({
    productID: uuid,
    productName: label.meta({ description: 'must start with an upper-case letter' }),
  }),
);

export function renameProductHandler(products: PrismaProductRepository): Handler<typeof RenameProduct> {
  return async (command) => {
    const product = await products.findById(command.productID);
    if (!product) throw new NotFoundError('product not found', command.productID);
    product.rename(command.productName);
    const newName = product.snapshot.name;
    const holder = await products.findByName(newName);
    if (holder && holder.snapshot.id !== command.productID) throw new ConflictError('product name is taken', newName);
    await products.saveName(product);
  };
}
