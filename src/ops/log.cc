#include "ops/log.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace anchor_events::ops {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_sink_mutex;
void (*g_sink)(std::string_view, void*) = nullptr;
void* g_sink_context = nullptr;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendValue(std::string* out, const FieldValue& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    out->push_back('"');
    AppendJsonEscaped(out, *s);
    out->push_back('"');
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    out->append(std::to_string(*i));
  } else if (const auto* d = std::get_if<double>(&value)) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.3f", std::isfinite(*d) ? *d : 0.0);
    out->append(buffer);
  } else {
    out->append(std::get<bool>(value) ? "true" : "false");
  }
}

void AppendFields(std::string* out, std::initializer_list<Field> fields) {
  for (const Field& field : fields) {
    out->append(",\"");
    AppendJsonEscaped(out, field.name);
    out->append("\":");
    AppendValue(out, field.value);
  }
}

void AppendTimestamp(std::string* out) {
  auto now = std::chrono::system_clock::now();
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis % 1000));
  out->append(buffer);
}

}  // namespace

void AppendJsonEscaped(std::string* out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", static_cast<unsigned char>(c));
          out->append(buffer);
        } else {
          out->push_back(c);
        }
    }
  }
}

Logger Logger::With(std::initializer_list<Field> fields) const {
  Logger child = *this;
  AppendFields(&child.context_, fields);
  return child;
}

bool Logger::Enabled(LogLevel level) const {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void Logger::Log(LogLevel level, std::string_view message,
                 std::initializer_list<Field> fields) const {
  if (!Enabled(level)) {
    return;
  }
  std::string line;
  line.reserve(128 + context_.size());
  line.append("{\"ts\":\"");
  AppendTimestamp(&line);
  line.append("\",\"level\":\"");
  line.append(LevelName(level));
  line.append("\",\"msg\":\"");
  AppendJsonEscaped(&line, message);
  line.push_back('"');
  line.append(context_);
  AppendFields(&line, fields);
  line.append("}\n");

  std::lock_guard<std::mutex> lock(g_sink_mutex);
  if (g_sink != nullptr) {
    g_sink(line, g_sink_context);
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

Logger& Log() {
  static Logger logger;
  return logger;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  for (LogLevel candidate :
       {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LevelName(candidate)) {
      *level = candidate;
      return true;
    }
  }
  return false;
}

void SetLogSink(void (*sink)(std::string_view, void*), void* context) {
  std::lock_guard<std::mutex> lock(g_sink_mutex);
  g_sink = sink;
  g_sink_context = context;
}

bool RateLimiter::Allow(int64_t* suppressed) {
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t next = next_allowed_ns_.load(std::memory_order_relaxed);
  if (now < next || !next_allowed_ns_.compare_exchange_strong(
                        next, now + std::chrono::nanoseconds(interval_).count())) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  *suppressed = suppressed_.exchange(0);
  return true;
}

}  // namespace anchor_events::ops
