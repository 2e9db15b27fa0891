// anchor-events: Anchor Platform events from Kafka to signed HTTP callbacks.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <malloc.h>
#include <openssl/crypto.h>

#include "app/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: anchor-events <command> [options]\n"
    "\n"
    "commands:\n"
    "  run [--config FILE]           run the event processor\n"
    "  check-config [--config FILE]  validate the configuration and exit\n"
    "  sign --url URL --timestamp T --body-file F\n"
    "                                print the Signature header for a callback body, signed\n"
    "                                with the seed in SECRET_SEP10_SIGNING_SEED(_FILE)\n"
    "  verify --account G... --url URL --header 'Signature: ...' --body-file F [--now T]\n"
    "         [--max-age SECONDS]    check a callback's Signature header (exit 0 when valid)\n"
    "  replay --lane NAME [--since T] [--until T] [--dry-run] [--rate N] [--config FILE]\n"
    "                                re-deliver the dead-lettered events of one lane; progress\n"
    "                                is kept, so a second run does not repeat the first\n"
    "  operator                      render CallbackClient resources into the clients ConfigMap\n"
    "                                (Kubernetes; see `anchor-events operator --help`)\n"
    "  demo                          run the whole path on an embedded broker and exit\n"
    "  version                       print the version\n"
    "\n"
    "The configuration file may also be named by STELLAR_ANCHOR_CONFIG; environment variables\n"
    "override it. See the README for every setting.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace anchor_events::app;
  // Every lane and every librdkafka client has threads; glibc would give them up to 8 malloc
  // arenas per core, each keeping freed memory. Two bound the RSS of a process with many lanes
  // (MALLOC_ARENA_MAX or glibc.malloc.arena_max in the environment still wins).
  // OpenSSL without its exit-time cleanup: that cleanup deletes the key of OpenSSL's per-thread
  // state, and threads other libraries join only at exit (cpprestsdk's pool) would then leave
  // theirs behind. The process is ending anyway; the first initialisation decides, so it is
  // made here before libcurl or librdkafka initialise OpenSSL their way.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr &&
      (tunables == nullptr || std::strstr(tunables, "arena_max") == nullptr)) {
    mallopt(M_ARENA_MAX, 2);
  }
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string command = argv[1];
  Argv args(argv + 2, argv + argc);
  for (const std::string& arg : args) {
    if ((arg == "--help" || arg == "-h") && command != "operator") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  if (command == "run") return RunCommand(args);
  if (command == "check-config") return CheckConfigCommand(args);
  if (command == "sign") return SignCommand(args);
  if (command == "verify") return VerifyCommand(args);
  if (command == "demo") return DemoCommand(args);
  if (command == "replay") return ReplayCommand(args);
  if (command == "operator") return OperatorCommand(args);
  if (command == "version" || command == "--version") {
    std::puts("anchor-events " ANCHOR_EVENTS_VERSION);
    return kExitOk;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  std::fprintf(stderr, "anchor-events: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return kExitUsage;
}
