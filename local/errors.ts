// Error codes of the local federation (meshfed up, down, status, fault, hold, release).
import { MeshfedError } from '../common/errors.ts';

/** Code -> meaning; each has a row in docs/errors.md under "Local federation". */
export const LOCAL_CODES = {
  MESHFED_E_UP_ALREADY_RUNNING: 'a federation started from this state directory is still running',
  MESHFED_E_UP_COMPONENT_FAILED: 'a component of the local federation exited or did not become ready while starting',
  MESHFED_E_UP_TRUST_MISMATCH: "a cluster's intermediate CA under .meshfed/trust was signed by another root",
  MESHFED_E_UP_STATE_INVALID: '.meshfed/up.json exists but is not a valid state file',
  MESHFED_E_UP_TIMEOUT: 'the federation did not reach a ready state in time',
  MESHFED_E_UP_ABORTED: 'the start was aborted (a chaos run got Ctrl-C or SIGTERM) and what it started was stopped',
  MESHFED_E_UP_POLICY_REJECTED: 'the balancer refused a policy meshfed up applies at start',
  MESHFED_E_UP_ETCD_MISSING: 'meshfed up was asked for etcd (--store etcd, or --etcd-members 3 or 5) but the etcd binary does not run',
  MESHFED_E_DOWN_STUCK: 'meshfed down could not stop every recorded process',
  MESHFED_E_HOLD_NOT_APPLIED: 'meshfed up did not apply a hold or release (not running, or did not answer in time)',
} as const;

export type LocalCode = keyof typeof LOCAL_CODES;

/** An error of the local federation with its stable code. */
export function localError(code: LocalCode, message: string, cause?: unknown): MeshfedError {
  return new MeshfedError(code, message, cause === undefined ? {} : { cause });
}
