# Inputs of the federation: the same shape as the topology of a meshfed federation file (api/topology.ts).

variable "trust_domain" {
  description = "SPIFFE trust domain shared by every mesh in the federation."
  type        = string
  default     = "meshfed.local"
  validation {
    condition     = can(regex("^[a-z0-9._-]+$", var.trust_domain)) && length(var.trust_domain) <= 255
    error_message = "trust_domain must be a SPIFFE trust domain: lowercase letters, digits, \".\", \"-\" and \"_\" (e.g. meshfed.local)."
  }
}

variable "clouds" {
  description = "cloud -> regions -> zones; every zone names its cluster and network. Zone names are unique across the federation."
  type = list(object({
    name = string
    regions = list(object({
      name = string
      zones = list(object({
        name    = string
        cluster = string
        network = string
      }))
    }))
  }))
  validation {
    condition     = length(var.clouds) > 0
    error_message = "clouds: declare at least one cloud."
  }
  validation {
    condition = alltrue(flatten([for c in var.clouds : concat([can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", c.name))], [for r in c.regions : concat([can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", r.name))], [
      for z in r.zones : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", z.name))
    ])])]))
    error_message = "clouds: every cloud, region and zone name must be a DNS label (lowercase letters, digits and \"-\", at most 63 characters)."
  }
  validation {
    condition     = alltrue([for c in var.clouds : length(c.regions) > 0 && alltrue([for r in c.regions : length(r.zones) > 0])])
    error_message = "clouds: every cloud needs at least one region and every region at least one zone."
  }
  validation {
    condition = length(flatten([for c in var.clouds : [for r in c.regions : [for z in r.zones : z.name]]])) == length(distinct(flatten([
      for c in var.clouds : [for r in c.regions : [for z in r.zones : z.name]]
    ])))
    error_message = "clouds: zone names must be unique across the federation (a zone name is its key everywhere)."
  }
  validation {
    condition     = alltrue(flatten([for c in var.clouds : [for r in c.regions : [for z in r.zones : contains([for k in var.clusters : k.name], z.cluster)]]]))
    error_message = "clouds: every zone's cluster must be declared in clusters."
  }
  validation {
    condition     = alltrue(flatten([for c in var.clouds : [for r in c.regions : [for z in r.zones : contains([for n in var.networks : n.name], z.network)]]]))
    error_message = "clouds: every zone's network must be declared in networks."
  }
  # With clouds, not networks: each variable's validation may name the other, but not both ways (a cycle).
  validation {
    condition = alltrue(flatten([for n in var.networks : [for zone, addr in n.gateways : contains(flatten([
      for c in var.clouds : [for r in c.regions : [for z in r.zones : z.name if z.network == n.name]]
    ]), zone)]]))
    error_message = "networks[*].gateways: a gateway is keyed by a zone of that same network; move it under the zone's network or fix the zone name (checked with clouds, where zones are declared)."
  }
}

variable "clusters" {
  description = "Every Kubernetes cluster; context is the kubeconfig context that reaches it."
  type = list(object({
    name    = string
    context = optional(string)
  }))
  validation {
    condition     = length(var.clusters) > 0 && length(var.clusters) == length(distinct([for c in var.clusters : c.name]))
    error_message = "clusters: declare at least one cluster, each name once."
  }
  validation {
    condition     = alltrue([for c in var.clusters : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", c.name))])
    error_message = "clusters: every cluster name must be a DNS label."
  }
}

variable "networks" {
  description = "Networks; zones on one network reach each other directly. gateways: zone name -> host:port of its east-west gateway as other networks dial it."
  type = list(object({
    name     = string
    gateways = optional(map(string), {})
  }))
  validation {
    condition     = length(var.networks) > 0 && length(var.networks) == length(distinct([for n in var.networks : n.name]))
    error_message = "networks: declare at least one network, each name once."
  }
  validation {
    condition     = alltrue(flatten([for n in var.networks : [for zone, addr in n.gateways : can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", addr))]]))
    error_message = "networks: every gateway address must be host:port (e.g. gw.eu.example.com:15443)."
  }
}

variable "services" {
  description = "The call chain of the federated services; calls names the next service."
  type = list(object({
    name  = string
    calls = optional(string)
  }))
  default = [{ name = "frontend", calls = "catalog" }, { name = "catalog", calls = "pricing" }, { name = "pricing" }]
  validation {
    condition     = alltrue([for s in var.services : s.calls == null || contains([for t in var.services : t.name], coalesce(s.calls, "-"))])
    error_message = "services: calls must name a declared service."
  }
  validation {
    condition     = length(var.services) == length(distinct([for s in var.services : s.name]))
    error_message = "services: service names must be unique."
  }
}

variable "image" {
  description = "The meshfed image every component runs (built from the repo's Dockerfile)."
  type        = string
  default     = "ghcr.io/meshfed/meshfed:0.1.0"
}

variable "namespace" {
  description = "The namespace of the control plane in every cluster."
  type        = string
  default     = "meshfed-system"
  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label."
  }
}

variable "etcd_endpoints" {
  description = "The shared etcd every global-lb replica uses, as http(s)://host:port."
  type        = list(string)
  validation {
    condition     = length(var.etcd_endpoints) > 0 && alltrue([for e in var.etcd_endpoints : can(regex("^https?://[A-Za-z0-9.-]+:[0-9]{1,5}$", e))])
    error_message = "etcd_endpoints: list at least one endpoint, each http(s)://host:port (e.g. https://etcd-0.example.com:2379)."
  }
}

variable "global_lb_replicas" {
  description = "global-lb replicas per cluster (one leader across all clusters, elected in etcd)."
  type        = number
  default     = 2
  validation {
    condition     = var.global_lb_replicas >= 1 && var.global_lb_replicas <= 9 && floor(var.global_lb_replicas) == var.global_lb_replicas
    error_message = "global_lb_replicas must be a whole number from 1 to 9."
  }
}

variable "global_lb_addresses" {
  description = "cluster name -> host:port at which other clusters' agents reach that cluster's global-lb replicas (its Service of type LoadBalancer)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.global_lb_addresses : contains([for c in var.clusters : c.name], k) && can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", v))])
    error_message = "global_lb_addresses: keys must be declared clusters and values host:port."
  }
}

variable "workloads" {
  description = "Where the sample app's replicas run under `meshfed up --config` (zone, service, replicas); default: every service once in every zone. Rendered manifests do not use it."
  type = list(object({
    zone     = string
    service  = string
    replicas = optional(number, 1)
  }))
  default = null
}
