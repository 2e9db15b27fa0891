// A small command-line parser: "--name value" options and "--flag" switches.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"

namespace anchor_events::app {

class Args {
 public:
  // `options` take a value, `flags` do not; anything else is an error.
  static Result<Args> Parse(const std::vector<std::string>& argv,
                            const std::set<std::string>& options,
                            const std::set<std::string>& flags = {});

  std::optional<std::string> Get(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace anchor_events::app
