# The core module computes the federation plan only: no provider, so `terraform test` runs offline.
terraform {
  required_version = ">= 1.9.0"
}
