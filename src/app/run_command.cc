// `anchor-events run`: the service, until SIGTERM or SIGINT.
#include <atomic>
#include <cstdio>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include "app/args.h"
#include "app/commands.h"
#include "app/config_source.h"
#include "app/service.h"
#include "ops/log.h"

namespace anchor_events::app {
namespace {

constexpr std::chrono::seconds kWatchInterval{2};

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// Waits for signals while the service runs; reloads on SIGHUP and when watched files change.
// The first SIGTERM/SIGINT drains; a second one exits at once.
int WaitForShutdown(Service& service, const sigset_t& signals) {
  std::atomic<bool> drained{false};
  std::thread drainer;
  timespec tick{};
  tick.tv_sec = 0;
  tick.tv_nsec = 200'000'000;
  auto next_watch = std::chrono::steady_clock::now() + kWatchInterval;
  while (!drained.load()) {
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGHUP) {
      service.Reload("SIGHUP");
    } else if ((sig == SIGTERM || sig == SIGINT) && drainer.joinable()) {
      ops::Log().Warn("second signal, exiting at once");
      std::fflush(stdout);
      _exit(kExitFailed);
    } else if (sig == SIGTERM || sig == SIGINT) {
      ops::Log().Info("shutdown requested", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      drainer = std::thread([&] {
        service.Shutdown();
        drained.store(true);
      });
    } else if (!drainer.joinable() && std::chrono::steady_clock::now() >= next_watch) {
      next_watch = std::chrono::steady_clock::now() + kWatchInterval;
      service.CheckForChanges();
    }
  }
  drainer.join();
  return kExitOk;
}

}  // namespace

int RunCommand(const Argv& argv) {
  Result<Args> args = Args::Parse(argv, {"config"});
  if (!args.ok()) {
    std::fprintf(stderr, "anchor-events run: %s\n", args.error().message.c_str());
    return kExitUsage;
  }
  // Every thread started from here on inherits the mask, so only sigtimedwait sees them.
  sigset_t signals = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::optional<config::LoadedConfig> loaded = LoadConfigOrReport(*args);
  if (!loaded) {
    return kExitBadConfig;
  }
  config::LoadInput reload_input{ConfigPath(*args), config::ProcessEnvironment()};
  Service service(std::move(*loaded), std::move(reload_input));
  if (Status status = service.Start(); !status.ok()) {
    ops::Log().Error("startup failed", {{"error", status.error().message}});
    service.Shutdown();
    return kExitFailed;
  }
  int code = WaitForShutdown(service, signals);
  ops::Log().Info("stopped");
  return code;
}

}  // namespace anchor_events::app
