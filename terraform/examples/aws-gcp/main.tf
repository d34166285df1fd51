# EKS (aws-use1: us-east-1a, us-east-1b) and GKE (gcp-euw1: europe-west1-b), one federation, one trust root.

module "federation" {
  source = "../../modules/federation"

  trust_domain = "meshfed.example"
  clusters     = [{ name = "aws-use1", context = "eks-use1" }, { name = "gcp-euw1", context = "gke-euw1" }]
  networks = [
    { name = "aws-net", gateways = lookup(var.gateway_addresses, "aws-net", {}) },
    { name = "gcp-net", gateways = lookup(var.gateway_addresses, "gcp-net", {}) },
  ]
  clouds = [
    { name = "aws", regions = [{ name = var.aws_region, zones = [
      { name = "${var.aws_region}a", cluster = "aws-use1", network = "aws-net" },
      { name = "${var.aws_region}b", cluster = "aws-use1", network = "aws-net" },
    ] }] },
    { name = "gcp", regions = [{ name = var.gcp_region, zones = [
      { name = "${var.gcp_region}-b", cluster = "gcp-euw1", network = "gcp-net" },
    ] }] },
  ]
  etcd_endpoints      = var.etcd_endpoints
  global_lb_addresses = var.global_lb_addresses
}

# The federation file meshfed renders both clusters' manifests from (docs/deploy.md, step 3).
resource "terraform_data" "federation_file" {
  input = module.federation.federation_file
  provisioner "local-exec" {
    command = "printf '%s' \"$FEDERATION\" > federation.yaml"
    environment = {
      FEDERATION = module.federation.federation_file
    }
  }
}

data "aws_eks_cluster" "this" {
  name = var.eks_cluster_name
}

data "aws_eks_cluster_auth" "this" {
  name = var.eks_cluster_name
}

data "google_client_config" "this" {}

data "google_container_cluster" "this" {
  name     = var.gke_cluster_name
  location = var.gcp_region
  project  = var.gcp_project
}

provider "aws" {
  region = var.aws_region
}

provider "google" {
  project = var.gcp_project
  region  = var.gcp_region
}

provider "kubernetes" {
  alias                  = "eks"
  host                   = data.aws_eks_cluster.this.endpoint
  cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
  token                  = data.aws_eks_cluster_auth.this.token
}

provider "kubernetes" {
  alias                  = "gke"
  host                   = "https://${data.google_container_cluster.this.endpoint}"
  cluster_ca_certificate = base64decode(data.google_container_cluster.this.master_auth[0].cluster_ca_certificate)
  token                  = data.google_client_config.this.access_token
}

module "aws_use1" {
  source        = "../../modules/cluster-kubernetes"
  providers     = { kubernetes = kubernetes.eks }
  cluster       = "aws-use1"
  manifests_dir = "${var.manifests_root}/aws-use1"
}

module "gcp_euw1" {
  source        = "../../modules/cluster-kubernetes"
  providers     = { kubernetes = kubernetes.gke }
  cluster       = "gcp-euw1"
  manifests_dir = "${var.manifests_root}/gcp-euw1"
}
