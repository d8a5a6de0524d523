// Authentication and RBAC through the official SDK over gRPC and REST, against a server started with authentication
// on and the root password in QUIVER_ROOT_PASSWORD. Denials must be Milvus errors that leak nothing: the reason for an
// unknown user equals the reason for a wrong password, and no reason contains a password.
'use strict';
const { DataType, dim, vector, client, httpClient, check, ok, milvusError, main } = require('./common');

const rootPassword = process.env.QUIVER_ROOT_PASSWORD;

/** A client whose credentials the server will refuse: its background Connect rejects (UNAUTHENTICATED, as Milvus
 * answers), which the SDK leaves unhandled; the test observes that rejection and the calls' denials instead. */
function refusedClient(token) {
  const c = client({ token });
  if (c.connectPromise) c.connectPromise = c.connectPromise.catch(e => { c.connectError = e; });
  return c;
}

/** A REST answer, including a denial: Milvus answers failed logins with HTTP 401 and denied privileges with 403
 * (the SDK throws on both), carrying the usual {code, message} body. */
async function rest(promise) {
  try {
    return await promise;
  } catch (e) {
    const m = /HTTP (\d+)[^{]*(\{.*\})\s*$/s.exec(String(e.message));
    check(m, 'a REST denial carries a Milvus body', e.message);
    return { http: Number(m[1]), ...JSON.parse(m[2]) };
  }
}

async function denied(promise) {
  try {
    const res = await promise;
    return res && res.status ? res.status : res;
  } catch (e) {
    // grpc-js surfaces a transport-level refusal as an exception: acceptable only with a non-OK code.
    return { error_code: 'Transport', code: e.code ?? -1, reason: String(e.details || e.message) };
  }
}

main('auth', async () => {
  check(rootPassword, 'QUIVER_ROOT_PASSWORD must be set');
  const steps = [];
  const secret = 'Al1ce-secret-passw0rd';

  // No token.
  const anonymous = refusedClient(undefined);
  const noToken = await denied(anonymous.listCollections());
  check(noToken.code !== 0 && noToken.error_code !== 'Success', 'no token is denied', noToken);
  steps.push('no-token');

  // Wrong password and unknown user: denied alike, no password in the reason.
  const wrong = await denied(refusedClient('root:not-the-password').listCollections());
  const unknown = await denied(refusedClient('nobody:not-the-password').listCollections());
  check(wrong.code !== 0 && unknown.code !== 0, 'wrong password and unknown user are denied', { wrong, unknown });
  check(wrong.reason === unknown.reason, 'the denial does not tell whether the user exists', { wrong: wrong.reason, unknown: unknown.reason });
  check(!wrong.reason.includes('not-the-password') && !wrong.reason.includes(rootPassword), 'the denial leaks no password', wrong);
  steps.push('wrong-password');

  // Root sets up a collection, a user and a role that may query but not search.
  const root = client({ token: `root:${rootPassword}` });
  const name = `compat_auth_${process.pid}`;
  ok(await root.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: DataType.Int64, is_primary_key: true },
      { name: 'embedding', data_type: DataType.FloatVector, dim },
    ],
    index_params: { field_name: 'embedding', index_type: 'FLAT', metric_type: 'L2' },
  }), 'root creates a collection');
  ok(await root.insert({ collection_name: name, data: [{ id: 7, embedding: vector(7) }] }), 'root inserts');
  ok(await root.createUser({ username: 'alice', password: secret }), 'create user');
  ok(await root.createRole({ roleName: 'reader' }), 'create role');
  ok(await root.grantPrivilege({ roleName: 'reader', object: 'Collection', objectName: name, privilegeName: 'Query' }), 'grant Query');
  ok(await root.addUserToRole({ username: 'alice', roleName: 'reader' }), 'add alice to reader');
  steps.push('setup');

  const alice = client({ token: `alice:${secret}` });
  const query = await alice.query({ collection_name: name, filter: 'id == 7', output_fields: ['id'] });
  ok(query, 'alice may query');
  check(query.data.length === 1, 'alice sees the row', query.data);
  const search = await denied(alice.search({ collection_name: name, data: [vector(7)], limit: 1 }));
  const s = milvusError({ status: search }, 'alice may not search');
  check(s.code === 1401 || /privilege|permission/i.test(s.reason), 'search without the privilege is a permission error', s);
  check(!s.reason.includes(secret), 'no password in the denial', s);
  const drop = await denied(alice.dropCollection({ collection_name: name }));
  check(drop.code !== 0, 'alice may not drop the collection', drop);
  steps.push('rbac-grpc');

  // The same over REST: the token in Authorization: Bearer.
  const restAnon = await rest(httpClient({ token: undefined }).listCollections({}));
  check(restAnon.code === 1800 && restAnon.http === 401, 'REST without a token is denied (401, code 1800)', restAnon);
  const restWrong = await rest(httpClient({ token: 'alice:wrong' }).listCollections({}));
  check(restWrong.code !== 0 && !String(restWrong.message).includes('wrong'), 'REST wrong password is denied, leaking nothing', restWrong);
  const restSearch = await rest(httpClient({ token: `alice:${secret}` }).search({ collectionName: name, data: [vector(7)], annsField: 'embedding', limit: 1 }));
  check(restSearch.code === 1401, 'REST search without the privilege is denied (code 1401)', restSearch);
  const restQuery = await httpClient({ token: `alice:${secret}` }).query({ collectionName: name, filter: 'id == 7', outputFields: ['id'] });
  check(restQuery.code === 0 && restQuery.data.length === 1, 'REST query with the privilege works', restQuery);
  steps.push('rbac-rest');

  ok(await root.dropCollection({ collection_name: name }), 'root drops');
  return steps;
});
