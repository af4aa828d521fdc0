#pragma once
// Process-wide logger in nats-server's format: "[pid] date time [LVL] text". Safe from any
// thread (a mutex; logging is never on the message path).
#include <string>

namespace tern::core {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kFatal };

// Where and how much to log. An empty path logs to stderr.
bool ConfigureLog(const std::string& path, bool debug, bool trace, std::string* error);
// Reopens the log file (log rotation).
void ReopenLog();
bool LogEnabled(LogLevel level);
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace tern::core

#define TERN_LOG(level, ...)                                                    \
  do {                                                                          \
    if (::tern::core::LogEnabled(level)) ::tern::core::Log(level, __VA_ARGS__); \
  } while (0)
#define LOG_INFO(...) TERN_LOG(::tern::core::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) TERN_LOG(::tern::core::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) TERN_LOG(::tern::core::LogLevel::kError, __VA_ARGS__)
#define LOG_DEBUG(...) TERN_LOG(::tern::core::LogLevel::kDebug, __VA_ARGS__)
#define LOG_TRACE(...) TERN_LOG(::tern::core::LogLevel::kTrace, __VA_ARGS__)
