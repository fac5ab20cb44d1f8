import { injectable } from 'tsyringe';
import { sql } from '../platform/database/sql.js';
import type { Reader, UnitOfWork } from '../platform/database/unit-of-work.js';
import { conflictOnDuplicate } from '../platform/database/database-errors.js';
import type { AddressFields } from './address.js';

/** Every statement on the `addresses` and `users` tables. */
@injectable()
export class CustomerRepository {
  async insertAddress(unit: UnitOfWork, id: string, address: AddressFields): Promise<void> {
    await conflictOnDuplicate('an address with this id already exists', id, () =>
      unit.write(sql`
        INSERT INTO addresses (id, building_number, street_name, city, country)
        VALUES (${id}::uuid, ${address.buildingNumber}, ${address.streetName}, ${address.city}, ${address.country})`),
    );
  }

  async addressExists(reader: Reader, id: string): Promise<boolean> {
    return (await reader.read(sql`SELECT 1 FROM addresses WHERE id = ${id}::uuid`)).length > 0;
  }

  async insertUser(unit: UnitOfWork, user: { id: string; username: string; addressId: string }): Promise<void> {
    await conflictOnDuplicate('a user with this id already exists', user.id, () =>
      unit.write(sql`INSERT INTO users (id, username, address_id) VALUES (${user.id}::uuid, ${user.username}, ${user.addressId}::uuid)`),
    );
  }

  /** The ids among these that are users (user rows are never deleted). */
  async existingUsers(reader: Reader, ids: string[]): Promise<Set<string>> {
    const rows = await reader.read(sql<{ id: string }>`SELECT id FROM users WHERE id = ANY(${ids}::uuid[])`);
    return new Set(rows.map((row) => row.id));
  }

  /** One page of user ids after `after` (keyset pagination, so the cost per page does not grow), and the count. */
  async userIdsAfter(reader: Reader, after: string | undefined, limit: number): Promise<string[]> {
    const rows = await reader.read(sql<{ id: string }>`
      SELECT id FROM users ${after === undefined ? sql.empty : sql`WHERE id > ${after}::uuid`} ORDER BY id LIMIT ${limit}`);
    return rows.map((row) => row.id);
  }

  async countUsers(reader: Reader): Promise<number> {
    const [row] = await reader.read(sql<{ count: number }>`SELECT count(*)::int AS count FROM users`);
    return row?.count ?? 0;
  }
}
