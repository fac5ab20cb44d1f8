import { z } from 'zod';
import { defineCommand } from '../kernel/message.js';
import type { Handler } from '../kernel/mediator.js';
import { ConflictError } from '../kernel/errors.js';
import { label, MAX_DESCRIPTION_LENGTH, uuid } from '../kernel/schemas.js';
import { Product } from './product.js';
import type { PrismaProductRepository } from './prisma-product-repository.js';

export const CreateProduct = defineCommand(
  'CreateProduct',
  z.object({
    productID: uuid,
    name: label,
    description: z.string().max(MAX_DESCRIPTION_LENGTH, `must be at most ${MAX_DESCRIPTION_LENGTH} characters`).default(''),
    price: z.number().positive().meta({ description: 'greater than 0, at most 2 decimals' }),
    discount: z.number().int().min(0).max(99).meta({ description: 'a percentage' }),
  }).meta({ id: 'NewProduct' }),
);

export function createProductHandler(products: PrismaProductRepository, clock: () => Date): Handler<typeof CreateProduct> {
  return async (command) => {
    const product = Product.create({ id: command.productID, ...command }, clock());
    if (await products.findById(command.productID)) throw new ConflictError('a product with this id already exists', command.productID);
    if (await products.findByName(product.snapshot.name)) throw new ConflictError('a product with this name already exists', product.snapshot.name);
    await products.insert(product);
  };
}
