# The federation plan: zones flattened with their locality, per-cluster settings, and the federation file that
# `meshfed render k8s --federation FILE --cluster NAME` turns into each cluster's manifests.

locals {
  zones = flatten([
    for c in var.clouds : [
      for r in c.regions : [
        for z in r.zones : {
          name     = z.name
          cloud    = c.name
          region   = r.name
          cluster  = z.cluster
          network  = z.network
          locality = "${c.name}/${r.name}/${z.name}"
          gateway  = try(one([for n in var.networks : n.gateways[z.name] if n.name == z.network && contains(keys(n.gateways), z.name)]), null)
        }
      ]
    ]
  ])
  zones_by_name = { for z in local.zones : z.name => z }

  global_lb_service = "meshfed-global-lb.${var.namespace}.svc:15200"

  clusters = {
    for c in var.clusters : c.name => {
      context = c.context
      zones   = [for z in local.zones : z.name if z.cluster == c.name]
      clouds  = distinct([for z in local.zones : z.cloud if z.cluster == c.name])
      # Agents dial their own cluster's replicas first, then the other clusters' (fail-over across clouds).
      global_lb_addresses = concat([local.global_lb_service], [for k, v in var.global_lb_addresses : v if k != c.name])
      render_command      = "meshfed render k8s --federation federation.yaml --cluster ${c.name} --ca-dir ca/${c.name} --global-lb-tls tls/${c.name}/global-lb --out manifests/${c.name}"
    }
  }

  federation_file = {
    topology = {
      trustDomain = var.trust_domain
      clusters    = [for c in var.clusters : c.context == null ? { name = c.name } : { name = c.name, context = c.context }]
      networks    = [for n in var.networks : { name = n.name, gateways = n.gateways }]
      clouds = [for c in var.clouds : {
        name    = c.name
        regions = [for r in c.regions : { name = r.name, zones = [for z in r.zones : { name = z.name, cluster = z.cluster, network = z.network }] }]
      }]
    }
    services = [for s in var.services : s.calls == null ? { name = s.name } : { name = s.name, calls = s.calls }]
    # The file must stay runnable by `meshfed up --config`, whose built-in shop fits only its own zones.
    workloads = var.workloads != null ? var.workloads : flatten([for z in local.zones : [for s in var.services : { zone = z.name, service = s.name, replicas = 1 }]])
    deploy = {
      image     = var.image
      namespace = var.namespace
      etcd      = { endpoints = var.etcd_endpoints }
      # One file serves every cluster, so remoteAddresses lists every cluster's external address, its own too.
      globalLb = { replicas = var.global_lb_replicas, remoteAddresses = distinct(values(var.global_lb_addresses)), externalService = length(var.global_lb_addresses) > 0 }
    }
  }
}
