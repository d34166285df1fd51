# Inputs: where `meshfed render k8s` wrote this cluster's manifests, and the cluster's name in the federation.

variable "cluster" {
  description = "The cluster's name in the federation (a key of the federation module's clusters output)."
  type        = string
}

variable "manifests_dir" {
  description = "The --out DIR of `meshfed render k8s --cluster CLUSTER`: one YAML file per object."
  type        = string
}

variable "namespace" {
  description = "The control-plane namespace the manifests use (deploy.namespace of the federation file)."
  type        = string
  default     = "meshfed-system"
}

variable "wait_for_rollout" {
  description = "Wait for every Deployment to roll out before finishing."
  type        = bool
  default     = true
}
