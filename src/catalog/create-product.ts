import { inject, injectable } from 'tsyringe';
import { z } from 'zod';
import { TOKENS } from '../tokens.js';
import type { Clock } from '../kernel/clock.js';
import { defineCommand, type CommandContext, type Handler, type PayloadOf } from '../kernel/message.js';
import { ConflictError } from '../kernel/errors.js';
import { label, MAX_DESCRIPTION_LENGTH, uuid } from '../kernel/schemas.js';
import { Product } from './product.js';
import type { ProductRepository } from './product-repository.js';

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

@injectable()
export class CreateProductHandler implements Handler<typeof CreateProduct> {
  constructor(
    @inject(TOKENS.ProductRepository) private readonly products: ProductRepository,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  async handle(command: PayloadOf<typeof CreateProduct>, { unit }: CommandContext): Promise<void> {
    const product = Product.create({ id: command.productID, ...command }, this.clock());
    if (await this.products.findById(unit, command.productID)) throw new ConflictError('a product with this id already exists', command.productID);
    if (await this.products.findByName(unit, product.snapshot.name)) throw new ConflictError('a product with this name already exists', product.snapshot.name);
    await this.products.insert(unit, product);
  }
}
