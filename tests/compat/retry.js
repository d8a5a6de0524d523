// The SDK's own retry path, made deterministic. When a call fails with a retryable status (UNAVAILABLE while the server
// restarts, say), the SDK's retry interceptor sends the request again but never half-closes the new call: the request
// message arrives, the end of the stream never does. Go's gRPC server (Milvus) answers a unary call on its message
// alone; a server that waits for the end of the stream leaves that call hanging until the client's deadline. This
// script puts the SDK's retry interceptor over one that fails the first attempt as grpc-js does when no connection is
// up, then calls CheckHealth and Query and prints how long each took.
'use strict';
const grpc = require('@grpc/grpc-js');
const { getGRPCService, getRetryInterceptor, getMetaInterceptor } = require('@zilliz/milvus2-sdk-node');
const { address, client, check, ok, main, vector } = require('./common');

const deadlineMs = Number(process.env.QUIVER_CALL_DEADLINE_MS || 10000);

/** Fails the first attempt of every call with UNAVAILABLE before anything is sent, as grpc-js's unary call does when no
 * connection is up (a null message, then the status); later attempts go straight to the channel, as in the SDK, where
 * the retry interceptor is the last one. */
function failFirstAttempt() {
  const attempted = new WeakSet();
  return (options, nextCall) => {
    // The retry interceptor passes the same options object to every attempt of one call.
    if (attempted.has(options)) return nextCall(options);
    attempted.add(options);
    return new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener) {
        setImmediate(() => {
          listener.onReceiveMessage(null);
          listener.onReceiveStatus({
            code: grpc.status.UNAVAILABLE, details: 'No connection established (simulated)', metadata: new grpc.Metadata(),
          });
        });
      },
      sendMessage() {},
      halfClose() {},
    });
  };
}

function call(service, method, request) {
  const started = Date.now();
  return new Promise(resolve => {
    service[method](request, { deadline: new Date(Date.now() + deadlineMs) }, (error, response) =>
      resolve({ error, response, ms: Date.now() - started }));
  });
}

main('retry', async () => {
  const name = `compat_retry_${process.pid}`;
  const c = client();
  ok(await c.createCollection({
    collection_name: name,
    fields: [
      { name: 'id', data_type: 'Int64', is_primary_key: true },
      { name: 'embedding', data_type: 'FloatVector', dim: 384 },
    ],
  }), 'create');
  ok(await c.insert({ collection_name: name, data: [1, 2, 3].map(id => ({ id, embedding: vector(id) })) }), 'insert');
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');

  const Service = getGRPCService({ serviceName: 'milvus.proto.milvus.MilvusService' },
    { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const service = new Service(address, grpc.credentials.createInsecure(), {
    interceptors: [
      getMetaInterceptor(metadata => metadata.set('dbname', 'default')),
      getRetryInterceptor({ maxRetries: 3, retryDelay: 10, clientId: 'compat-retry' }),
      failFirstAttempt(),
    ],
  });
  const steps = {};
  const health = await call(service, 'CheckHealth', {});
  check(!health.error, `CheckHealth after a retry failed after ${health.ms} ms`, health.error && health.error.message);
  check(health.response.isHealthy === true, 'CheckHealth after a retry is healthy', health.response);
  steps.checkHealthMs = health.ms;
  const query = await call(service, 'Query', {
    collection_name: name, expr: 'id >= 1 and id < 3', output_fields: ['id'], query_params: [],
  });
  check(!query.error, `Query after a retry failed after ${query.ms} ms`, query.error && query.error.message);
  ok(query.response, 'query after a retry');
  steps.queryMs = query.ms;
  service.close();
  ok(await c.dropCollection({ collection_name: name }), 'drop');
  return steps;
});
