// Rendering CallbackClient resources into the processor's clients document (SPEC §10): each
// resource is validated on its own with the processor's rules, invalid ones are left out with a
// verdict for their status, and the rest become one document. Pure: no API calls.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/resource.h"

namespace anchor_events::control {

// A Secret as the operator fetched it: found or not, with its decoded data.
struct SecretData {
  bool found = false;
  std::map<std::string, std::string> data;
  std::string problem;  // why it could not be read, when not found
};
using SecretIndex = std::map<std::string, SecretData>;  // by "namespace/name"

enum class Verdict { kValid, kInvalidSpec, kSecretNotFound, kDuplicateName, kDuplicateDomain };

// The condition reason for a verdict: Applied is decided later, so kValid gives "Pending".
const char* VerdictReason(Verdict verdict);

struct Outcome {
  Verdict verdict = Verdict::kValid;
  std::string message;      // every problem, for a person
  std::string client_name;  // the effective client name (also for invalid ones)
  std::string fingerprint;  // the rendered item and its CA bundle; changes with what the
                            // processor would load for this resource
};

struct Rendering {
  std::string items_yaml;                           // the `items:` part of the document
  std::map<std::string, std::string> files;         // extra ConfigMap keys: CA bundles
  std::map<std::string, std::string> secret_files;  // client-secrets Secret keys
  std::map<std::string, Outcome> outcomes;          // by CallbackClient::Key()
};

// Validates and renders `clients`. Conflicts are settled by age: the older resource
// (creationTimestamp, then namespace/name) keeps a name or domain, the newer one is refused.
// Key material (client certificates and keys, webhook secrets) is named in the items as
// `secrets_dir`/<key>, relative to the clients file: where the processor mounts the
// client-secrets Secret.
Rendering Render(std::vector<const CallbackClient*> clients, const SecretIndex& secrets,
                 const std::string& secrets_dir = "../client-secrets");

// The whole document: a header comment, `revision: "N"` and the items.
std::string ClientsDocument(int64_t revision, const Rendering& rendering);

// The revision of a document written by ClientsDocument; nullopt when it has none.
std::optional<int64_t> DocumentRevision(const std::string& document);

// The ConfigMap key of a resource's CA bundle.
std::string CaFileKey(const CallbackClient& client);
// The client-secrets Secret key of a resource's material for clients-file `field`.
std::string SecretFileKey(const CallbackClient& client, const std::string& field);

}  // namespace anchor_events::control
