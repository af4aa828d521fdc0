#include "core/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>

#include "absl/base/thread_annotations.h"
#include "base/mutex.h"

namespace tern::core {
namespace {

base::Mutex g_mutex;
FILE* g_out ABSL_GUARDED_BY(g_mutex) = nullptr;  // nullptr = stderr
std::string g_path ABSL_GUARDED_BY(g_mutex);
std::atomic<LogLevel> g_min{LogLevel::kInfo};  // read without the mutex; reload changes it

const char* Tag(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "TRC";
    case LogLevel::kDebug:
      return "DBG";
    case LogLevel::kInfo:
      return "INF";
    case LogLevel::kWarn:
      return "WRN";
    case LogLevel::kError:
      return "ERR";
    case LogLevel::kFatal:
      return "FTL";
  }
  return "???";
}

}  // namespace

bool ConfigureLog(const std::string& path, bool debug, bool trace, std::string* error) {
  base::MutexLock lock(&g_mutex);
  g_min.store(trace   ? LogLevel::kTrace
              : debug ? LogLevel::kDebug
                      : LogLevel::kInfo,
              std::memory_order_relaxed);
  if (path == g_path) return true;
  if (path.empty()) {  // back to stderr
    if (g_out != nullptr) std::fclose(g_out);
    g_out = nullptr;
    g_path.clear();
    return true;
  }
  FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    *error = "cannot open log file " + path;
    return false;
  }
  if (g_out != nullptr) std::fclose(g_out);
  g_out = f;
  g_path = path;
  return true;
}

void ReopenLog() {
  base::MutexLock lock(&g_mutex);
  if (g_path.empty()) return;
  if (FILE* f = std::fopen(g_path.c_str(), "a")) {
    std::fclose(g_out);
    g_out = f;
  }
}

bool LogEnabled(LogLevel level) { return level >= g_min.load(std::memory_order_relaxed); }

void Log(LogLevel level, const char* format, ...) {
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm local;
  localtime_r(&tv.tv_sec, &local);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &local);
  char text[2048];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  base::MutexLock lock(&g_mutex);
  FILE* out = g_out != nullptr ? g_out : stderr;
  std::fprintf(out, "[%d] %s.%06ld [%s] %s\n", static_cast<int>(getpid()), stamp,
               static_cast<long>(tv.tv_usec), Tag(level), text);
  std::fflush(out);
}

}  // namespace tern::core
