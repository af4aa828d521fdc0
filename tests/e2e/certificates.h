#pragma once
// Test certificates made with the openssl command (TLS clients and TLS routes).
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "harness.h"

namespace tern::e2e {

// A CA, a server certificate for localhost/127.0.0.1, and a client certificate, in a
// directory removed at exit.
struct Certificates {
  std::string dir;
  std::string ca, server_cert, server_key, client_cert, client_key, stranger_cert, stranger_key;
  Certificates() {
    const std::string conf = WriteConfig("");
    dir = conf.substr(0, conf.rfind('/'));
    const std::string d = dir + "/";
    ca = d + "ca.pem";
    server_cert = d + "server.pem";
    server_key = d + "server.key";
    client_cert = d + "client.pem";
    client_key = d + "client.key";
    stranger_cert = d + "stranger.pem";
    stranger_key = d + "stranger.key";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "cd " + dir + " && openssl req -x509" + ec +
        " -days 2 -subj '/CN=Tern Test CA' -keyout ca.key -out ca.pem"
        " && openssl req" +
        ec +
        " -subj '/CN=localhost' -keyout server.key -out server.csr"
        " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -extfile san.ext -out server.pem"
        " && openssl req" +
        ec +
        " -subj '/CN=client' -keyout client.key -out client.csr"
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
        " -out client.pem"
        " && openssl req -x509" +
        ec + " -days 2 -subj '/CN=stranger' -keyout stranger.key -out stranger.pem";
    if (std::system((script + " >/dev/null 2>&1").c_str()) != 0) {
      throw std::runtime_error("openssl could not make the test certificates");
    }
  }
};

}  // namespace tern::e2e
