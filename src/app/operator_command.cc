// `anchor-events operator`: CallbackClient resources become the processor's clients file, until
// SIGTERM or SIGINT (SPEC §10, docs/kubernetes.md "The operator").
#include <csignal>
#include <cstdio>
#include <thread>

#include <unistd.h>

#include "app/commands.h"
#include "config/loader.h"
#include "control/controller.h"
#include "control/leader.h"
#include "control/operator_metrics.h"
#include "control/settings.h"
#include "kube/client.h"
#include "ops/log.h"
#include "ops/management_server.h"

namespace anchor_events::app {
namespace {

constexpr const char* kOperatorUsage =
    "usage: anchor-events operator\n"
    "\n"
    "Watches CallbackClient resources and renders them into the clients ConfigMap the processor\n"
    "mounts; reports in each resource's status whether every processor pod has loaded it.\n"
    "\n"
    "The API server comes from KUBECONFIG (its current context), else the pod's service\n"
    "account, else ~/.kube/config. Settings (environment):\n"
    "  OPERATOR_NAMESPACE               ConfigMap, Lease and Service namespace (default: the\n"
    "                                   kubeconfig context's or the pod's namespace)\n"
    "  OPERATOR_WATCH_NAMESPACES        comma-separated namespaces to read CallbackClients from\n"
    "                                   (default: OPERATOR_NAMESPACE)\n"
    "  OPERATOR_CLIENTS_CONFIGMAP       the clients ConfigMap (anchor-events-clients)\n"
    "  OPERATOR_CLIENTS_KEY             its key holding the clients document (clients.yaml)\n"
    "  OPERATOR_CLIENT_SECRETS_SECRET   the Secret receiving client certificates, keys and\n"
    "                                   webhook secrets (anchor-events-client-secrets)\n"
    "  OPERATOR_CLIENT_SECRETS_DIR      where the processor mounts it, relative to the clients\n"
    "                                   file (../client-secrets)\n"
    "  OPERATOR_PROCESSOR_SERVICE       the processor Service whose EndpointSlices list the pods\n"
    "  OPERATOR_PROCESSOR_PORT          their management port (9088)\n"
    "  OPERATOR_PROCESSOR_URLS          comma-separated processor base URLs instead of the "
    "Service\n"
    "  OPERATOR_LEADER_ELECTION         true (default) or false\n"
    "  OPERATOR_LEASE_NAME              the leader Lease (anchor-events-operator)\n"
    "  OPERATOR_LEASE_DURATION_SECONDS  15\n"
    "  OPERATOR_IDENTITY                this replica's name in the Lease (default: hostname)\n"
    "  OPERATOR_RESYNC_SECONDS          full reconcile interval when nothing changes (30)\n"
    "  OPERATOR_OWNER_DEPLOYMENT        Deployment that owns the ConfigMap (owner reference)\n"
    "  OPERATOR_MANAGEMENT_SERVER_ADDRESS, OPERATOR_MANAGEMENT_SERVER_PORT\n"
    "                                   /metrics, /livez, /readyz, /status (0.0.0.0:9089)\n"
    "  OPERATOR_LOG_LEVEL               trace, debug, info (default), warn, error\n";

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) {
    return "";
  }
  return name;
}

}  // namespace

int OperatorCommand(const Argv& args) {
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(kOperatorUsage, stdout);
      return kExitOk;
    }
    std::fprintf(stderr, "anchor-events operator: unknown argument '%s'\n\n%s", arg.c_str(),
                 kOperatorUsage);
    return kExitUsage;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<kube::ClusterAccess> access = kube::LoadDefault();
  if (!access.ok()) {
    std::fprintf(stderr, "anchor-events operator: %s\n", access.error().message.c_str());
    return kExitBadConfig;
  }
  Result<control::Settings> settings =
      control::LoadSettings(config::ProcessEnvironment(), access->default_namespace, Hostname());
  if (!settings.ok()) {
    std::fprintf(stderr, "anchor-events operator: %s\n", settings.error().message.c_str());
    return kExitBadConfig;
  }
  ops::LogLevel level = ops::LogLevel::kInfo;
  ops::ParseLogLevel(settings->log_level, &level);
  ops::SetLogLevel(level);

  kube::Client client(*access);
  control::OperatorMetrics metrics;
  control::LeaderElector leader(&client, *settings, &metrics);
  control::Controller controller(&client, *settings, &metrics, &leader);

  ops::ManagementHandlers handlers;
  handlers.metrics = [&metrics] { return metrics.Serialize(); };
  handlers.live = [&controller] { return controller.Live(); };
  handlers.ready = [&controller] { return controller.Ready(); };
  handlers.status = [&controller] { return controller.StatusJson(); };
  ops::ManagementServer server(settings->management_address, settings->management_port, handlers);
  if (Status status = server.Start(); !status.ok()) {
    ops::Log().Error("startup failed", {{"error", status.error().message}});
    return kExitFailed;
  }
  std::string watched;
  for (const std::string& ns : settings->watch_namespaces) {
    watched += (watched.empty() ? "" : ",") + ns;
  }
  ops::Log().Info("operator starting", {{"api_server", access->server},
                                        {"credentials", access->source},
                                        {"namespace", settings->ns},
                                        {"watch_namespaces", watched},
                                        {"configmap", settings->clients_configmap},
                                        {"identity", settings->identity},
                                        {"leader_election", settings->leader_election},
                                        {"management_port", server.port()}});

  std::thread election([&leader] { leader.Run(); });
  controller.Start();

  int sig = 0;
  while (sig != SIGTERM && sig != SIGINT) {
    sigwait(&signals, &sig);
  }
  ops::Log().Info("shutdown requested", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  controller.Stop();
  leader.Stop();
  election.join();
  server.Stop();
  ops::Log().Info("stopped");
  return kExitOk;
}

}  // namespace anchor_events::app
