// Fuzzes the clients document parser (the Platform's clients file, YAML or JSON): a document is
// accepted exactly when no problem is listed, and every client it accepts passes ValidateClient.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> problems;

  auto document = anchor_events::config::ParseClientsDocument(
      text, "clients.yaml", anchor_events::config::DefaultClientLaneOptions(), &problems);

  if (document.ok() != problems.empty()) {
    std::abort();
  }
  if (document.ok()) {
    for (const auto& client : document->clients) {
      anchor_events::config::ValidateClient(client, "items[]", &problems);
    }
    if (!problems.empty()) {
      std::abort();
    }
  }
  return 0;
}
