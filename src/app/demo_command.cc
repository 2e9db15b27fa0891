// `anchor-events demo`: the whole path on loopback. An embedded Kafka broker, the processor,
// a business server and two wallets that verify what they receive, and the sample events.
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include <signal.h>

#include "app/commands.h"
#include "app/demo_events.h"
#include "app/demo_receiver.h"
#include "app/service.h"
#include "event/event.h"
#include "event/routing.h"
#include "kafka/embedded_broker.h"
#include "kafka/producer.h"
#include "ops/log.h"
#include "signing/signer.h"

namespace anchor_events::app {
namespace {

// RFC 8032 test key 1 as a Stellar seed: public test material, never a real anchor's key.
constexpr const char* kDemoSeed = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO";
constexpr const char* kDemoJwtSecret = "demo-callback-secret-of-at-least-32-bytes";
constexpr const char* kTopic = "TRANSACTION";
constexpr std::chrono::seconds kDeadline{90};

struct DemoPorts {
  int business = 0;
  int wallet_a = 0;
  int wallet_b = 0;
};

std::string ClientsYaml(const DemoPorts& ports) {
  std::string a = "http://wallet-a.example:" + std::to_string(ports.wallet_a);
  std::string b = "http://wallet-b.example:" + std::to_string(ports.wallet_b);
  return "items:\n"
         "  - name: wallet-a\n    type: noncustodial\n    domains: [wallet-a.example]\n"
         "    callback_urls:\n      sep6: " +
         a + "/callbacks/sep6\n      sep24: " + a + "/callbacks/sep24\n      sep31: " + a +
         "/callbacks/sep31\n      sep12: " + a +
         "/callbacks/sep12\n"
         "  - name: wallet-b\n    type: custodial\n"
         "    signing_keys: [GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX]\n"
         "    callback_urls:\n      sep6: " +
         b + "/hooks/sep6\n      sep31: " + b + "/hooks/sep31\n";
}

std::map<std::string, std::string> DemoEnvironment(const std::string& bootstrap,
                                                   const DemoPorts& ports) {
  return {
      {"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER", bootstrap},
      {"EVENT_QUEUE_KAFKA_TOPIC", kTopic},
      {"EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED", "true"},
      {"EVENT_PROCESSOR_CALLBACK_API_REQUEST_ENABLED", "true"},
      {"CALLBACK_API_BASE_URL", "http://127.0.0.1:" + std::to_string(ports.business) + "/callback"},
      {"CALLBACK_API_AUTH_TYPE", "jwt"},
      {"CALLBACK_API_SECRET", kDemoJwtSecret},
      {"SECRET_SEP10_SIGNING_SEED", kDemoSeed},
      {"CLIENTS_TYPE", "yaml"},
      {"CLIENTS_VALUE", ClientsYaml(ports)},
      {"EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS", "true"},
      {"EVENT_PROCESSOR_NEW_LANE_OFFSET", "earliest"},
      {"EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT", "0"},
      {"EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS", "127.0.0.1"},
      {"EVENT_PROCESSOR_LOG_LEVEL", "warn"},
      {"EVENT_PROCESSOR_RESOLVE",
       "wallet-a.example:" + std::to_string(ports.wallet_a) +
           ":127.0.0.1,wallet-b.example:" + std::to_string(ports.wallet_b) + ":127.0.0.1"},
  };
}

std::vector<std::string> Lines(std::string_view content) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string_view::npos) end = content.size();
    if (end > start) lines.emplace_back(content.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Every record value in publish order: the poison lines go after the first file, so the demo
// shows that they do not hold back what follows.
std::vector<std::string> DemoRecords() {
  std::vector<std::string> valid;
  std::vector<std::string> poison;
  std::vector<std::vector<std::string>> files;
  for (const DemoEventFile& file : DemoEventFiles()) {
    if (file.name == "poison.txt") {
      poison = Lines(file.content);
    } else {
      files.push_back(Lines(file.content));
    }
  }
  std::vector<std::string> records;
  for (size_t i = 0; i < files.size(); ++i) {
    records.insert(records.end(), files[i].begin(), files[i].end());
    if (i == 0) records.insert(records.end(), poison.begin(), poison.end());
  }
  return records;
}

// What each receiver should get, from the events and the demo's clients.
std::map<std::string, size_t> Expected(const std::vector<std::string>& records,
                                       const config::Config& config) {
  std::map<std::string, size_t> expected{{"business", 0}, {"wallet-a", 0}, {"wallet-b", 0}};
  for (const std::string& record : records) {
    event::ParseResult parsed = event::ParseEvent(record);
    const auto* ev = std::get_if<event::Event>(&parsed);
    if (ev == nullptr) continue;
    ++expected["business"];
    for (const config::ClientConfig& client : config.clients) {
      if (event::RouteToClient(*ev, client).skip == event::SkipReason::kNone) {
        ++expected[client.name];
      }
    }
  }
  return expected;
}

void PrintDelivery(const ReceivedCallback& r) {
  std::printf("  %-9s POST %-22s event %-38s %s\n", r.receiver.c_str(), r.path.c_str(),
              r.event_id.c_str(),
              r.verified ? (r.receiver == "business" ? "JWT ok" : "Signature ok")
                         : ("NOT VERIFIED: " + r.problem).c_str());
  std::fflush(stdout);
}

}  // namespace

int DemoCommand(const Argv& argv) {
  if (!argv.empty()) {
    std::fprintf(stderr, "anchor-events demo: takes no options\n");
    return kExitUsage;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ops::SetLogLevel(ops::LogLevel::kWarn);

  auto broker = kafka::EmbeddedBroker::Start();
  if (!broker.ok() || !(*broker)->CreateTopic(kTopic, 1).ok()) {
    std::fprintf(stderr, "demo: %s\n",
                 broker.ok() ? "topic creation failed" : broker.error().message.c_str());
    return kExitFailed;
  }
  DemoPorts ports{*ops::PickFreePort("127.0.0.1"), *ops::PickFreePort("127.0.0.1"),
                  *ops::PickFreePort("127.0.0.1")};
  std::string account = signing::SigningKey::FromSeed(kDemoSeed)->AccountId();
  std::vector<std::unique_ptr<DemoReceiver>> receivers;
  receivers.push_back(
      std::make_unique<DemoReceiver>(ReceiverOptions{"business", "", "", kDemoJwtSecret}));
  receivers.push_back(std::make_unique<DemoReceiver>(ReceiverOptions{
      "wallet-a", account, "wallet-a.example:" + std::to_string(ports.wallet_a), ""}));
  receivers.push_back(std::make_unique<DemoReceiver>(ReceiverOptions{
      "wallet-b", account, "wallet-b.example:" + std::to_string(ports.wallet_b), ""}));
  int port_of[] = {ports.business, ports.wallet_a, ports.wallet_b};
  for (size_t i = 0; i < receivers.size(); ++i) {
    receivers[i]->OnReceive(PrintDelivery);
    if (Status status = receivers[i]->Start(port_of[i]); !status.ok()) {
      std::fprintf(stderr, "demo: %s\n", status.error().message.c_str());
      return kExitFailed;
    }
  }

  config::LoadInput input{"", DemoEnvironment((*broker)->bootstrap_servers(), ports)};
  config::ConfigErrors errors;
  Result<config::LoadedConfig> loaded = config::Load(input, &errors);
  if (!loaded.ok()) {
    std::fprintf(stderr, "demo: %s\n", errors.Joined().c_str());
    return kExitFailed;
  }
  std::vector<std::string> records = DemoRecords();
  std::map<std::string, size_t> expected = Expected(records, loaded->config);

  std::printf(
      "anchor-events demo\n  embedded Kafka broker at %s, topic %s\n"
      "  anchor signing account %s\n  business server, wallet-a and wallet-b on "
      "127.0.0.1, each verifying what it receives\n\n",
      (*broker)->bootstrap_servers().c_str(), kTopic, account.c_str());
  Service service(loaded.value(), input);
  if (Status status = service.Start(); !status.ok()) {
    std::fprintf(stderr, "demo: %s\n", status.error().message.c_str());
    return kExitFailed;
  }
  std::printf("processor started; management port %d (/metrics, /readyz, /status)\n",
              service.management_port());
  std::printf("waiting for the lanes to join their consumer groups...\n");
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!service.processor().Ready().ok && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  auto producer = kafka::Producer::Create(loaded->config.kafka);
  if (!producer.ok()) {
    std::fprintf(stderr, "demo: %s\n", producer.error().message.c_str());
    return kExitFailed;
  }
  for (const std::string& record : records) {
    if (Status status = (*producer)->ProduceSync({kTopic, std::nullopt, record, {}});
        !status.ok()) {
      std::fprintf(stderr, "demo: %s\n", status.error().message.c_str());
      return kExitFailed;
    }
  }
  std::printf("produced %zu records (%zu of them poison)\n\n", records.size(),
              records.size() - expected["business"]);

  auto complete = [&] {
    for (size_t i = 0; i < receivers.size(); ++i) {
      const char* names[] = {"business", "wallet-a", "wallet-b"};
      if (receivers[i]->Received().size() < expected[names[i]]) return false;
    }
    return true;
  };
  while (!complete() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // anything extra shows up too
  service.Shutdown();

  bool ok = true;
  std::printf("\nsummary\n");
  const char* names[] = {"business", "wallet-a", "wallet-b"};
  for (size_t i = 0; i < receivers.size(); ++i) {
    std::vector<ReceivedCallback> got = receivers[i]->Received();
    size_t verified = 0;
    for (const ReceivedCallback& r : got) verified += r.verified ? 1 : 0;
    bool good = got.size() == expected[names[i]] && verified == got.size();
    ok = ok && good;
    std::printf("  %-9s expected %2zu, received %2zu, verified %2zu  %s\n", names[i],
                expected[names[i]], got.size(), verified, good ? "ok" : "MISMATCH");
  }
  std::printf("%s\n", ok ? "demo passed: every callback arrived once, verified, and no wallet "
                           "received another wallet's transactions"
                         : "demo FAILED");
  for (auto& receiver : receivers) receiver->Stop();
  return ok ? kExitOk : kExitFailed;
}

}  // namespace anchor_events::app
