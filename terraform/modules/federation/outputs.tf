# What the federation plan gives the cluster modules and the operator.

output "zone_names" {
  description = "Every zone, in declaration order."
  value       = [for z in local.zones : z.name]
}

output "zones" {
  description = "zone -> cloud, region, locality (cloud/region/zone), cluster, network and east-west gateway address (null when none)."
  value       = local.zones_by_name
}

output "clusters" {
  description = "cluster -> its zones, clouds, kubeconfig context, the global-lb addresses its agents dial, and the render command."
  value       = local.clusters
}

output "gateway_addresses" {
  description = "zone -> east-west gateway host:port, for the zones whose network declares one."
  value       = { for z in local.zones : z.name => z.gateway if z.gateway != null }
}

output "cross_network_zones" {
  description = "zone -> the zones on other networks, which it reaches only through their east-west gateways."
  value       = { for z in local.zones : z.name => [for o in local.zones : o.name if o.network != z.network] }
}

output "federation_file" {
  description = "The federation file (YAML) for `meshfed up --config` and `meshfed render k8s --federation`: the manifests' input."
  value       = yamlencode(local.federation_file)
}
