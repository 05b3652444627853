/**
 * The sample service the demo runs under sockscope: a shop's order page and checkout, written the
 * way such code often is, with the waste sockscope's report looks for left in on purpose:
 * - an N+1 loop (one `SELECT ... WHERE id = $1` per order line),
 * - a duplicate (the same statistics query made twice for one page),
 * - serial calls (independent lookups awaited one after another),
 * - a gap (an MQTT publish: no official OpenTelemetry instrumentation covers mqtt.js).
 */
import { traced } from '../traced';
import { load } from './modules';

/** The part of a `pg.Client` the service uses. */
export interface Db {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
}

/** The part of an mqtt.js client the service uses. */
export interface Publisher {
  publishAsync(topic: string, message: string, options: { qos: 0 | 1 | 2 }): Promise<unknown>;
  endAsync(): Promise<void>;
}

export interface Clients {
  db: Db;
  mqtt: Publisher;
  apiBase: string;
}

export interface ClientTargets {
  postgres: { host: string; port: number; user: string; database: string };
  mqttUrl: string;
  apiBase: string;
}

interface PgModule {
  Client: new (config: Record<string, unknown>) => Db & {
    connect(): Promise<void>;
    on(event: 'error', listener: (err: Error) => void): unknown;
  };
}
interface MqttModule {
  connectAsync(url: string, options: Record<string, unknown>): Promise<Publisher>;
}

/**
 * Loads the client libraries and connects. Must run after the instrumentations are enabled: the
 * official pg instrumentation patches `pg` as it is required. Traced, so the connections' spans
 * and handshakes have a home in the trace (`connectClients` in the report).
 */
export const connectClients = traced('connectClients', async (targets: ClientTargets): Promise<Clients> => {
  const pg = await load<PgModule>('pg');
  const mqtt = await load<MqttModule>('mqtt');
  const db = new pg.Client({ ...targets.postgres, connectionTimeoutMillis: 5000 });
  db.on('error', () => {}); // a server going away at shutdown must not crash the demo
  await db.connect();
  // keepalive well past the demo's length: no PINGREQ lands in the middle of the sample calls.
  const client = await mqtt.connectAsync(targets.mqttUrl, { clientId: 'sockscope-demo', keepalive: 300 });
  return { db, mqtt: client, apiBase: targets.apiBase };
});

/** How many line items each order has: the N+1 loop's length. */
export const ITEMS_PER_ORDER = 8;

/**
 * Schema and data. `orders` is large enough (and `customer_id` unindexed) that the statistics
 * query takes milliseconds, like a real aggregate, so repeating it is visibly wasteful.
 */
export async function seed(db: Db): Promise<void> {
  await db.query(`
    CREATE TEMP TABLE customers (id int PRIMARY KEY, name text NOT NULL, tier text NOT NULL);
    CREATE TEMP TABLE products (id int PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL);
    CREATE TEMP TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
                              total_cents int NOT NULL);
    CREATE TEMP TABLE order_items (order_id int NOT NULL, product_id int NOT NULL, qty int NOT NULL);
    INSERT INTO customers SELECT g, 'customer ' || g, CASE WHEN g % 7 = 0 THEN 'gold' ELSE 'standard' END
      FROM generate_series(1, 1000) g;
    INSERT INTO products SELECT g, 'product ' || g, 100 + (g * 37) % 5000 FROM generate_series(1, 500) g;
    INSERT INTO orders SELECT g, 1 + g % 1000, 'open', 500 + (g * 53) % 20000 FROM generate_series(1, 50000) g;
    INSERT INTO order_items SELECT o, 1 + (o * 7 + k * 13) % 500, 1 + k % 3
      FROM generate_series(1, 100) o, generate_series(1, ${ITEMS_PER_ORDER}) k;
    CREATE INDEX ON order_items (order_id);
    ANALYZE;
  `);
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

export interface Shop {
  renderOrderPage(orderId: number): Promise<{ order: unknown; products: unknown[]; stats: unknown }>;
  checkout(orderId: number): Promise<void>;
}

export function createShop({ db, mqtt, apiBase }: Clients): Shop {
  const customerStats = async (customerId: unknown): Promise<unknown> =>
    (
      await db.query(
        'SELECT count(*) AS orders, sum(total_cents) AS spent_cents FROM orders WHERE customer_id = $1',
        [customerId],
      )
    ).rows[0];

  const renderOrderPage = traced('renderOrderPage', async (orderId: number) => {
    const order = (
      await db.query('SELECT id, customer_id, status, total_cents FROM orders WHERE id = $1', [orderId])
    ).rows[0];
    const items = (
      await db.query('SELECT product_id, qty FROM order_items WHERE order_id = $1 ORDER BY product_id', [
        orderId,
      ])
    ).rows;
    // N+1: one round trip per line; `WHERE id = ANY($1)` would fetch them all in one.
    const products: unknown[] = [];
    for (const item of items) {
      const r = await db.query('SELECT id, name, price_cents FROM products WHERE id = $1', [item.product_id]);
      products.push(r.rows[0]);
    }
    // Duplicate: the page header and the sidebar each ask for the same statistics.
    const stats = await customerStats(order.customer_id);
    await customerStats(order.customer_id);
    return { order, products, stats };
  });

  const checkout = traced('checkout', async (orderId: number) => {
    const order = (await db.query('SELECT id, customer_id FROM orders WHERE id = $1', [orderId])).rows[0];
    // Serial: three independent lookups awaited one after another; Promise.all would overlap them.
    await getJson(`${apiBase}/shipping/quote?order=${orderId}`);
    await getJson(`${apiBase}/fraud/score?order=${orderId}`);
    await getJson(`${apiBase}/recommendations?customer=${String(order.customer_id)}`);
    await db.query('UPDATE orders SET status = $2 WHERE id = $1', [orderId, 'paid']);
    // Gap: nothing in OpenTelemetry's official set instruments mqtt.js, so only sockscope sees this.
    await mqtt.publishAsync(`shop/orders/${orderId}/paid`, JSON.stringify({ orderId }), { qos: 1 });
  });

  return { renderOrderPage, checkout };
}
