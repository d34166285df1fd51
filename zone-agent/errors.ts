// The zone agent's stable error codes; each has a row under "Zone agent" in docs/errors.md.
import { MeshfedError } from '../common/errors.ts';

/** Codes the zone agent reports in logs, metrics and errors. */
export const ZONE_AGENT_CODES = {
  MESHFED_E_AGENT_MALFORMED_OBJECT: 'a Kubernetes object (EndpointSlice, Service, Node) could not be read and was skipped',
  MESHFED_E_AGENT_DISCOVERY_FAILED: 'listing or watching the Kubernetes API failed; the agent retries with backoff',
  MESHFED_E_AGENT_STATIC_INVALID: 'the static discovery file is invalid; the last good set is kept',
  MESHFED_E_AGENT_BALANCER_UNREACHABLE: 'no global-lb address accepted the Federation stream; the agent serves the last good state',
  MESHFED_E_AGENT_STREAM_REFUSED: 'the balancer closed the Federation stream with an error (e.g. identity does not match the zone)',
  MESHFED_E_AGENT_FAILSTATIC_READ: 'the persisted fail-static state could not be read; the agent starts without it',
  MESHFED_E_AGENT_FAILSTATIC_WRITE: 'the fail-static state could not be written to disk',
  MESHFED_E_AGENT_RELAY_PROTOCOL: 'a sidecar broke the relay protocol (garbage, no Subscribe first); its stream was closed',
  MESHFED_E_AGENT_CSR_REJECTED: 'a sidecar certificate request was refused (bad CSR, bad identity)',
  MESHFED_E_AGENT_ATTESTATION_FAILED: 'a workload subscription carried no credential, or one not issued for its namespace and service account; its stream was closed',
  MESHFED_E_AGENT_CA_LOAD: 'the cluster intermediate CA could not be loaded from the --ca directory',
  MESHFED_E_AGENT_IDENTITY_ISSUE: 'the agent could not renew its own zone certificate; it keeps the current one and retries',
  MESHFED_E_AGENT_HANDOVER_FAILED: 'moving the Federation stream to a renewed certificate failed; the old stream keeps reporting and the move is retried',
  MESHFED_E_AGENT_NOT_FOUND: 'the admin API has no such route (404)',
} as const;

export type ZoneAgentCode = keyof typeof ZONE_AGENT_CODES;

/** An error with a zone-agent code. */
export function agentError(code: ZoneAgentCode, message: string, cause?: unknown): MeshfedError {
  return new MeshfedError(code, message, cause === undefined ? {} : { cause });
}
