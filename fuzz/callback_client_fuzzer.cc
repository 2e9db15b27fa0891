// Fuzzes the operator's CallbackClient parser with the object JSON the API server would send. A
// resource the operator renders as valid must give a clients document that the processor loads
// with exactly that one client, and whose revision reads back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"
#include "control/render.h"
#include "control/resource.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto client = anchor_events::control::ParseCallbackClient(json);
  if (!client.ok()) {
    return 0;
  }

  auto rendering = anchor_events::control::Render({&*client}, {});
  if (rendering.outcomes.at(client->Key()).verdict != anchor_events::control::Verdict::kValid) {
    return 0;
  }
  std::string document = anchor_events::control::ClientsDocument(7, rendering);
  std::vector<std::string> problems;
  auto parsed = anchor_events::config::ParseClientsDocument(
      document, "clients.yaml", anchor_events::config::DefaultClientLaneOptions(), &problems);

  if (!parsed.ok() || parsed->clients.size() != 1 || parsed->revision != "7" ||
      anchor_events::control::DocumentRevision(document) != 7) {
    std::abort();
  }
  return 0;
}
