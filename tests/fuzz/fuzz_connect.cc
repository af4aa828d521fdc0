// libFuzzer target: a CONNECT line as a hostile client would send it, through the JSON
// parse and authentication against users with passwords, a bcrypt-less token and an nkey.
// Must never crash, and never let in anyone without the right credentials.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/auth/authenticator.h"
#include "core/auth/nkeys.h"

namespace {

using namespace tern::core::auth;

std::string Field(const nlohmann::json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const AuthConfig& Users() {
  static const AuthConfig config = [] {
    AuthConfig c;
    c.users.push_back(User{"alice", "pw", "", nullptr});
    const std::string nkey = EncodePublicKey(std::string(32, '\x07'), KeyRole::kUser);
    c.users.push_back(User{nkey, "", nkey, std::make_shared<Permissions>()});
    return c;
  }();
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json connect = nlohmann::json::parse(text, nullptr, false);
  if (connect.is_discarded() || !connect.is_object()) return 0;
  Credentials c{Field(connect, "auth_token"),
                Field(connect, "user"),
                Field(connect, "pass"),
                Field(connect, "nkey"),
                Field(connect, "sig"),
                Field(connect, "jwt"),
                "127.0.0.1"};
  const AuthResult users = Authenticate(Users(), c, "nonce-nonce-123");
  if (users.ok && !(c.user == "alice" && c.pass == "pw" && c.nkey.empty() && c.jwt.empty())) {
    std::abort();  // in without alice's password: a hole
  }
  AuthConfig token;
  token.token = "s3cr3t";
  if (Authenticate(token, c, "").ok && c.auth_token != "s3cr3t") std::abort();
  std::string raw;
  (void)DecodePublicKey(c.nkey, KeyRole::kUser, &raw);
  (void)DecodeBase64Any(c.sig, &raw);
  return 0;
}
