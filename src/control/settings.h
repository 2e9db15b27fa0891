// The operator's settings (docs/kubernetes.md, "The operator"), read from OPERATOR_* environment
// variables and checked strictly: every problem is reported and nothing starts half-way.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace anchor_events::control {

struct Settings {
  std::string ns;                             // ConfigMap, Lease, EndpointSlices
  std::vector<std::string> watch_namespaces;  // where CallbackClients are read
  std::string identity;
  std::string clients_configmap = "anchor-events-clients";
  std::string clients_key = "clients.yaml";
  std::string client_secrets_secret = "anchor-events-client-secrets";
  std::string client_secrets_dir = "../client-secrets";  // relative to the clients file
  bool leader_election = true;
  std::string lease_name = "anchor-events-operator";
  std::chrono::seconds lease_duration{15};
  std::string processor_service;
  int processor_port = 9088;
  std::vector<std::string> processor_urls;  // explicit base URLs; override the Service
  std::string management_address = "0.0.0.0";
  int management_port = 9089;
  std::chrono::seconds resync{30};
  std::string owner_deployment;
  std::string log_level = "info";
};

// `default_namespace` is the kubeconfig context's or the pod's namespace; `hostname` the
// default identity. Errors list every problem, one per line.
Result<Settings> LoadSettings(const std::map<std::string, std::string>& env,
                              const std::string& default_namespace, const std::string& hostname);

// The environment variables LoadSettings reads, for the usage text.
const std::vector<std::string>& SettingNames();

}  // namespace anchor_events::control
