// Writes records to the dead-letter topic (SPEC §6.4) without blocking the caller: the outcome
// comes back through a callback once the broker has acknowledged the write (acks=all).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "config/config.h"
#include "kafka/producer.h"

namespace anchor_events::kafka {

// The original record and why it could not be delivered.
struct DeadLetter {
  std::string lane;
  std::string reason;  // poison reason, "rejected" or "exhausted"
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> original_headers;
  std::string source_topic;
  int32_t source_partition = 0;
  int64_t source_offset = 0;
  std::string event_id;
  int attempts = 0;
  long last_status = 0;
  std::string last_error;
  std::string first_attempt_at;  // ISO-8601, empty when never attempted
  std::string last_attempt_at;
};

// Names of the headers added to a dead letter, after the record's own headers.
namespace dead_letter_header {
inline constexpr const char* kLane = "anchor-events-lane";
inline constexpr const char* kReason = "anchor-events-reason";
inline constexpr const char* kAttempts = "anchor-events-attempts";
inline constexpr const char* kLastStatus = "anchor-events-last-status";
inline constexpr const char* kLastError = "anchor-events-last-error";
inline constexpr const char* kFirstAttemptAt = "anchor-events-first-attempt-at";
inline constexpr const char* kLastAttemptAt = "anchor-events-last-attempt-at";
inline constexpr const char* kSourceTopic = "anchor-events-source-topic";
inline constexpr const char* kSourcePartition = "anchor-events-source-partition";
inline constexpr const char* kSourceOffset = "anchor-events-source-offset";
inline constexpr const char* kEventId = "anchor-events-event-id";
}  // namespace dead_letter_header

// Thread-safe. Owns one producer and a thread serving its delivery reports.
class DeadLetterWriter {
 public:
  using Done = std::function<void(Status)>;

  static Result<std::unique_ptr<DeadLetterWriter>> Create(const config::KafkaConfig& kafka);
  ~DeadLetterWriter();

  // Queues the write; `done` runs on the writer's thread with the broker's answer. Never
  // blocks on the broker.
  void Write(const DeadLetter& letter, Done done);
  const std::string& topic() const { return topic_; }

 private:
  DeadLetterWriter() = default;
  void Serve();

  std::unique_ptr<Producer> producer_;
  std::string topic_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace anchor_events::kafka
