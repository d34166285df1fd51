# Plan-only tests of the federation module: the outputs of a two-cloud federation, and bad input refused by validation.

variables {
  trust_domain = "corp.example"
  clusters     = [{ name = "aws-use1", context = "eks-use1" }, { name = "gcp-euw1" }]
  networks = [
    { name = "aws-net", gateways = { "us-east-1a" = "gw-use1a.example.com:15443" } },
    { name = "gcp-net", gateways = { "europe-west1-b" = "gw-euw1b.example.com:15443" } },
  ]
  clouds = [
    { name = "aws", regions = [{ name = "us-east-1", zones = [
      { name = "us-east-1a", cluster = "aws-use1", network = "aws-net" },
      { name = "us-east-1b", cluster = "aws-use1", network = "aws-net" },
    ] }] },
    { name = "gcp", regions = [{ name = "europe-west1", zones = [
      { name = "europe-west1-b", cluster = "gcp-euw1", network = "gcp-net" },
    ] }] },
  ]
  etcd_endpoints      = ["https://etcd-0.example.com:2379", "https://etcd-1.example.com:2379"]
  global_lb_addresses = { "aws-use1" = "glb.use1.example.com:15200", "gcp-euw1" = "glb.euw1.example.com:15200" }
}

run "plan_outputs" {
  command = plan

  assert {
    condition     = output.zone_names == ["us-east-1a", "us-east-1b", "europe-west1-b"]
    error_message = "zone_names lists every zone in declaration order"
  }
  assert {
    condition     = output.zones["europe-west1-b"].locality == "gcp/europe-west1/europe-west1-b" && output.zones["europe-west1-b"].cluster == "gcp-euw1"
    error_message = "a zone carries its locality and cluster"
  }
  assert {
    condition     = output.zones["us-east-1b"].gateway == null && output.zones["us-east-1a"].gateway == "gw-use1a.example.com:15443"
    error_message = "gateway addresses come from the zone's network"
  }
  assert {
    condition     = output.gateway_addresses == { "us-east-1a" = "gw-use1a.example.com:15443", "europe-west1-b" = "gw-euw1b.example.com:15443" }
    error_message = "gateway_addresses holds only the declared gateways"
  }
  assert {
    condition     = output.clusters["aws-use1"].zones == ["us-east-1a", "us-east-1b"] && output.clusters["aws-use1"].context == "eks-use1"
    error_message = "a cluster lists its zones and context"
  }
  assert {
    condition     = output.clusters["aws-use1"].global_lb_addresses == ["meshfed-global-lb.meshfed-system.svc:15200", "glb.euw1.example.com:15200"]
    error_message = "agents dial their own cluster's global-lb Service first, then the other clusters'"
  }
  assert {
    condition     = output.cross_network_zones["europe-west1-b"] == ["us-east-1a", "us-east-1b"] && output.cross_network_zones["us-east-1a"] == ["europe-west1-b"]
    error_message = "cross-network zones are those on other networks"
  }
  assert {
    condition     = yamldecode(output.federation_file).topology.trustDomain == "corp.example" && length(yamldecode(output.federation_file).topology.clouds) == 2
    error_message = "the federation file carries the topology"
  }
  assert {
    condition     = yamldecode(output.federation_file).deploy.etcd.endpoints == ["https://etcd-0.example.com:2379", "https://etcd-1.example.com:2379"]
    error_message = "the federation file carries the deploy section"
  }
  assert {
    condition     = strcontains(output.clusters["gcp-euw1"].render_command, "--cluster gcp-euw1")
    error_message = "each cluster gets its render command"
  }
}

run "bad_trust_domain" {
  command = plan
  variables {
    trust_domain = "Corp Example!"
  }
  expect_failures = [var.trust_domain]
}

run "zone_name_not_a_dns_label" {
  command = plan
  variables {
    clouds   = [{ name = "aws", regions = [{ name = "us-east-1", zones = [{ name = "US_East_1a", cluster = "aws-use1", network = "aws-net" }] }] }]
    networks = [{ name = "aws-net" }, { name = "gcp-net" }]
  }
  expect_failures = [var.clouds]
}

run "duplicate_zone" {
  command = plan
  variables {
    clouds = [
      { name = "aws", regions = [{ name = "us-east-1", zones = [{ name = "z1", cluster = "aws-use1", network = "aws-net" }] }] },
      { name = "gcp", regions = [{ name = "europe-west1", zones = [{ name = "z1", cluster = "gcp-euw1", network = "gcp-net" }] }] },
    ]
    networks = [{ name = "aws-net" }, { name = "gcp-net" }]
  }
  expect_failures = [var.clouds]
}

run "zone_in_undeclared_cluster" {
  command = plan
  variables {
    clouds   = [{ name = "aws", regions = [{ name = "us-east-1", zones = [{ name = "us-east-1a", cluster = "aws-usw2", network = "aws-net" }] }] }]
    networks = [{ name = "aws-net" }, { name = "gcp-net" }]
  }
  expect_failures = [var.clouds]
}

run "zone_on_undeclared_network" {
  command = plan
  variables {
    clouds   = [{ name = "aws", regions = [{ name = "us-east-1", zones = [{ name = "us-east-1a", cluster = "aws-use1", network = "azure-net" }] }] }]
    networks = [{ name = "aws-net" }, { name = "gcp-net" }]
  }
  expect_failures = [var.clouds]
}

run "gateway_for_a_zone_of_another_network" {
  command = plan
  variables {
    networks = [
      { name = "aws-net", gateways = { "europe-west1-b" = "gw.example.com:15443" } },
      { name = "gcp-net" },
    ]
  }
  expect_failures = [var.clouds]
}

run "gateway_address_not_host_port" {
  command = plan
  variables {
    networks = [{ name = "aws-net", gateways = { "us-east-1a" = "https://gw.example.com" } }, { name = "gcp-net" }]
  }
  expect_failures = [var.networks]
}

run "bad_etcd_endpoint" {
  command = plan
  variables {
    etcd_endpoints = ["etcd-0.example.com"]
  }
  expect_failures = [var.etcd_endpoints]
}

run "no_etcd_endpoint" {
  command = plan
  variables {
    etcd_endpoints = []
  }
  expect_failures = [var.etcd_endpoints]
}

run "replicas_out_of_range" {
  command = plan
  variables {
    global_lb_replicas = 0
  }
  expect_failures = [var.global_lb_replicas]
}

run "service_calls_unknown_service" {
  command = plan
  variables {
    services = [{ name = "frontend", calls = "checkout" }]
  }
  expect_failures = [var.services]
}

run "duplicate_cluster" {
  command = plan
  variables {
    clusters = [{ name = "aws-use1" }, { name = "aws-use1" }, { name = "gcp-euw1" }]
  }
  expect_failures = [var.clusters]
}

run "global_lb_address_for_unknown_cluster" {
  command = plan
  variables {
    global_lb_addresses = { "azure-weu" = "glb.weu.example.com:15200" }
  }
  expect_failures = [var.global_lb_addresses]
}
