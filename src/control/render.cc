#include "control/render.h"

#include <algorithm>
#include <regex>
#include <set>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config/checks.h"
#include "config/clients_parse.h"
#include "config/loader.h"

namespace anchor_events::control {
namespace {

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) {
    out += (out.empty() ? "" : "; ") + line;
  }
  return out;
}

// How many certificates a PEM bundle holds; 0 when it holds none or is not PEM.
int CountCertificates(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) {
    return 0;
  }
  int count = 0;
  while (X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_free(certificate);
    ++count;
  }
  ERR_clear_error();  // the read that ends the loop leaves "no start line" behind
  BIO_free(bio);
  return count;
}

std::string Emit(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

// The processor's own validation of one item. Messages name the resource, not a file line.
std::vector<std::string> ValidateItem(const YAML::Node& item, const CallbackClient& client) {
  YAML::Node items(YAML::NodeType::Sequence);
  items.push_back(item);
  std::string source = "CallbackClient " + client.Key();
  std::vector<std::string> problems;
  config::ParseClientItems(items, "client", source, config::DefaultClientLaneOptions(), &problems);
  // The item was built in memory: its line numbers mean nothing to the resource's author.
  static const std::regex kNoise("(CallbackClient [^ :)]+):[0-9]+|client\\[0\\]\\.");
  for (std::string& problem : problems) {
    problem = std::regex_replace(problem, kNoise, "$1");
  }
  return problems;
}

// The private key in `pem`, or null.
EVP_PKEY* ReadKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) {
    return nullptr;
  }
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  ERR_clear_error();
  BIO_free(bio);
  return key;
}

// Empty when `cert_pem`'s first certificate belongs to the private key in `key_pem`.
std::string CertificateKeyProblem(const std::string& cert_pem, const std::string& key_pem) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* certificate = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  EVP_PKEY* key = ReadKey(key_pem);
  std::string problem;
  if (!certificate) {
    problem = "holds no PEM certificate";
  } else if (!key) {
    problem = "holds no PEM private key (encrypted keys are not supported)";
  } else if (X509_check_private_key(certificate, key) != 1) {
    problem = "holds a certificate and a key that do not belong together";
  }
  ERR_clear_error();
  X509_free(certificate);
  EVP_PKEY_free(key);
  return problem;
}

// Fetches and checks a resource's key material into `material` (field -> value); on the first
// problem fills `outcome` and returns false.
bool CollectMaterial(const CallbackClient& client, const SecretIndex& secrets,
                     std::map<std::string, std::string>* material, Outcome* outcome) {
  for (const SecretUse& use : client.secret_uses) {
    std::string where = client.ns + "/" + use.ref.name;
    auto secret = secrets.find(where);
    if (secret == secrets.end() || !secret->second.found) {
      outcome->verdict = Verdict::kSecretNotFound;
      outcome->message =
          "Secret " + where + " (for " + use.field + ") " +
          (secret == secrets.end() || secret->second.problem.empty() ? std::string("not found")
                                                                     : secret->second.problem);
      return false;
    }
    auto value = secret->second.data.find(use.ref.key);
    if (value == secret->second.data.end()) {
      outcome->verdict = Verdict::kSecretNotFound;
      outcome->message =
          "Secret " + where + " has no key '" + use.ref.key + "' (for " + use.field + ")";
      return false;
    }
    (*material)[use.field] = value->second;
  }
  for (const char* field : {"webhook_secret_file", "webhook_secret_previous_file"}) {
    if (auto secret = material->find(field); secret != material->end()) {
      secret->second = config::TrimWebhookSecret(secret->second);
      if (std::string problem = config::WebhookSecretProblem(secret->second); !problem.empty()) {
        outcome->verdict = Verdict::kInvalidSpec;
        outcome->message = std::string("the Secret value for ") + field + " is not a Standard " +
                           "Webhooks secret: " + problem;
        return false;
      }
    }
  }
  if (material->count("client_cert_file")) {
    std::string problem =
        CertificateKeyProblem(material->at("client_cert_file"), material->at("client_key_file"));
    if (!problem.empty()) {
      outcome->verdict = Verdict::kInvalidSpec;
      outcome->message = "the Secret named in spec.clientCertSecretRef " + problem;
      return false;
    }
  }
  return true;
}

bool Older(const CallbackClient* a, const CallbackClient* b) {
  return std::tie(a->creation_timestamp, a->ns, a->name) <
         std::tie(b->creation_timestamp, b->ns, b->name);
}

}  // namespace

const char* VerdictReason(Verdict verdict) {
  switch (verdict) {
    case Verdict::kValid:
      return "Pending";
    case Verdict::kInvalidSpec:
      return "InvalidSpec";
    case Verdict::kSecretNotFound:
      return "SecretNotFound";
    case Verdict::kDuplicateName:
      return "DuplicateName";
    case Verdict::kDuplicateDomain:
      return "DuplicateDomain";
  }
  return "Pending";
}

std::string CaFileKey(const CallbackClient& client) {
  return "ca-" + client.ns + "-" + client.name + ".pem";
}

std::string SecretFileKey(const CallbackClient& client, const std::string& field) {
  std::string suffix = client.ns + "-" + client.name;
  if (field == "client_cert_file") {
    return "tls-crt-" + suffix + ".pem";
  }
  if (field == "client_key_file") {
    return "tls-key-" + suffix + ".pem";
  }
  if (field == "webhook_secret_previous_file") {
    return "whsec-previous-" + suffix;
  }
  return "whsec-" + suffix;
}

Rendering Render(std::vector<const CallbackClient*> clients, const SecretIndex& secrets,
                 const std::string& secrets_dir) {
  std::sort(clients.begin(), clients.end(), Older);
  Rendering rendering;
  std::map<std::string, std::string> name_owner;    // client name -> resource key
  std::map<std::string, std::string> domain_owner;  // domain -> resource key
  // By client name, the order of the document. (Never sort YAML::Nodes in a vector: assigning
  // one Node to another overwrites the node it refers to.)
  std::map<std::string, YAML::Node> items;
  for (const CallbackClient* client : clients) {
    Outcome& outcome = rendering.outcomes[client->Key()];
    outcome.client_name = client->client_name;
    if (!client->spec_problems.empty()) {
      outcome.verdict = Verdict::kInvalidSpec;
      outcome.message = Join(client->spec_problems);
      continue;
    }
    YAML::Node item = YAML::Clone(client->item);
    std::string ca_bundle;
    if (client->ca_secret) {
      const SecretRef& ref = *client->ca_secret;
      auto secret = secrets.find(client->ns + "/" + ref.name);
      if (secret == secrets.end() || !secret->second.found) {
        outcome.verdict = Verdict::kSecretNotFound;
        outcome.message =
            "Secret " + client->ns + "/" + ref.name + " (spec.caSecretRef) " +
            (secret == secrets.end() || secret->second.problem.empty() ? std::string("not found")
                                                                       : secret->second.problem);
        continue;
      }
      auto value = secret->second.data.find(ref.key);
      if (value == secret->second.data.end()) {
        outcome.verdict = Verdict::kSecretNotFound;
        outcome.message = "Secret " + client->ns + "/" + ref.name + " has no key '" + ref.key +
                          "' (spec.caSecretRef)";
        continue;
      }
      if (CountCertificates(value->second) == 0) {
        outcome.verdict = Verdict::kInvalidSpec;
        outcome.message = "key '" + ref.key + "' of Secret " + client->ns + "/" + ref.name +
                          " (spec.caSecretRef) holds no PEM certificate";
        continue;
      }
      ca_bundle = value->second;
      item["ca_file"] = CaFileKey(*client);
    }
    std::map<std::string, std::string> material;
    if (!CollectMaterial(*client, secrets, &material, &outcome)) {
      continue;
    }
    for (const auto& [field, value] : material) {
      item[field] = secrets_dir + "/" + SecretFileKey(*client, field);
    }
    if (!material.empty()) {
      // Ties this document to the Secret's content: a processor that sees the new document
      // before the new Secret refuses it until the files match.
      item["material_sha256"] = config::MaterialDigest(material);
    }
    std::vector<std::string> problems = ValidateItem(item, *client);
    if (!problems.empty()) {
      outcome.verdict = Verdict::kInvalidSpec;
      outcome.message = Join(problems);
      continue;
    }
    if (auto owner = name_owner.find(client->client_name); owner != name_owner.end()) {
      outcome.verdict = Verdict::kDuplicateName;
      outcome.message = "client name '" + client->client_name + "' is already used by " +
                        "CallbackClient " + owner->second + " (the older resource keeps it)";
      continue;
    }
    std::vector<std::string> taken;
    if (const YAML::Node domains = item["domains"]; domains && domains.IsSequence()) {
      for (const YAML::Node& domain : domains) {
        if (auto owner = domain_owner.find(domain.Scalar()); owner != domain_owner.end()) {
          taken.push_back("domain '" + domain.Scalar() + "' is already claimed by CallbackClient " +
                          owner->second);
        }
      }
      if (taken.empty()) {
        for (const YAML::Node& domain : domains) {
          domain_owner[domain.Scalar()] = client->Key();
        }
      }
    }
    if (!taken.empty()) {
      outcome.verdict = Verdict::kDuplicateDomain;
      outcome.message = Join(taken) + " (the older resource keeps it)";
      continue;
    }
    name_owner[client->client_name] = client->Key();
    outcome.fingerprint = Emit(item) + '\0' + ca_bundle;
    if (!ca_bundle.empty()) {
      rendering.files[CaFileKey(*client)] = ca_bundle;
    }
    for (const auto& [field, value] : material) {
      outcome.fingerprint += '\0' + value;
      rendering.secret_files[SecretFileKey(*client, field)] = value;
    }
    items.emplace(client->client_name, item);
  }
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& [name, item] : items) {
    list.push_back(item);
  }
  YAML::Node document(YAML::NodeType::Map);
  document["items"] = list;
  rendering.items_yaml = Emit(document) + "\n";
  return rendering;
}

std::string ClientsDocument(int64_t revision, const Rendering& rendering) {
  return "# Rendered by anchor-events operator from CallbackClient resources; edits are "
         "overwritten.\nrevision: \"" +
         std::to_string(revision) + "\"\n" + rendering.items_yaml;
}

std::optional<int64_t> DocumentRevision(const std::string& document) {
  try {
    YAML::Node root = YAML::Load(document);
    if (root.IsMap() && root["revision"] && root["revision"].IsScalar()) {
      const std::string& text = root["revision"].Scalar();
      if (!text.empty() && text.size() <= 18 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::stoll(text);
      }
    }
  } catch (const YAML::Exception&) {
  }
  return std::nullopt;
}

}  // namespace anchor_events::control
