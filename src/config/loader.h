// Loading a Config from built-in defaults, a YAML file and the environment (SPEC §7), with
// strict validation that reports every problem at once.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace anchor_events::config {

// Everything a load reads, so tests can pass their own environment.
struct LoadInput {
  std::string config_path;  // empty: none (env STELLAR_ANCHOR_CONFIG is read by the caller)
  std::map<std::string, std::string> env;
};

// Where a loaded value came from, for reload watching (SPEC §7.1).
struct LoadedConfig {
  Config config;
  std::vector<std::string> watched_files;  // clients file and *_FILE secrets, absolute paths
  // Not errors, but likely mistakes: environment variables in this product's namespaces that
  // name no setting (a misspelling would otherwise be ignored silently).
  std::vector<std::string> warnings;
};

// Validation problems, one line each, naming the key (and file:line for YAML).
struct ConfigErrors {
  std::vector<std::string> problems;
  // The files the refused load read or named (as LoadedConfig::watched_files): a reload watches
  // them too, so a file that was missing or wrong (a Secret the kubelet has not written yet)
  // is tried again when it changes.
  std::vector<std::string> watched_files;
  std::string Joined() const;  // "invalid configuration:\n  - ...\n  - ..."
};

// Loads and validates. On any problem returns all of them; never a half-valid Config.
Result<LoadedConfig> Load(const LoadInput& input, ConfigErrors* errors);

// Reads the process environment into a map.
std::map<std::string, std::string> ProcessEnvironment();

// A parsed clients document: the Platform's `items`, and this product's optional `revision`, a
// decimal number the operator writes so /status can report which rendering a process loaded.
struct ClientsDocument {
  std::string revision;  // empty when the document has none
  std::vector<ClientConfig> clients;
};

// Parses a clients document (the Platform's format, YAML or JSON, top-level "items" and an
// optional "revision"), applying `lane_defaults` to each client. `source` names the file in
// messages.
Result<ClientsDocument> ParseClientsDocument(const std::string& text, const std::string& source,
                                             const LaneOptions& lane_defaults,
                                             std::vector<std::string>* problems);

// ParseClientsDocument's clients only.
Result<std::vector<ClientConfig>> ParseClients(const std::string& text, const std::string& source,
                                               const LaneOptions& lane_defaults,
                                               std::vector<std::string>* problems);

// Validates one client with the rules of SPEC §7.3/§7.4; appends problems prefixed `where`.
void ValidateClient(const ClientConfig& client, const std::string& where,
                    std::vector<std::string>* problems);

// A redacted, stable text form of the effective configuration (secrets shown as "<set>"),
// for check-config output and for comparing two loads.
std::string Describe(const Config& config);

}  // namespace anchor_events::config
