// Users, roles and grants on a 3-node Quiver cluster with authentication on (QUIVER_ADDRESSES), through the official
// Milvus Node.js SDK and REST v2, a standalone Quiver server with authentication on (QUIVER_ORACLE) as the oracle: every
// answer and refusal through the nodes (each call through another node than the one that made the change) equals the
// single node's on the same calls:
// - credentials: no token, a wrong password, an unknown user (gRPC and REST);
// - users and roles created, listed, described and granted through different nodes, refusals of duplicates and unknown
//   names, a change made through one node honoured by the next call through another;
// - a user's search allowed by a grant, query and insert refused (gRPC and REST), then the grant revoked and the user
//   dropped through one node and refused by the others (the time until every node refuses is printed);
// - roles created concurrently through the three nodes (compare-and-set conflicts in the bucket): none lost.
// Exits non-zero naming the first failure.
'use strict';
const { MilvusClient, DataType, check, ok, main, restAt } = require('./common');

const addresses = (process.env.QUIVER_ADDRESSES || '').split(',').filter(a => a.length > 0);
const oracleAddress = process.env.QUIVER_ORACLE || '';
const rootPassword = process.env.QUIVER_ROOT_PASSWORD || '';
const dim = 4;

function clientOf(address, token) {
  const c = new MilvusClient({ address, token, timeout: 180000 });
  // A refused credential makes the SDK's background Connect reject: observed through the calls instead.
  if (c.connectPromise) c.connectPromise = c.connectPromise.catch(() => {});
  return c;
}

/** The outcome of a gRPC call as compared: code and reason of its status, or the transport refusal. */
async function outcome(promise) {
  try {
    const res = await promise;
    const status = res && res.status ? res.status : res;
    return status && status.error_code !== undefined ? { code: status.code, reason: status.reason } : { code: 0 };
  } catch (e) {
    return { transport: e.code ?? -1, reason: String(e.details || e.message) };
  }
}

async function rest(address, path, body, token) {
  const answer = await restAt(address, path, body, token ? { Authorization: `Bearer ${token}` } : undefined);
  return { http: answer.http, ...answer.json };
}

function same(got, want, what) {
  check(JSON.stringify(got) === JSON.stringify(want), `${what}: the cluster answers as the single node`, { cluster: got, single: want });
}

/** Polls `attempt` (a safety net of 240 s on a loaded machine) until it returns true; returns the milliseconds taken. */
async function until(attempt, what) {
  const started = Date.now();
  while (!(await attempt())) {
    check(Date.now() - started < 240000, `${what} within 240 s`);
    await new Promise(r => setTimeout(r, 20));
  }
  return Date.now() - started;
}

const sorted = list => [...list].sort();

main('cluster-auth', () => run().catch(e => { throw e instanceof Error ? e : new Error(JSON.stringify(e)); }));

async function run() {
  check(addresses.length === 3 && oracleAddress.length > 0 && rootPassword.length > 0,
    'QUIVER_ADDRESSES names three nodes, QUIVER_ORACLE one server, QUIVER_ROOT_PASSWORD the root password', { addresses, oracleAddress });
  const rootToken = `root:${rootPassword}`;
  const nodes = addresses.map(a => clientOf(a, rootToken));
  const single = clientOf(oracleAddress, rootToken);
  const steps = [];
  // Each step's call goes through node i on the cluster and through the single node; answers compared.
  const both = async (i, call, what) => {
    const got = await outcome(call(nodes[i]));
    const want = await outcome(call(single));
    same(got, want, what);
    return got;
  };

  // ---- Credentials.
  for (const [token, what] of [[undefined, 'no token'], ['root:not-the-password', 'a wrong password'], ['nobody:not-the-password', 'an unknown user']]) {
    const got = await outcome(clientOf(addresses[1], token).listUsers());
    const want = await outcome(clientOf(oracleAddress, token).listUsers());
    check(got.transport !== undefined || got.code !== 0, `${what} is refused`, got);
    same(got, want, `${what} over gRPC`);
    const restGot = await rest(addresses[2], 'collections/list', {}, token);
    const restWant = await rest(oracleAddress, 'collections/list', {}, token);
    same(restGot, restWant, `${what} over REST`);
  }
  steps.push('credentials');

  // ---- Users and roles, each change through one node and read through another.
  const secret = 'Al1ce-secret';
  const created = await both(0, c => c.createUser({ username: 'alice', password: secret }), 'create user alice');
  check(created.code === 0, 'alice is created', created);
  const duplicate = await both(1, c => c.createUser({ username: 'alice', password: secret }), 'create alice again');
  check(duplicate.code !== 0, 'a second alice is refused', duplicate);
  await both(2, c => c.createUser({ username: '1bad', password: secret }), 'a bad user name');
  await both(2, c => c.createUser({ username: 'shorty', password: '123' }), 'a short password');
  const users = async c => sorted((await c.listUsers()).usernames);
  same(await users(nodes[2]), await users(single), 'listUsers through another node');
  await both(1, c => c.createRole({ roleName: 'searcher' }), 'create role searcher');
  await both(2, c => c.createRole({ roleName: 'searcher' }), 'create searcher again');
  await both(0, c => c.addUserToRole({ username: 'alice', roleName: 'searcher' }), 'add alice to searcher');
  await both(0, c => c.addUserToRole({ username: 'alice', roleName: 'no_such_role' }), 'add alice to a missing role');
  await both(1, c => c.addUserToRole({ username: 'nobody', roleName: 'searcher' }), 'add a missing user');
  const described = async c => {
    const res = await c.selectUser({ username: 'alice', includeRoleInfo: true });
    return res.results.map(r => ({ user: r.user.name, roles: sorted(r.roles.map(x => x.name)) }));
  };
  same(await described(nodes[2]), await described(single), 'selectUser alice through another node');
  const roles = async c => sorted((await c.selectRole({ roleName: '', includeUserInfo: true })).results
    .map(r => `${r.role.name}:${sorted(r.users.map(u => u.name)).join('+')}`));
  same(await roles(nodes[1]), await roles(single), 'selectRole with users');
  steps.push('users-roles');

  // ---- A collection, a grant, and the user's calls through the other nodes.
  const fields = [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true, autoID: false },
    { name: 'vector', data_type: DataType.FloatVector, dim },
  ];
  const rows = Array.from({ length: 20 }, (_, i) => ({ id: i, vector: [i, 1, 0, -i / 10] }));
  for (const c of [nodes[0], single]) {
    ok(await c.createCollection({ collection_name: 'docs', fields, index_params: { field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' } }), 'create docs');
    ok(await c.insert({ collection_name: 'docs', data: rows }), 'insert docs');
    ok(await c.loadCollection({ collection_name: 'docs' }), 'load docs');
  }
  await both(1, c => c.grantPrivilege({ roleName: 'searcher', object: 'Collection', objectName: 'docs', privilegeName: 'Search' }), 'grant Search on docs');
  await both(1, c => c.grantPrivilege({ roleName: 'searcher', object: 'Collection', objectName: 'docs', privilegeName: 'NoSuchPrivilege' }), 'grant an unknown privilege');
  const grants = async c => sorted((await c.listGrants({ roleName: 'searcher' })).entities
    .map(g => `${g.object.name}/${g.object_name}/${g.db_name}/${g.grantor.privilege.name}/${g.grantor.user.name}`));
  same(await grants(nodes[2]), await grants(single), 'listGrants of searcher through another node');

  const aliceToken = `alice:${secret}`;
  const alice = addresses.map(a => clientOf(a, aliceToken));
  const aliceSingle = clientOf(oracleAddress, aliceToken);
  const asAlice = async (i, call, what) => {
    const got = await outcome(call(alice[i]));
    const want = await outcome(call(aliceSingle));
    same(got, want, what);
    return got;
  };
  const search = c => c.search({ collection_name: 'docs', data: [[3, 1, 0, -0.3]], limit: 3, consistency_level: 'Strong' });
  const hits = async c => (await search(c)).results.map(h => h.id);
  same(await hits(alice[2]), await hits(aliceSingle), 'alice searches docs through node 2');
  const query = await asAlice(1, c => c.query({ collection_name: 'docs', filter: 'id < 3', output_fields: ['id'] }), 'alice queries without Query');
  check(query.code === 1401, 'query without the privilege is refused with 1401', query);
  await asAlice(0, c => c.insert({ collection_name: 'docs', data: [{ id: 99, vector: [0, 0, 0, 0] }] }), 'alice inserts without Insert');
  await asAlice(2, c => c.createUser({ username: 'mallory', password: secret }), 'alice creates a user');
  same((await asAlice(1, c => c.listUsers(), 'alice lists users')), (await outcome(aliceSingle.listUsers())), 'alice lists users');
  steps.push('grants');

  // ---- REST: users and roles, and alice's calls.
  for (const [i, path, body] of [
    [0, 'users/create', { userName: 'bob', password: 'b0b-secret' }],
    [1, 'users/list', {}],
    [2, 'users/describe', { userName: 'alice' }],
    [0, 'roles/create', { roleName: 'writer' }],
    [1, 'roles/grant_privilege', { roleName: 'writer', objectType: 'Collection', objectName: 'docs', privilege: 'Insert' }],
    [2, 'roles/describe', { roleName: 'writer' }],
    [0, 'users/grant_role', { userName: 'bob', roleName: 'writer' }],
    [1, 'roles/list', {}],
    [2, 'users/create', { userName: 'bob', password: 'b0b-secret' }],
  ]) {
    const got = await rest(addresses[i], path, body, rootToken);
    const want = await rest(oracleAddress, path, body, rootToken);
    if (Array.isArray(got.data)) got.data.sort();
    if (Array.isArray(want.data)) want.data.sort();
    same(got, want, `REST ${path}`);
  }
  const searchBody = { collectionName: 'docs', data: [[3, 1, 0, -0.3]], annsField: 'vector', limit: 3 };
  for (const [i, path, body, token] of [
    [1, 'entities/search', searchBody, aliceToken],
    [2, 'entities/query', { collectionName: 'docs', filter: 'id < 3' }, aliceToken],
    [0, 'entities/insert', { collectionName: 'docs', data: [{ id: 50, vector: [5, 0, 0, 0] }] }, 'bob:b0b-secret'],
    [1, 'entities/delete', { collectionName: 'docs', filter: 'id == 50' }, 'bob:b0b-secret'],
    [2, 'users/create', { userName: 'eve', password: 'eve-secret' }, aliceToken],
  ]) {
    const got = await rest(addresses[i], path, body, token);
    const want = await rest(oracleAddress, path, body, token);
    if (path === 'entities/search') {
      got.data = (got.data || []).map(h => h.id);
      want.data = (want.data || []).map(h => h.id);
    }
    same(got, want, `REST ${path} as ${token.split(':')[0]}`);
  }
  steps.push('rest');

  // ---- Revocation and a dropped user, through node 0: every other node refuses once the change reaches it.
  await both(0, c => c.revokePrivilege({ roleName: 'searcher', object: 'Collection', objectName: 'docs', privilegeName: 'Search' }), 'revoke Search');
  const revokedIn = [];
  for (const i of [1, 2]) {
    revokedIn.push(await until(async () => (await outcome(search(alice[i]))).code === 1401, `node ${i} refuses alice's search after the revocation`));
  }
  same(await outcome(search(alice[1])), await outcome(search(aliceSingle)), 'alice searches after the revocation');
  await both(0, c => c.deleteUser({ username: 'alice' }), 'drop alice');
  await both(1, c => c.deleteUser({ username: 'root' }), 'drop root');
  const droppedIn = [];
  for (const i of [1, 2]) {
    droppedIn.push(await until(async () => (await outcome(clientOf(addresses[i], aliceToken).listUsers())).transport !== undefined, `node ${i} refuses alice after the drop`));
  }
  same(await outcome(clientOf(addresses[2], aliceToken).listUsers()), await outcome(clientOf(oracleAddress, aliceToken).listUsers()), 'a dropped user');
  steps.push('revoke-drop');

  // ---- Concurrent changes through the three nodes: every one stored.
  const names = Array.from({ length: 12 }, (_, k) => `r${k}`);
  const answers = await Promise.all(names.map((name, k) => outcome(nodes[k % 3].createRole({ roleName: name }))));
  check(answers.every(a => a.code === 0), 'every concurrent createRole succeeds', answers);
  for (const name of names) ok(await single.createRole({ roleName: name }), `create ${name} on the single node`);
  const roleNames = async c => sorted((await c.selectRole({ roleName: '', includeUserInfo: false })).results.map(r => r.role.name));
  // Every change stored: each node reaches the single node's list (a node's read of the bucket may be served by a
  // lagging JetStream replica, so the list is polled, 60 s as a safety net).
  const want = JSON.stringify(await roleNames(single));
  for (const i of [0, 1, 2]) await until(async () => JSON.stringify(await roleNames(nodes[i])) === want, `roles through node ${i} after concurrent creates equal the single node's`);
  steps.push('concurrent');

  console.log(JSON.stringify({ revocationMs: revokedIn, dropMs: droppedIn }));
  return steps;
}
