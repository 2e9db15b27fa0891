#include "config/config.h"

#include <type_traits>

namespace anchor_events::config {

namespace {

// One list for both constnesses: Client is ClientConfig or const ClientConfig.
template <typename Client>
auto FilesOf(Client& client) {
  using Text = std::remove_reference_t<decltype((client.ca_file))>;  // const with Client
  return std::vector<std::pair<const char*, Text*>>{
      {"ca_file", &client.ca_file},
      {"client_cert_file", &client.client_cert_file},
      {"client_key_file", &client.client_key_file},
      {"webhook_secret_file", &client.webhook_secret_file},
      {"webhook_secret_previous_file", &client.webhook_secret_previous_file}};
}

}  // namespace

std::vector<std::pair<const char*, std::string*>> ClientFiles(ClientConfig& client) {
  return FilesOf(client);
}

std::vector<std::pair<const char*, const std::string*>> ClientFiles(const ClientConfig& client) {
  return FilesOf(client);
}

LaneOptions DefaultClientLaneOptions() {
  LaneOptions lane;
  lane.retry.max_attempts = 3;
  lane.retry.initial_backoff = std::chrono::milliseconds(1000);
  lane.retry.max_backoff = std::chrono::milliseconds(2000);
  return lane;
}

LaneOptions DefaultCallbackApiLaneOptions() {
  LaneOptions lane;
  lane.retry.max_attempts = 10;
  lane.retry.initial_backoff = std::chrono::milliseconds(1000);
  lane.retry.max_backoff = std::chrono::milliseconds(300000);
  return lane;
}

}  // namespace anchor_events::config
