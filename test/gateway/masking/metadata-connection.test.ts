import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeColumn } from '../../../gateway/masking/catalog.ts';
import { createMetadataCatalog } from '../../../gateway/masking/metadata-connection.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe('metadata catalog connection', () => {
  it('opens on first use and reads relations with their columns in attribute order', async () => {
    const catalog = createMetadataCatalog({
      client: { host: db.host, port: db.port, user: db.user, database: db.database },
    });
    try {
      const [customers] = await catalog.relationsNamed('customers');
      expect(customers).toMatchObject({ schema: 'public', name: 'customers', kind: 'table' });
      expect(customers!.columns.map((c) => c.name)).toEqual([
        'id',
        'name',
        'email',
        'card_number',
        'ssn',
        'api_token',
        'notes',
      ]);
      const view = (await catalog.relationsNamed('customer_contacts'))[0]!;
      expect(view.kind).toBe('view');
      expect(await catalog.viewDefinition(view.oid)).toMatch(/email/);
      expect((await catalog.relationByOid(customers!.oid))?.name).toBe('customers');
      expect((await catalog.functions('customer_token')).map((f) => f.schema)).toEqual(['public']);
      expect(await describeColumn(catalog, customers!.oid, 3)).toBe('public.customers.email');
      expect(await describeColumn(catalog, customers!.oid, 99)).toBeNull();
    } finally {
      await catalog.close();
    }
  });

  it('fails a catalog read that gets no answer in time instead of hanging', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const catalog = createMetadataCatalog({
      client: { host: '127.0.0.1', port, user: 'x', database: 'x' },
      queryTimeoutMs: 300,
    });
    try {
      await expect(catalog.relationsNamed('customers')).rejects.toThrow(/timeout|time/i);
    } finally {
      await catalog.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
