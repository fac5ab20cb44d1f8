import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { connectPg } from '../support/database.js';
import { expect204 } from '../support/fixtures.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

const address = (over: Record<string, unknown> = {}) => ({
  addressID: randomUUID(),
  buildingNumber: 44,
  streetName: 'Pushkina',
  city: 'Moscow',
  country: 'Russia',
  ...over,
});

async function countRows(table: 'addresses' | 'users', id: string): Promise<number> {
  const client = await connectPg(t.databaseUrl);
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = $1`, [id]);
  await client.end();
  return rows[0].n;
}

describe('POST /api/v1/addresses (and /address)', () => {
  it('when the body is valid, then both spellings answer 204 and store the address', async () => {
    const first = address();
    const second = address({ StreetName: 'Lenina', streetName: undefined });
    await expect204(t.http.post('/api/v1/addresses').send(first));
    await expect204(t.http.post('/api/v1/address/').send(second));
    expect(await countRows('addresses', first.addressID)).toBe(1);
    expect(await countRows('addresses', second.addressID)).toBe(1);
  });

  it('when the id exists, then it answers 409 naming it', async () => {
    const body = address();
    await expect204(t.http.post('/api/v1/addresses').send(body));
    const res = await t.http.post('/api/v1/addresses').send(body);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'an address with this id already exists', data: body.addressID });
  });

  it.each([
    ['building number 0', { buildingNumber: 0 }],
    ['fractional building number', { buildingNumber: 4.5 }],
    ['building number as text', { buildingNumber: '44' }],
    ['empty city', { city: '' }],
    ['blank country', { country: '   ' }],
    ['missing street', { streetName: undefined }],
    ['invalid id', { addressID: '1234' }],
  ])('when the body has a %s, then it answers 400 and stores nothing', async (_case, over) => {
    const body = address(over);
    const res = await t.http.post('/api/v1/addresses').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: expect.any(String), data: expect.any(String) });
    if (typeof body.addressID === 'string' && body.addressID.length === 36) expect(await countRows('addresses', body.addressID)).toBe(0);
  });
});

describe('POST /api/v1/users', () => {
  it('when the address exists, then it answers 204 and stores the user', async () => {
    const home = address();
    await expect204(t.http.post('/api/v1/addresses').send(home));
    const userID = randomUUID();
    await expect204(t.http.post('/api/v1/users').send({ UserID: userID, Username: 'test', AddressID: home.addressID.toUpperCase() }));
    expect(await countRows('users', userID)).toBe(1);
  });

  it('when the address is unknown, then it answers 404 naming the address', async () => {
    const addressID = randomUUID();
    const res = await t.http.post('/api/v1/users').send({ userID: randomUUID(), username: 'test', addressID });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: 'address not found', data: addressID });
  });

  it('when the id exists, then it answers 409', async () => {
    const home = address();
    await expect204(t.http.post('/api/v1/addresses').send(home));
    const body = { userID: randomUUID(), username: 'test', addressID: home.addressID };
    await expect204(t.http.post('/api/v1/users').send(body));
    const res = await t.http.post('/api/v1/users').send(body);
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ message: 'a user with this id already exists', data: body.userID });
  });

  it('when the username is empty or the ids are invalid, then it answers 400', async () => {
    for (const body of [
      { userID: randomUUID(), username: '', addressID: randomUUID() },
      { userID: 'u', username: 'test', addressID: randomUUID() },
      { userID: randomUUID(), username: 'test', addressID: 42 },
    ]) {
      const res = await t.http.post('/api/v1/users').send(body);
      expect(res.status).toBe(400);
    }
  });
});
