// Describe(): the effective configuration as "key = value" lines in table order, then the
// clients, with every secret shown only as <set> or <unset>.
#include <sstream>

#include "config/loader.h"
#include "config/schema.h"
#include "config/value.h"

namespace anchor_events::config {
namespace {

std::string Join(const std::vector<std::string>& items) { return FormatValue(Value(items)); }

// "key = value", or "key =" for an empty value, so no line ends in a space.
void Line(const std::string& key, const std::string& value, std::ostringstream* out) {
  *out << key << " =" << (value.empty() ? "" : " ") << value << "\n";
}

void DescribeClient(const ClientConfig& client, std::ostringstream* out) {
  std::string prefix = "clients." + client.name + ".";
  auto line = [&](const std::string& key, const std::string& value) {
    Line(prefix + key, value, out);
  };
  line("type", client.type == ClientType::kCustodial ? "custodial" : "noncustodial");
  line("signing_keys", Join(client.signing_keys));
  line("domains", Join(client.domains));
  line("callback_urls.sep6", client.callback_urls.sep6);
  line("callback_urls.sep24", client.callback_urls.sep24);
  line("callback_urls.sep31", client.callback_urls.sep31);
  line("callback_urls.sep12", client.callback_urls.sep12);
  line("max_attempts", std::to_string(client.lane.retry.max_attempts));
  line("initial_backoff_ms", std::to_string(client.lane.retry.initial_backoff.count()));
  line("max_backoff_ms", std::to_string(client.lane.retry.max_backoff.count()));
  line("max_in_flight", std::to_string(client.lane.max_in_flight));
  line("request_timeout_ms", std::to_string(client.lane.request_timeout.count()));
  line("standard_webhooks", client.standard_webhooks ? "true" : "false");
  line("allowed_networks", Join(client.allowed_networks));
  line("ca_file", client.ca_file);
  line("client_cert_file", client.client_cert_file);
  line("client_key_file", client.client_key_file);
  line("webhook_secret_file", client.webhook_secret_file);
  line("webhook_secret_previous_file", client.webhook_secret_previous_file);
}

}  // namespace

std::string Describe(const Config& config) {
  std::ostringstream out;
  for (const Setting& setting : Settings()) {
    if (!setting.get) {
      continue;
    }
    Value value = setting.get(config);
    if (setting.secret()) {
      Line(setting.path, std::get<std::string>(value).empty() ? "<unset>" : "<set>", &out);
    } else {
      Line(setting.path, FormatValue(value), &out);
    }
  }
  Line("clients", std::to_string(config.clients.size()), &out);
  for (const ClientConfig& client : config.clients) {
    DescribeClient(client, &out);
  }
  return out.str();
}

}  // namespace anchor_events::config
