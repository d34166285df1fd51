# Inputs of the example: the two existing clusters, the shared etcd, and where the rendered files are.

variable "aws_region" {
  description = "The AWS region of the EKS cluster."
  type        = string
  default     = "us-east-1"
}

variable "eks_cluster_name" {
  description = "The existing EKS cluster to install into."
  type        = string
}

variable "gcp_project" {
  description = "The GCP project of the GKE cluster."
  type        = string
}

variable "gcp_region" {
  description = "The GCP region of the GKE cluster."
  type        = string
  default     = "europe-west1"
}

variable "gke_cluster_name" {
  description = "The existing GKE cluster to install into."
  type        = string
}

variable "etcd_endpoints" {
  description = "The shared etcd cluster (http(s)://host:port), reachable from both clusters."
  type        = list(string)
}

variable "gateway_addresses" {
  description = "network (aws-net, gcp-net) -> zone -> host:port of its east-west gateway: the gateway Services' load-balancer addresses, known after the first apply."
  type        = map(map(string))
  default     = {}
}

variable "global_lb_addresses" {
  description = "cluster -> host:port of its global-lb replicas as the other cluster reaches them."
  type        = map(string)
  default     = {}
}

variable "manifests_root" {
  description = "Where `meshfed render k8s` wrote manifests/<cluster>/ for both clusters."
  type        = string
  default     = "manifests"
}
