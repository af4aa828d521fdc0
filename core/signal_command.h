#pragma once
// `tern-server --signal CMD[=PID|=PIDFILE]`: sends a running server the signal for CMD,
// as nats-server does (stop=SIGKILL, quit=SIGINT, term=SIGTERM, reopen=SIGUSR1,
// reload=SIGHUP, ldm=SIGUSR2). Without a pid, the pid file from -P or the config is
// used, else the one running process with this program's name. Runs in the main thread
// of a short-lived process; no server is started.
#include <string>

namespace tern::core {

// Returns true on success; false with *error saying why (unknown command, no such
// process, several candidates, kill failed).
bool SendSignalCommand(const std::string& spec, const std::string& pid_file,
                       const std::string& program, std::string* error);

}  // namespace tern::core
