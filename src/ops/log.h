// JSON-lines logging with fixed field names (SPEC §9). A Logger carries context fields attached
// once (lane, partition, ...) and adds them to every line it writes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace anchor_events::ops {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// One field value. Strings are escaped on output; never pass secrets, signatures or bodies.
using FieldValue = std::variant<std::string, int64_t, double, bool>;
struct Field {
  std::string_view name;
  FieldValue value;

  Field(std::string_view n, std::string v) : name(n), value(std::move(v)) {}
  Field(std::string_view n, std::string_view v) : name(n), value(std::string(v)) {}
  Field(std::string_view n, const char* v) : name(n), value(std::string(v)) {}
  Field(std::string_view n, int v) : name(n), value(int64_t{v}) {}
  Field(std::string_view n, int64_t v) : name(n), value(v) {}
  Field(std::string_view n, uint64_t v) : name(n), value(static_cast<int64_t>(v)) {}
  Field(std::string_view n, double v) : name(n), value(v) {}
  Field(std::string_view n, bool v) : name(n), value(v) {}
};

// Thread-safe. Copies are cheap enough for per-lane and per-partition scopes, not per event.
class Logger {
 public:
  Logger() = default;

  // A logger that adds `fields` to every line, after this logger's own.
  Logger With(std::initializer_list<Field> fields) const;

  void Log(LogLevel level, std::string_view message,
           std::initializer_list<Field> fields = {}) const;
  void Debug(std::string_view message, std::initializer_list<Field> fields = {}) const {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(std::string_view message, std::initializer_list<Field> fields = {}) const {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warn(std::string_view message, std::initializer_list<Field> fields = {}) const {
    Log(LogLevel::kWarn, message, fields);
  }
  void Error(std::string_view message, std::initializer_list<Field> fields = {}) const {
    Log(LogLevel::kError, message, fields);
  }
  bool Enabled(LogLevel level) const;

 private:
  std::string context_;  // pre-rendered ,"name":value pairs
};

// The process logger. Lines go to stdout (or the sink set for tests).
Logger& Log();
void SetLogLevel(LogLevel level);
bool ParseLogLevel(std::string_view text, LogLevel* level);
// Redirects output (tests); nullptr restores stdout. The sink is called under a lock.
void SetLogSink(void (*sink)(std::string_view line, void* context), void* context);

// Lets at most one event through per interval and counts what it suppressed, for warnings
// that could fire per event. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(std::chrono::milliseconds interval) : interval_(interval) {}
  // True when the caller should log now; `suppressed` receives how many were held back since.
  bool Allow(int64_t* suppressed);

 private:
  std::chrono::milliseconds interval_;
  std::atomic<int64_t> next_allowed_ns_{0};
  std::atomic<int64_t> suppressed_{0};
};

// Appends `text` to `out` as the inside of a JSON string literal.
void AppendJsonEscaped(std::string* out, std::string_view text);

}  // namespace anchor_events::ops
