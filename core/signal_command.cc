#include "core/signal_command.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace tern::core {
namespace {

bool SignalFor(const std::string& command, int* sig) {
  static const std::pair<const char*, int> kCommands[] = {{"stop", SIGKILL},  {"quit", SIGINT},
                                                          {"term", SIGTERM},  {"reopen", SIGUSR1},
                                                          {"reload", SIGHUP}, {"ldm", SIGUSR2}};
  for (const auto& [name, value] : kCommands) {
    if (command == name) {
      *sig = value;
      return true;
    }
  }
  return false;
}

bool ParsePid(const std::string& text, pid_t* pid) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return false;
  *pid = static_cast<pid_t>(std::stol(text));
  return *pid > 0;
}

bool ReadPidFile(const std::string& path, pid_t* pid, std::string* error) {
  std::ifstream in(path);
  std::string text;
  if (!in || !(in >> text) || !ParsePid(text, pid)) {
    *error = "cannot read a pid from " + path;
    return false;
  }
  return true;
}

// Running processes whose command name is `name`, other than this one.
std::vector<pid_t> FindByName(const std::string& name) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* entry = readdir(proc)) {
    pid_t pid;
    if (!ParsePid(entry->d_name, &pid) || pid == getpid()) continue;
    std::ifstream comm(std::string("/proc/") + entry->d_name + "/comm");
    std::string command;
    // The kernel keeps 15 characters of the name.
    if (std::getline(comm, command) && command == name.substr(0, 15)) found.push_back(pid);
  }
  closedir(proc);
  return found;
}

}  // namespace

bool SendSignalCommand(const std::string& spec, const std::string& pid_file,
                       const std::string& program, std::string* error) {
  const auto eq = spec.find('=');
  const std::string command = spec.substr(0, eq);
  const std::string target = eq == std::string::npos ? "" : spec.substr(eq + 1);
  int sig;
  if (!SignalFor(command, &sig)) {
    *error = "unknown signal \"" + command + "\" (stop, quit, term, reopen, reload or ldm)";
    return false;
  }
  pid_t pid = 0;
  if (!target.empty()) {
    if (!ParsePid(target, &pid) && !ReadPidFile(target, &pid, error)) return false;
  } else if (!pid_file.empty()) {
    if (!ReadPidFile(pid_file, &pid, error)) return false;
  } else {
    const auto slash = program.rfind('/');
    const std::string name = slash == std::string::npos ? program : program.substr(slash + 1);
    const std::vector<pid_t> found = FindByName(name);
    if (found.empty()) {
      *error = "no " + name + " process is running";
      return false;
    }
    if (found.size() > 1) {
      *error = "multiple " + name + " processes are running; name one with --signal " + command +
               "=PID:";
      for (pid_t p : found) *error += " " + std::to_string(p);
      return false;
    }
    pid = found[0];
  }
  if (kill(pid, sig) != 0) {
    *error = "signal \"" + command + "\" to " + std::to_string(pid) + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace tern::core
