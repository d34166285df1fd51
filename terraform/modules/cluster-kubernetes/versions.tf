# Applies one cluster's rendered manifests through the kubernetes provider (not downloadable here: fmt-checked only).
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.31.0"
    }
  }
}
