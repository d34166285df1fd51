# What was applied, for the operator's checks (docs/deploy.md, step 5).

output "applied_objects" {
  description = "kind/name of every object applied to the cluster."
  value       = sort([for o in local.objects : "${o.kind}/${o.metadata.name}"])
}

output "gateway_services" {
  description = "The east-west gateway Services; their load-balancer addresses go into networks[*].gateways."
  value       = sort([for o in local.objects : o.metadata.name if o.kind == "Service" && startswith(o.metadata.name, "meshfed-gateway-")])
}
