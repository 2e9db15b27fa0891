// librdkafka configuration shared by the service's consumers and producers (SPEC §7.2).
#pragma once

#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>

#include "base/result.h"
#include "config/config.h"

namespace anchor_events::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// Connection, security and pass-through properties from the configuration. The raw
// `properties` map is applied last, so an operator can override anything.
Result<ConfPtr> BaseConf(const config::KafkaConfig& kafka);

// Sets one property; the error names the property but never its value (it may be a secret).
Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);

}  // namespace anchor_events::kafka
