# One kubernetes_manifest per rendered file. The files are read at plan time, so render before `terraform plan`.

locals {
  files = fileset(var.manifests_dir, "*.yaml")
  objects = {
    for f in local.files : trimsuffix(f, ".yaml") => yamldecode(file("${var.manifests_dir}/${f}"))
  }
  # The namespace goes first: every other object lives in it.
  namespaces = { for k, o in local.objects : k => o if o.kind == "Namespace" }
  others     = { for k, o in local.objects : k => o if o.kind != "Namespace" }
}

resource "kubernetes_manifest" "namespace" {
  for_each = local.namespaces
  manifest = each.value
}

resource "kubernetes_manifest" "object" {
  for_each   = local.others
  manifest   = each.value
  depends_on = [kubernetes_manifest.namespace]

  dynamic "wait" {
    for_each = var.wait_for_rollout && each.value.kind == "Deployment" ? [1] : []
    content {
      rollout = true
    }
  }
}
