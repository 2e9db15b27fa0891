// check-config, sign and verify: tools that start nothing.
#include <cstdio>
#include <cstdlib>

#include "app/args.h"
#include "app/commands.h"
#include "app/config_source.h"
#include "base/clock.h"
#include "base/url.h"
#include "delivery/processor.h"
#include "kafka/client_config.h"
#include "signing/signer.h"

namespace anchor_events::app {
namespace {

int Usage(const std::string& command, const Error& error) {
  std::fprintf(stderr, "anchor-events %s: %s\n", command.c_str(), error.message.c_str());
  return kExitUsage;
}

std::optional<int64_t> ParseInt(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(text);
}

// The seed from SECRET_SEP10_SIGNING_SEED or the file named by SECRET_SEP10_SIGNING_SEED_FILE;
// never from the command line, where it would show in the process list.
std::optional<std::string> SeedFromEnvironment() {
  if (const char* seed = std::getenv("SECRET_SEP10_SIGNING_SEED"); seed && *seed) {
    return std::string(seed);
  }
  if (const char* file = std::getenv("SECRET_SEP10_SIGNING_SEED_FILE"); file && *file) {
    std::optional<std::string> text = ReadFile(file);
    if (text) {
      while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
    }
    return text;
  }
  return std::nullopt;
}

}  // namespace

int CheckConfigCommand(const Argv& argv) {
  Result<Args> args = Args::Parse(argv, {"config"});
  if (!args.ok()) {
    return Usage("check-config", args.error());
  }
  std::optional<config::LoadedConfig> loaded = LoadConfigOrReport(*args);
  if (!loaded) {
    return kExitBadConfig;
  }
  // What `run` would do next: librdkafka's own view of the Kafka properties, and the lanes.
  if (Result<kafka::ConfPtr> conf = kafka::BaseConf(loaded->config.kafka); !conf.ok()) {
    std::fprintf(stderr, "invalid configuration:\n  - %s\n", conf.error().message.c_str());
    return kExitBadConfig;
  }
  Result<delivery::LanePlan> plan = delivery::PlanLanes(loaded->config);
  if (!plan.ok()) {
    std::fprintf(stderr, "invalid configuration:\n  - %s\n", plan.error().message.c_str());
    return kExitBadConfig;
  }
  for (const std::string& warning : loaded->warnings) {
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  std::printf("configuration is valid\n%s", config::Describe(loaded->config).c_str());
  std::printf("lanes = %zu\n", plan->size());
  for (const auto& [name, entry] : *plan) {
    std::printf("lanes.%s.group_id = %s\n", name.c_str(), entry.second.consumer.group_id.c_str());
  }
  if (loaded->config.client_callbacks_enabled) {
    auto key = signing::SigningKey::FromSeed(loaded->config.signing_seed);
    std::printf("signing_account = %s  (the SIGNING_KEY of stellar.toml)\n",
                key->AccountId().c_str());
  }
  return kExitOk;
}

int SignCommand(const Argv& argv) {
  Result<Args> args = Args::Parse(argv, {"url", "timestamp", "body-file"});
  if (!args.ok()) {
    return Usage("sign", args.error());
  }
  std::optional<std::string> url_text = args->Get("url");
  std::optional<std::string> body_file = args->Get("body-file");
  if (!url_text || !body_file) {
    return Usage("sign", Error{"--url and --body-file are required"});
  }
  Result<Url> url = ParseUrl(*url_text);
  if (!url.ok()) {
    return Usage("sign", url.error());
  }
  std::optional<int64_t> t = UnixSeconds(std::chrono::system_clock::now());
  if (std::optional<std::string> given = args->Get("timestamp")) {
    t = ParseInt(*given);
    if (!t || given->size() != 10) {
      return Usage("sign", Error{"--timestamp must be whole unix seconds (10 digits)"});
    }
  }
  std::optional<std::string> body = ReadFile(*body_file);
  if (!body) {
    return Usage("sign", Error{"cannot read body file " + *body_file});
  }
  std::optional<std::string> seed = SeedFromEnvironment();
  if (!seed) {
    return Usage("sign", Error{"set SECRET_SEP10_SIGNING_SEED or SECRET_SEP10_SIGNING_SEED_FILE"});
  }
  Result<signing::SigningKey> key = signing::SigningKey::FromSeed(*seed);
  if (!key.ok()) {
    std::fprintf(stderr, "anchor-events sign: %s\n", key.error().message.c_str());
    return kExitFailed;
  }
  std::printf("Signature: %s\n",
              signing::SignatureHeaderValue(*key, *t, url->SignatureHost(), *body).c_str());
  return kExitOk;
}

int VerifyCommand(const Argv& argv) {
  Result<Args> args =
      Args::Parse(argv, {"account", "url", "header", "body-file", "now", "max-age"});
  if (!args.ok()) {
    return Usage("verify", args.error());
  }
  auto account = args->Get("account");
  auto url_text = args->Get("url");
  auto header = args->Get("header");
  auto body_file = args->Get("body-file");
  if (!account || !url_text || !header || !body_file) {
    return Usage("verify", Error{"--account, --url, --header and --body-file are required"});
  }
  Result<Url> url = ParseUrl(*url_text);
  if (!url.ok()) {
    return Usage("verify", url.error());
  }
  std::optional<int64_t> now = UnixSeconds(std::chrono::system_clock::now());
  if (auto given = args->Get("now")) {
    now = ParseInt(*given);
  }
  std::optional<int64_t> max_age = 120;
  if (auto given = args->Get("max-age")) {
    max_age = ParseInt(*given);
  }
  if (!now || !max_age) {
    return Usage("verify", Error{"--now and --max-age must be whole seconds"});
  }
  std::optional<std::string> body = ReadFile(*body_file);
  if (!body) {
    return Usage("verify", Error{"cannot read body file " + *body_file});
  }
  Status status = signing::VerifySignatureHeader(*header, *account, url->SignatureHost(), *body,
                                                 *now, *max_age);
  if (!status.ok()) {
    std::printf("invalid: %s\n", status.error().message.c_str());
    return kExitFailed;
  }
  std::printf("valid: signed by %s for host %s\n", account->c_str(), url->SignatureHost().c_str());
  return kExitOk;
}

}  // namespace anchor_events::app
