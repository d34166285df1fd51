# What the operator checks after apply (docs/deploy.md).

output "zone_names" {
  description = "Every zone of the federation."
  value       = module.federation.zone_names
}

output "render_commands" {
  description = "cluster -> the `meshfed render k8s` command that writes its manifests."
  value       = { for k, c in module.federation.clusters : k => c.render_command }
}

output "gateway_services" {
  description = "cluster -> its east-west gateway Services; put their load-balancer addresses into gateway_addresses."
  value       = { "aws-use1" = module.aws_use1.gateway_services, "gcp-euw1" = module.gcp_euw1.gateway_services }
}

output "federation_file" {
  description = "The federation file both clusters were rendered from."
  value       = module.federation.federation_file
}
