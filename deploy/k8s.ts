// Building blocks every rendered or injected Kubernetes object shares: labels, securityContext, probes, resources.
import type { DeploySettings } from '../api/deploy-settings.ts';

/** A Kubernetes object as plain JSON. */
export type KubeObject = { apiVersion: string; kind: string; metadata: Metadata } & Record<string, unknown>;

/** The metadata meshfed sets. */
export interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The uid/gid the image's `meshfed` user has (see Dockerfile). */
export const MESHFED_UID = 10001;
/** The version label rendered objects carry. */
export const MESHFED_VERSION = '0.1.0';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** The labels that select one component's pods (stable across upgrades, so never the version). */
export function selectorLabels(component: string, zone?: string): Record<string, string> {
  return { 'app.kubernetes.io/name': `meshfed-${component}`, 'app.kubernetes.io/instance': 'meshfed', ...(zone ? { 'meshfed.io/zone': zone } : {}) };
}

/** The full recommended label set (app.kubernetes.io/*) of one component's objects. */
export function componentLabels(component: string, zone?: string): Record<string, string> {
  return {
    ...selectorLabels(component, zone),
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'meshfed',
    'app.kubernetes.io/version': MESHFED_VERSION,
    'app.kubernetes.io/managed-by': 'meshfed-render',
  };
}

/** Non-root, read-only root filesystem, no privilege escalation, no capabilities, the runtime's seccomp profile. */
export function containerSecurityContext(): Record<string, unknown> {
  return {
    runAsNonRoot: true, runAsUser: MESHFED_UID, runAsGroup: MESHFED_UID,
    allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The pod-level counterpart of containerSecurityContext. */
export function podSecurityContext(): Record<string, unknown> {
  return { runAsNonRoot: true, runAsUser: MESHFED_UID, runAsGroup: MESHFED_UID, fsGroup: MESHFED_UID, seccompProfile: { type: 'RuntimeDefault' } };
}

/** An HTTP GET probe on a named container port. */
export function httpProbe(path: string, port: string, periodSeconds = 5, failureThreshold = 3): Record<string, unknown> {
  return { httpGet: { path, port }, periodSeconds, timeoutSeconds: 2, failureThreshold };
}

/**
 * Requests and limits per component, from the benchmarks (bench/README.md): a sidecar idles at ~93 MB RSS and
 * reaches ~200 MB under load at ~0.25 CPU-s per 1000 requests; docs/deploy.md says where each number comes from.
 */
export const DEFAULT_RESOURCES: Record<'globalLb' | 'zoneAgent' | 'gateway' | 'sidecar', { requests: { cpu: string; memory: string }; limits: { cpu?: string; memory?: string } }> = {
  globalLb: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  zoneAgent: { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } },
  gateway: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  sidecar: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
};

/** The resources of one component: the file's `deploy.resources`, else DEFAULT_RESOURCES. */
export function resourcesFor(settings: DeploySettings, component: keyof typeof DEFAULT_RESOURCES): Record<string, unknown> {
  const own = settings.resources[component];
  const base = DEFAULT_RESOURCES[component];
  return own ? { requests: { ...own.requests }, limits: { ...(own.limits ?? base.limits) } } : { requests: { ...base.requests }, limits: { ...base.limits } };
}

/** The writable scratch every meshfed container gets under a read-only root: /tmp (Node's compile cache). */
export const TMP_VOLUME = { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } };
export const TMP_MOUNT = { name: 'tmp', mountPath: '/tmp' };
