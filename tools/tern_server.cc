// tern-server: a NATS-protocol message broker. Flags follow nats-server's.
#include <cstdio>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/server.h"

int main(int argc, char** argv) {
  tern::core::ServerOptions options;
  std::string error;
  switch (tern::core::ParseCommandLine(argc, argv, &options, &error)) {
    case tern::core::ParseResult::kExitOk:
      return 0;
    case tern::core::ParseResult::kExitError:
      std::fprintf(stderr, "tern-server: %s\n", error.c_str());
      std::fprintf(stderr, "Try 'tern-server --help' for the flags.\n");
      return 2;
    case tern::core::ParseResult::kRun:
      break;
  }
  tern::core::Server server(std::move(options), argv[0],
                            std::vector<std::string>(argv, argv + argc));
  return server.Run();
}
