// The subcommands of the anchor-events binary. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace anchor_events::app {

using Argv = std::vector<std::string>;

int RunCommand(const Argv& args);          // the service
int CheckConfigCommand(const Argv& args);  // validate only
int SignCommand(const Argv& args);         // print a Signature header
int VerifyCommand(const Argv& args);       // check a Signature header
int DemoCommand(const Argv& args);         // embedded broker, receivers and sample events
int ReplayCommand(const Argv& args);       // re-deliver dead-lettered events of one lane
int OperatorCommand(const Argv& args);     // CallbackClient resources to the clients ConfigMap

// Exit codes shared by the commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBadConfig = 3;

}  // namespace anchor_events::app
