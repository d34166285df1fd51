// Stable error codes of the native data-plane adapters (meshfed proxy haproxy).
import { MeshfedError } from '../common/errors.ts';

/** Code -> meaning; each has a row in docs/errors.md under "Native proxies". */
export const PROXY_CODES = {
  MESHFED_E_PROXY_UNSUPPORTED: 'the overlay or a relayed policy asks for something HAProxy cannot express; the adapter refuses it instead of dropping it',
  MESHFED_E_PROXY_START_FAILED: 'HAProxy did not start (its own error line is in the message) or its sockets did not answer in time',
  MESHFED_E_PROXY_RUNTIME: 'HAProxy refused a Runtime API command (the command and its answer are in the message)',
  MESHFED_E_PROXY_BINARY_MISSING: 'the haproxy binary does not run (not installed, or MESHFED_HAPROXY_BIN points nowhere)',
} as const;

export type ProxyCode = keyof typeof PROXY_CODES;

/** An adapter error with its stable code. */
export function proxyError(code: ProxyCode, message: string, options: { cause?: unknown; details?: readonly string[] } = {}): MeshfedError {
  return new MeshfedError(code, message, options);
}
