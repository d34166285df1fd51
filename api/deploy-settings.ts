// The optional `deploy:` section of a federation file: what `meshfed render k8s` needs beyond what `meshfed up` reads.
import { z } from 'zod';
import { dnsLabelSchema } from './fields.ts';
import { deepFreeze, type DeepReadonly } from '../common/freeze.ts';

const ETCD_ENDPOINT = /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|k|M|G)?$/;

const resourcesSchema = z.strictObject({
  cpu: z.string().regex(QUANTITY, { message: 'not a Kubernetes quantity (e.g. 100m, 0.5)' }),
  memory: z.string().regex(QUANTITY, { message: 'not a Kubernetes quantity (e.g. 128Mi)' }),
});

/** Requests per component; defaults come from bench/README.md (see docs/deploy.md, "Resources"). */
const componentResources = z.strictObject({
  requests: resourcesSchema,
  limits: resourcesSchema.partial().optional(),
});

/**
 * The `deploy:` section, strict about unknown keys. Every field has a default, so a file without the section
 * renders too; `meshfed up` ignores the section.
 */
export const deploySettingsSchema = z.strictObject({
  /** The meshfed image every component runs (the repo's Dockerfile builds it). */
  image: z.string().min(1).default('ghcr.io/meshfed/meshfed:0.1.0'),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  /** Where the control plane runs in every cluster. */
  namespace: dnsLabelSchema.default('meshfed-system'),
  etcd: z.strictObject({
    /** The shared etcd every global-lb replica of every cluster uses (http(s)://host:port). */
    endpoints: z.array(z.string().regex(ETCD_ENDPOINT, { message: 'not an etcd endpoint; write http(s)://host:port' }))
      .min(1, { message: 'list at least one etcd endpoint' }).default(['https://etcd.meshfed-system.svc:2379']),
  }).prefault({}),
  globalLb: z.strictObject({
    /** global-lb replicas per cluster; one leader across all clusters (etcd election). */
    replicas: z.int().min(1).max(9).default(2),
    /**
     * Also render `meshfed-global-lb-external`, a LoadBalancer Service with the Federation gRPC port only, through which
     * other clusters' agents reach this cluster's replicas (their deploy.globalLb.remoteAddresses).
     */
    externalService: z.boolean().default(false),
    /** Replicas in other clusters, as agents here reach them (host:port); agents fail over to them. */
    remoteAddresses: z.array(z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, { message: 'write host:port' })).default([]),
  }).prefault({}),
  gateway: z.strictObject({
    replicas: z.int().min(1).max(20).default(2),
    /** How other networks reach the east-west gateway. */
    serviceType: z.enum(['LoadBalancer', 'NodePort', 'ClusterIP']).default('LoadBalancer'),
  }).prefault({}),
  /** Also write the `cacerts` Secret into this namespace (e.g. istio-system) so Istio signs with the same root. */
  istioNamespace: dnsLabelSchema.optional(),
  resources: z.strictObject({
    globalLb: componentResources.optional(),
    zoneAgent: componentResources.optional(),
    gateway: componentResources.optional(),
    sidecar: componentResources.optional(),
  }).prefault({}),
});

/** A validated, defaulted, frozen `deploy:` section. */
export type DeploySettings = DeepReadonly<z.output<typeof deploySettingsSchema>>;

/** The settings of a file without a `deploy:` section. */
export const DEFAULT_DEPLOY_SETTINGS: DeploySettings = deepFreeze(deploySettingsSchema.parse({}));
