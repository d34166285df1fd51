// The agent's use of its cluster intermediate CA: signing sidecar CSRs and issuing its own zone identity.
import 'reflect-metadata';
import { issueWorkload, signCsr, type IntermediateCa } from '../../trust/ca.ts';
import { readPluginCaDir } from '../../trust/files.ts';
import { zoneAgentId } from '../../api/identity.ts';
import { describeError } from '../../common/errors.ts';
import { agentError } from '../errors.ts';
import type { CsrSigner } from '../relay/server.ts';
import type { ZoneIdentityCert } from './identity.ts';

/** Loads the plug-in CA directory; throws MESHFED_E_AGENT_CA_LOAD naming the directory. */
export function loadClusterCa(dir: string): IntermediateCa {
  try {
    return readPluginCaDir(dir);
  } catch (e) {
    throw agentError('MESHFED_E_AGENT_CA_LOAD', `${dir}: cannot load the cluster CA: ${describeError(e)}`, e);
  }
}

/**
 * A CSR signer for sidecars. The CSR must ask for exactly the identity the sidecar subscribed with (trust/ checks
 * it), so a sidecar cannot obtain another workload's identity by editing its CSR.
 */
export function csrSigner(ca: IntermediateCa, ttlMs: number): CsrSigner {
  return async (csrPem, spiffeId) => {
    const signed = await signCsr(ca, csrPem, { spiffeId, ttlMs });
    return {
      certChainPem: signed.certPem + ca.certPem,
      rootsPem: ca.rootPem,
      notBeforeMs: signed.notBefore.getTime(),
      notAfterMs: signed.notAfter.getTime(),
      spiffeId: signed.spiffeId,
    };
  };
}

/** The agent's own certificate, `spiffe://<td>/meshfed/zone/<zone>`, issued by its cluster CA for the Federation stream. */
export async function issueZoneIdentity(ca: IntermediateCa, trustDomain: string, zone: string, ttlMs: number): Promise<ZoneIdentityCert> {
  const issuedAtMs = Date.now();
  const w = await issueWorkload(ca, zoneAgentId(trustDomain, zone), { ttlMs, usages: ['client'] });
  return {
    spiffeId: w.spiffeId, certChainPem: w.certPem + ca.certPem, keyPem: w.keyPem, rootsPem: ca.rootPem,
    notBeforeMs: w.notBefore.getTime(), notAfterMs: w.notAfter.getTime(), issuedAtMs,
  };
}
