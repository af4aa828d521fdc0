// libFuzzer target: config text (the nats-server configuration language) through the
// parser, every setting's reader (options, authorization, tls, jetstream) and the
// authorization block reader. Errors are fine; crashes, UB and hangs are not.
#include <cstdint>
#include <string>

#include "core/auth/auth_config.h"
#include "core/conf.h"
#include "core/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tern::core::ConfValue root;
  std::string error;
  if (!tern::core::ParseConfText(text, "fuzz.conf", &root, &error)) return 0;
  (void)tern::core::ConfText(root);
  if (const tern::core::ConfValue* block = root.Find("authorization")) {
    tern::core::auth::AuthConfig config;
    if (tern::core::auth::ParseAuthorization(*block, &config, &error)) {
      (void)tern::core::auth::ValidateAuth(&config, &error);
    }
  }
  tern::core::ServerOptions options;
  (void)tern::core::LoadConfigText(text, "fuzz.conf", &options, &error);
  return 0;
}
