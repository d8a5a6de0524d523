// Shared by the compatibility scripts: the server address and credentials come from the environment that the C#
// test (tests/Quiver.Server.Tests/Compat) sets; vectors are seeded so every run sends the same data.
'use strict';
const { MilvusClient, HttpClient, DataType, ErrorCode } = require('@zilliz/milvus2-sdk-node');

const address = process.env.QUIVER_ADDRESS || '127.0.0.1:19530';
const token = process.env.QUIVER_TOKEN || undefined;
const dim = 384;

function rng(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
}
function vector(seed) {
  const r = rng(seed);
  const v = Array.from({ length: dim }, () => r() * 2 - 1);
  const n = Math.hypot(...v);
  return v.map(x => x / n);
}
function client(extra) { return new MilvusClient({ address, token, ...(extra || {}) }); }
function httpClient(extra) { return new HttpClient({ endpoint: `http://${address}`, token, ...(extra || {}) }); }

/** Rows or hits compared field by field, in order (keys sorted): the cluster scripts' check against a single node. */
function sameRows(got, want, what) {
  const norm = rows => JSON.stringify(rows.map(r => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))));
  check(norm(got) === norm(want), `${what}: the cluster's answer differs from the single node's`, { cluster: got.slice(0, 4), single: want.slice(0, 4), clusterCount: got.length, singleCount: want.length });
}

/** Fails the script with a message naming what was expected. */
function check(condition, message, detail) {
  if (!condition) {
    const error = new Error(`${message}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
    throw error;
  }
}
function ok(status, what) {
  const s = status && status.status ? status.status : status;
  check(s && (s.error_code === ErrorCode.SUCCESS || s.error_code === 'Success') && (s.code === 0 || s.code === undefined), `${what} failed`, s);
}
function milvusError(status, what) {
  const s = status && status.status ? status.status : status;
  check(s && s.error_code !== 'Success' && s.code !== 0 && typeof s.reason === 'string' && s.reason.length > 0, `${what} should fail with a Milvus error`, s);
  return s;
}
/** Creates collection `name` with `fields`, dropping a leftover of an earlier run first. */
async function freshCollection(c, name, fields) {
  if ((await c.hasCollection({ collection_name: name })).value) await c.dropCollection({ collection_name: name });
  ok(await c.createCollection({ collection_name: name, fields }), `createCollection ${name}`);
}
async function main(name, body) {
  const started = Date.now();
  try {
    const steps = await body();
    console.log(JSON.stringify({ script: name, ok: true, steps, ms: Date.now() - started }));
    process.exit(0);
  } catch (e) {
    console.error(`${name}: FAILED: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  }
}

const products = [
  ['Wireless noise cancelling headphones', 'tech', 179.99], ['Bluetooth earbuds with charging case', 'tech', 59.99],
  ['Wired studio headphones', 'tech', 99.0], ['Kids wireless headphones', 'tech', 45.5], ['4K smart TV 55 inch', 'tech', 499.0],
  ['Mechanical keyboard', 'tech', 129.0], ['Portable speaker', 'tech', 79.9], ['USB-C cable 2 pack', 'tech', 12.99],
  ['Chef knife 8 inch', 'home', 64.0], ['Frying pan with lid', 'home', 39.95], ['Robot vacuum cleaner', 'home', 249.0],
  ['Memory foam pillow', 'home', 49.0], ['Bath towels set', 'home', 34.5], ['The art of programming', 'books', 89.99],
  ['Vector databases guide', 'books', 39.0], ['Cooking for one', 'books', 19.99], ['Trail running shoes', 'sports', 119.0],
  ['Yoga mat', 'sports', 29.99], ['Adjustable dumbbells', 'sports', 299.0], ['Sport earbuds', 'sports', 69.0],
];

/** POSTs `body` to REST v2's `path` (e.g. 'entities/search') and answers the JSON, which must come with HTTP 200. */
async function restPost(path, body) {
  const { http, json } = await restAt(address, path, body, token ? { Authorization: `Bearer ${token}` } : undefined);
  check(http === 200, `REST ${path}: HTTP 200`, json);
  return json;
}

/**
 * POSTs `body` (an object, or a string sent as it is) to REST v2's `path` on the server at `at` (host:port) with
 * `headers`: the HTTP status, the body's text and its JSON (undefined when the body is not JSON). Unlike restPost it
 * answers any status, for tests that compare a node's answer, refusals included, with another server's.
 */
async function restAt(at, path, body, headers) {
  const response = await fetch(`http://${at}/v2/vectordb/${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...(headers || {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(180000),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { http: response.status, text, json };
}

/**
 * REST v2 calls compared with a single-node oracle (the cluster scripts): each call goes to `through()` (host:port, asked
 * once a call) and to the server at `oracle`, and must answer the same HTTP status and the same body text, byte for
 * byte. `same` answers the parsed body; `succeeds` also checks code 0; `refused` a non-zero code with a message.
 */
function restComparer(oracle, through) {
  const same = async (path, body, what, headers) => {
    const at = through();
    const [a, s] = [await restAt(at, path, body, headers), await restAt(oracle, path, body, headers)];
    check(a.http === s.http && a.text === s.text, `${what} (${path} through ${at}): the single node's HTTP status and body`, { cluster: a, single: s });
    return JSON.parse(a.text);
  };
  const succeeds = async (path, body, what, headers) => {
    const a = await same(path, body, what, headers);
    check(a.code === 0, `${what} succeeded`, a);
    return a;
  };
  const refused = async (path, body, what, headers) => {
    const a = await same(path, body, what, headers);
    check(a.code !== 0 && typeof a.message === 'string' && a.message.length > 0, `${what} is refused with a code and a message`, a);
    return a;
  };
  return { same, succeeds, refused };
}

/**
 * REST `collections/describe` of `name` through the cluster address `at` and on the single node at `oracle`: both must
 * succeed and answer the same body but for `collectionID` (each engine's own counter) and `shardsNum` (the cluster's
 * count; a single node keeps one). Answers the cluster's parsed body, whole. `extra` joins the request's body.
 */
async function describedAlike(at, oracle, name, what, extra) {
  const body = { collectionName: name, ...(extra || {}) };
  const [a, s] = [await restAt(at, 'collections/describe', body), await restAt(oracle, 'collections/describe', body)];
  const [ja, js] = [JSON.parse(a.text), JSON.parse(s.text)];
  check(a.http === s.http && ja.code === 0 && js.code === 0, `${what}: describe ${name} through ${at} succeeded`, { cluster: a, single: s });
  const view = d => { const { collectionID, shardsNum, ...data } = d.data; return { ...d, data }; };
  check(JSON.stringify(view(ja)) === JSON.stringify(view(js)), `${what}: describe ${name} through ${at} is the single node's answer but for the id and shard count`, { cluster: ja, single: js });
  return ja;
}

/** A gRPC call's answer, or a thrown error as a status with code -1 (the SDK throws for some refusals). */
const answer = async call => { try { return await call; } catch (e) { return e instanceof Error ? { status: { code: -1, reason: e.message } } : e; } };
/** The status of an answer that has one, else the answer (a plain status). */
const statusOf = a => (a && a.status) || a;

module.exports = { MilvusClient, HttpClient, DataType, ErrorCode, address, token, dim, rng, vector, client, httpClient, check, ok, milvusError, sameRows, main, products, freshCollection, restPost, restAt, restComparer, describedAlike, answer, statusOf };
