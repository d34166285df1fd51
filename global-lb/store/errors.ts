// Stable error codes of the state store (etcd and embedded), documented in docs/errors.md.
import { MeshfedError } from '../../common/errors.ts';

/** Codes owned by the state store. Each row is documented in docs/errors.md under "State store". */
export const STORE_CODES = {
  MESHFED_E_STORE_UNAVAILABLE: 'the store did not answer within the call timeout or refused the connection',
  MESHFED_E_STORE_CONFLICT: 'a compare-and-swap found a different version than expected',
  MESHFED_E_STORE_FENCED: 'a fenced write found that its writer no longer leads (the election key is gone or new)',
  MESHFED_E_STORE_COMPACTED: 'a watch asked for a revision the store no longer keeps',
  MESHFED_E_STORE_LEASE_LOST: 'a lease expired or was revoked',
  MESHFED_E_STORE_CAMPAIGN_ENDED: 'a leadership campaign ended before this candidate was elected',
  MESHFED_E_STORE_CLOSED: 'an operation was called on a closed store',
  MESHFED_E_STORE_INVALID: 'a store operation was called with invalid arguments',
} as const;

export type StoreCode = keyof typeof STORE_CODES;

/** Builds a MeshfedError with a store code. */
export function storeError(code: StoreCode, message: string, cause?: unknown): MeshfedError {
  return new MeshfedError(code, message, cause === undefined ? {} : { cause });
}
