import { ValidationError } from '../kernel/errors.js';
import { toCents } from '../kernel/money.js';

export interface ProductState {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  discount: number;
  createdAt: Date;
}

/**
 * The longest product name, in UTF-16 code units. Names are unique through a B-tree index, whose entries cannot
 * exceed about 2,700 bytes; 500 units are at most 1,500 bytes of UTF-8.
 */
export const MAX_NAME_LENGTH = 500;

/** A product of the catalog. Its rules: price > 0 with at most 2 decimals, discount 0..99, names start upper-case on rename. */
export class Product {
  private constructor(private state: ProductState) {}

  static create(input: { id: string; name: string; description: string; price: number; discount: number }, now: Date): Product {
    const name = input.name.trim();
    if (name.length === 0) throw new ValidationError('name must not be empty', input.name);
    checkNameLength('name', name);
    return new Product({
      id: input.id,
      name,
      description: input.description,
      priceCents: toCents(input.price),
      discount: checkDiscount(input.discount),
      createdAt: now,
    });
  }

  static restore(state: ProductState): Product {
    return new Product({ ...state });
  }

  /** A new name must start with an upper-case letter (any script: "Éclair" and "Телефон" are fine). */
  rename(newName: string): void {
    const name = newName.trim();
    if (!/^\p{Lu}/u.test(name)) {
      throw new ValidationError('productName must start with an upper-case letter', newName);
    }
    checkNameLength('productName', name);
    this.state = { ...this.state, name };
  }

  get snapshot(): Readonly<ProductState> {
    return this.state;
  }
}

function checkNameLength(field: string, name: string): void {
  if (name.length > MAX_NAME_LENGTH) throw new ValidationError(`${field} must be at most ${MAX_NAME_LENGTH} characters`, `${name.slice(0, 100)}...`);
}

function checkDiscount(discount: number): number {
  if (!Number.isInteger(discount) || discount < 0 || discount > 99) {
    throw new ValidationError('discount must be an integer percentage from 0 to 99', String(discount));
  }
  return discount;
}
