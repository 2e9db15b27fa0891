#include "app/args.h"

namespace anchor_events::app {

Result<Args> Args::Parse(const std::vector<std::string>& argv, const std::set<std::string>& options,
                         const std::set<std::string>& flags) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) {
      return Error{"unexpected argument '" + name + "'"};
    }
    name = name.substr(2);
    if (size_t eq = name.find('='); eq != std::string::npos) {
      std::string value = name.substr(eq + 1);
      name = name.substr(0, eq);
      if (!options.count(name)) {
        return Error{"unknown option --" + name};
      }
      args.values_[name] = value;
    } else if (flags.count(name)) {
      args.values_[name] = "";
    } else if (options.count(name)) {
      if (i + 1 >= argv.size()) {
        return Error{"option --" + name + " needs a value"};
      }
      args.values_[name] = argv[++i];
    } else {
      return Error{"unknown option --" + name};
    }
  }
  return args;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace anchor_events::app
