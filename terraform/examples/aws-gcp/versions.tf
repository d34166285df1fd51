# Two clusters in two clouds (EKS and GKE) federated by meshfed. Needs the aws, google and kubernetes providers.
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60.0"
    }
    google = {
      source  = "hashicorp/google"
      version = ">= 5.40.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.31.0"
    }
  }
}
