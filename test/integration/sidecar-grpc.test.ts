// gRPC through two sidecars (h2c from the app, HTTP/2 over mTLS between sidecars): unary, server streaming, bidi, status in trailers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { parseSidecarConfig } from '../../api/sidecar-config.ts';
import { startSidecar, type Sidecar } from '../../sidecar/server/sidecar.ts';
import { diskPki, quietLogger, tempDir } from './sidecar-support.ts';

const cleanups: (() => unknown)[] = [];
const hooks = { after: (fn: () => unknown) => { cleanups.push(fn); } };
after(async () => { for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {}); });

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service: grpc.ServiceDefinition = {
  Unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Fail: { path: '/test.Echo/Fail', requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Count: { path: '/test.Echo/Count', requestStream: false, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
  Chat: { path: '/test.Echo/Chat', requestStream: true, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
};

type Generic = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
let stub: Generic;
let client: Sidecar;

before(async () => {
  const dir = tempDir(hooks);
  const pki = await diskPki();
  const server = new grpc.Server();
  server.addService(service, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const md = new grpc.Metadata();
      md.set('x-peer', String(call.metadata.get('x-forwarded-client-cert')[0] ?? ''));
      call.sendMetadata(md);
      cb(null, Buffer.concat([Buffer.from('echo:'), call.request]));
    },
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' }),
    Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = call.request.readUInt32BE(0);
      for (let i = 0; i < n; i++) call.write(Buffer.from(`msg-${i}`));
      call.end();
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from('re:'), b])));
      call.on('end', () => call.end());
    },
  });
  const appPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  hooks.after(() => server.forceShutdown());
  const serverCerts = await pki.workload(dir, 'shop', 'echo');
  const clientCerts = await pki.workload(dir, 'shop', 'web');
  const base = { trustDomain: 'mesh.test', zones: { a: { network: 'n1' } } };
  const dest = await startSidecar({ service: 'shop/echo', zone: 'a', appPort, logger: quietLogger(), config: parseSidecarConfig(JSON.stringify({ ...base, certificates: serverCerts.files }), 's.json') });
  hooks.after(() => dest.close());
  client = await startSidecar({
    service: 'shop/web', zone: 'a', appPort: 1, logger: quietLogger(),
    config: parseSidecarConfig(JSON.stringify({ ...base, certificates: clientCerts.files, services: { 'shop/echo': { identity: serverCerts.spiffeId, endpoints: { a: [`127.0.0.1:${dest.inboundPort}`] } } } }), 'c.json'),
  });
  hooks.after(() => client.close());
  const Ctor = grpc.makeGenericClientConstructor(service, 'Echo');
  stub = new Ctor(`127.0.0.1:${client.outboundPort}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.shop' }) as unknown as Generic;
  hooks.after(() => stub.close());
});

test('gRPC unary passes through, with response metadata and the caller identity', async () => {
  const { value, md } = await new Promise<{ value: Buffer; md: grpc.Metadata }>((resolve, reject) => {
    let md = new grpc.Metadata();
    const call = stub['Unary']!(Buffer.from('hi'), (e: grpc.ServiceError | null, v: Buffer) => (e ? reject(e) : resolve({ value: v, md }))) as grpc.ClientUnaryCall;
    call.on('metadata', (m: grpc.Metadata) => { md = m; });
  });
  assert.equal(value.toString(), 'echo:hi');
  assert.equal(md.get('x-peer')[0], 'URI=spiffe://mesh.test/ns/shop/sa/web');
});

test('a gRPC error status travels in the trailers', async () => {
  const e = await new Promise<grpc.ServiceError>((resolve) => stub['Fail']!(Buffer.from('x'), (err: grpc.ServiceError | null) => resolve(err!)));
  assert.equal(e.code, grpc.status.NOT_FOUND);
  assert.equal(e.details, 'no such thing');
});

test('gRPC server streaming delivers every message', async () => {
  const n = Buffer.alloc(4);
  n.writeUInt32BE(500);
  const call = stub['Count']!(n) as grpc.ClientReadableStream<Buffer>;
  const got: string[] = [];
  for await (const m of call) got.push((m as Buffer).toString());
  assert.equal(got.length, 500);
  assert.equal(got[499], 'msg-499');
});

test('gRPC bidirectional streaming interleaves both ways', async () => {
  const call = stub['Chat']!() as grpc.ClientDuplexStream<Buffer, Buffer>;
  const replies: string[] = [];
  // Each message is sent only after the previous reply arrived: proof that neither direction is buffered whole.
  const it = call[Symbol.asyncIterator]();
  for (let i = 0; i < 20; i++) {
    call.write(Buffer.from(`m${i}`));
    const r = await it.next();
    replies.push((r.value as Buffer).toString());
  }
  call.end();
  assert.equal((await it.next()).done, true);
  assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => `re:m${i}`));
});
