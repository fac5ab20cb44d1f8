import { ValidationError } from '../kernel/errors.js';
import { toCents } from '../kernel/money.js';
import { MAX_NAME_LENGTH } from '../kernel/schemas.js';

export interface ProductState {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  discount: number;
  createdAt: Date;
}

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
  // MAX_NAME_LENGTH UTF-16 units are at most 600 bytes of UTF-8, well within a B-tree index entry (about 2,700).
  if (name.length > MAX_NAME_LENGTH) throw new ValidationError(`${field} must be at most ${MAX_NAME_LENGTH} characters`, name);
}

function checkDiscount(discount: number): number {
  if (!Number.isInteger(discount) || discount < 0 || discount > 99) {
    throw new ValidationError('discount must be an integer percentage from 0 to 99', String(discount));
  }
  return discount;
}
