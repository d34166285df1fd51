// Stable error codes of the sidecar and gateway (sidecar-io owns this file; sidecar-core appends its codes).

/** Sidecar codes, code -> meaning. Each row is documented in docs/errors.md. */
export const SIDECAR_CODES = {
  // sidecar-core: answers the layers make themselves, sent in the `x-meshfed-code` response header.
  MESHFED_E_SIDECAR_NO_ROUTE: 'the destination service named by the request is not in the sidecar config (404)',
  MESHFED_E_SIDECAR_NO_HEALTHY_UPSTREAM: 'no endpoint of the destination could be picked (503)',
  MESHFED_E_SIDECAR_CIRCUIT_OPEN: 'the destination already has its maximum of requests in flight (503)',
  MESHFED_E_SIDECAR_UPSTREAM_TIMEOUT: 'the route deadline or the per-try deadline fired (504)',
  MESHFED_E_SIDECAR_UPSTREAM_FAILED: 'the upstream handler threw instead of answering (502; a bug in the I/O side)',
  MESHFED_E_NO_ALLOWED_ZONE: 'the weight row is exclusive (data residency) and no zone it allows can serve; other zones are never used (503)',
  MESHFED_E_SIDECAR_AUTHZ_DENIED: "the caller's SPIFFE ID is not allowed to call this service (403)",
  // sidecar-io: sockets, upstream, certificates, gateway.
  MESHFED_E_SIDECAR_NO_CERTIFICATES: 'the sidecar config names no certificates (mTLS needs cert, key and ca)',
  MESHFED_E_SIDECAR_UPSTREAM_CONNECT: 'no connection to the chosen endpoint (refused, timed out, or its certificate/SPIFFE ID was refused) (503)',
  MESHFED_E_SIDECAR_UPSTREAM_RESET: 'the connection or stream to the endpoint broke before a response (502)',
  MESHFED_E_SIDECAR_INTERNAL: 'a layer threw while handling a request (500; a bug)',
  // relay: the zone agent as the config source (sidecar/relay/).
  MESHFED_E_SIDECAR_RELAY_TIMEOUT: 'no usable relay state or no certificate arrived from the zone agent in time, so the sidecar could not start',
  MESHFED_E_GATEWAY_REFUSED: 'the east-west gateway closed a connection: not TLS, no or unknown SNI, or no local endpoint',
} as const;

export type SidecarCode = keyof typeof SIDECAR_CODES;
