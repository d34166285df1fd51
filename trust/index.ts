// Public API of trust/: the CA, the trust bundle, verifyPeer, the on-disk layouts and the node:tls helpers.
export { TRUST_CODES, trustError, type TrustCode, type VerifyCode } from './errors.ts';
export {
  KEY_TYPES, DEFAULT_TTL, RENEWAL_JITTER, createRootCa, createIntermediateCa, createCsr, signCsr, issueWorkload, renewalDue,
  generateKeys, exportKeyPem, importKeyPem, normalizeSerial, splitPem, uriSans, trustDomainNameConstraints,
  type KeyType, type KeyedCert, type IntermediateCa, type WorkloadCert, type SignOptions,
} from './ca.ts';
export {
  makeBundle, addRoots, removeRoot, addAlias, revokeSerial, rootsValidAt, pruneExpiredRoots, rootFingerprint, bundleVersion,
  bundleToJson, bundleFromJson, bundleFromValue, bundleToProto, bundleFromProto, TrustBundleSchema, type TrustBundle,
} from './bundle.ts';
export { verifyPeer, DEFAULT_SKEW_MS, type PeerExpectations, type PeerVerification, type VerifiedPeer, type PeerRejection } from './verify.ts';
export {
  ROOT_FILES, PLUGIN_CA_FILES, WORKLOAD_FILES, writeRootDir, readRootDir, writePluginCaDir, readPluginCaDir, writeWorkloadDir,
  readBundleFile, writeBundleFile, checkKeyMatches,
} from './files.ts';
export {
  TlsCredentialSource, watchCredentialFiles, createMtlsServer, serveHttp, mtlsClientOptions, peerIdentity, verifiedPeer,
  type TlsCredentials, type CredentialFiles, type CredentialWatch, type MtlsServer, type MtlsServerOptions, type MtlsStats,
} from './tls.ts';
export {
  signBundle, verifyBundle, receiverTrust, signerKeyId, signedBytes, BundleGate,
  type BundleTrust, type BundleVerdict, type BundleRefusalCode, type BundleGateStatus,
} from './bundle-signature.ts';
