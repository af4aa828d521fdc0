// TLS through libnats: certificates made at test time with the openssl command; a server
// certificate alone, then client certificates required and checked; plaintext clients
// refused; traffic (small and multi-record) over TLS; what /connz and /varz show.
#include <gtest/gtest.h>
#include <nats/nats.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "certificates.h"
#include "harness.h"

namespace tern::e2e {
namespace {

natsOptions* Secure(const Certificates& c, bool with_client_cert = false,
                    const std::string& cert = "", const std::string& key = "") {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetSecure(opts, true);
  natsOptions_LoadCATrustedCertificates(opts, c.ca.c_str());
  natsOptions_SetExpectedHostname(opts, "localhost");
  if (with_client_cert) {
    natsOptions_LoadCertificatesChain(opts, cert.empty() ? c.client_cert.c_str() : cert.c_str(),
                                      key.empty() ? c.client_key.c_str() : key.c_str());
  }
  return opts;
}

TEST(Tls, ServerCertificateCarriesTrafficAndRefusesPlaintext) {
  const Certificates certs;
  auto server = ServerProcess::Start(
      {"--tlscert", certs.server_cert, "--tlskey", certs.server_key, "-m", "-1"});
  RawConn raw(server->port());
  EXPECT_NE(raw.info().find("\"tls_required\":true"), std::string::npos) << raw.info();
  raw.Send("CONNECT {\"verbose\":false}\r\nPING\r\n");
  EXPECT_NE(raw.ReadUntil("TLS Required").find("-ERR 'Secure Connection - TLS Required'"),
            std::string::npos);

  natsOptions* plain = nullptr;
  natsOptions_Create(&plain);
  EXPECT_NE(TryConnect(*server, plain), NATS_OK);  // the client sees tls_required

  std::unique_ptr<NatsConn> sub_conn, pub_conn;
  ASSERT_EQ(TryConnect(*server, Secure(certs), &sub_conn), NATS_OK);
  ASSERT_EQ(TryConnect(*server, Secure(certs), &pub_conn), NATS_OK);
  natsSubscription* sub = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&sub, sub_conn->nc, "secure.>"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(sub_conn->nc), NATS_OK);
  const std::string big(200 * 1024, 'z');  // many TLS records
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(natsConnection_PublishString(pub_conn->nc, "secure.small", "hello"), NATS_OK);
  }
  ASSERT_EQ(
      natsConnection_Publish(pub_conn->nc, "secure.big", big.data(), static_cast<int>(big.size())),
      NATS_OK);
  ASSERT_EQ(natsConnection_Flush(pub_conn->nc), NATS_OK);
  for (int i = 0; i < 50; ++i) {
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 3000), NATS_OK) << i;
    EXPECT_EQ(Payload(msg), "hello");
    natsMsg_Destroy(msg);
  }
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, sub, 3000), NATS_OK);
  EXPECT_EQ(Payload(msg), big);
  natsMsg_Destroy(msg);
  // Request/reply over TLS.
  natsMsg* reply = nullptr;
  EXPECT_EQ(natsConnection_RequestString(&reply, pub_conn->nc, "nobody.home", "x", 1000),
            NATS_NO_RESPONDERS);
  natsSubscription_Destroy(sub);

  const auto connz = nlohmann::json::parse(HttpGet(server->monitor_port(), "/connz").body);
  ASSERT_EQ(connz["connections"].size(), 2u);
  EXPECT_EQ(connz["connections"][0]["tls_version"], "TLSv1.3");
  EXPECT_FALSE(connz["connections"][0]["tls_cipher_suite"].get<std::string>().empty());
  EXPECT_EQ(nlohmann::json::parse(HttpGet(server->monitor_port(), "/varz").body)["tls_required"],
            true);
}

TEST(Tls, VerifyRequiresAClientCertificateTheCaSigned) {
  const Certificates certs;
  auto server = ServerProcess::Start(
      {"-c", WriteConfig("tls {\n  cert_file: \"" + certs.server_cert + "\"\n  key_file: \"" +
                         certs.server_key + "\"\n  ca_file: \"" + certs.ca +
                         "\"\n  verify: true\n  timeout: 1\n}\n")});
  RawConn raw(server->port());
  EXPECT_NE(raw.info().find("\"tls_verify\":true"), std::string::npos) << raw.info();
  EXPECT_NE(TryConnect(*server, Secure(certs)), NATS_OK);  // no client certificate
  EXPECT_NE(TryConnect(*server, Secure(certs, true, certs.stranger_cert, certs.stranger_key)),
            NATS_OK);  // self-signed, not by the CA
  std::unique_ptr<NatsConn> conn;
  ASSERT_EQ(TryConnect(*server, Secure(certs, true), &conn), NATS_OK);
  EXPECT_EQ(natsConnection_Flush(conn->nc), NATS_OK);
  EXPECT_NE(server->Log().find("TLS handshake error"), std::string::npos) << server->Log();
}

// A client certificate the fixture's CA signs, with `san` as its subjectAltName extension
// (may be empty); returns {cert, key}.
std::pair<std::string, std::string> SignedClientCert(const Certificates& c, const std::string& name,
                                                     const std::string& subject,
                                                     const std::string& san) {
  const std::string base = c.dir + "/" + name;
  std::string script = "cd " + c.dir +
                       " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                       " -subj '" +
                       subject + "' -keyout " + base + ".key -out " + base + ".csr";
  std::string ext;
  if (!san.empty()) {
    script += " && printf 'subjectAltName=" + san + "\\n' > " + base + ".ext";
    ext = " -extfile " + base + ".ext";
  }
  script += " && openssl x509 -req -in " + base + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial" +
            " -days 2" + ext + " -out " + base + ".pem";
  EXPECT_EQ(std::system((script + " >/dev/null 2>&1").c_str()), 0) << script;
  return {base + ".pem", base + ".key"};
}

TEST(Tls, VerifyAndMapNamesTheUserByItsCertificate) {
  const Certificates certs;
  const auto service = SignedClientCert(certs, "svc", "/CN=svc", "email:svc@example.com");
  const auto nobody = SignedClientCert(certs, "nobody", "/O=Elsewhere/CN=nobody", "");
  auto server = ServerProcess::Start(
      {"-m", "-1", "-c",
       WriteConfig("tls {\n  cert_file: \"" + certs.server_cert + "\"\n  key_file: \"" +
                   certs.server_key + "\"\n  ca_file: \"" + certs.ca +
                   "\"\n  verify_and_map: true\n  timeout: 1\n}\n"
                   "authorization { users: [\n  {user: \"CN=client\"}\n"
                   "  {user: \"svc@example.com\", permissions: {publish: \"svc.>\"}}\n] }\n")});
  std::unique_ptr<NatsConn> client, svc;
  ASSERT_EQ(TryConnect(*server, Secure(certs, true), &client), NATS_OK);  // by its subject
  ASSERT_EQ(TryConnect(*server, Secure(certs, true, service.first, service.second), &svc),
            NATS_OK);  // by its e-mail name
  EXPECT_NE(TryConnect(*server, Secure(certs, true, nobody.first, nobody.second)), NATS_OK);
  EXPECT_NE(TryConnect(*server, Secure(certs)), NATS_OK);  // no certificate at all
  // The mapped user's permissions apply.
  natsSubscription* all = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&all, client->nc, ">"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(client->nc), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(svc->nc, "other.thing", "no"), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(svc->nc, "svc.ok", "yes"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(svc->nc), NATS_OK);
  natsMsg* msg = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&msg, all, 2000), NATS_OK);
  EXPECT_STREQ(natsMsg_GetSubject(msg), "svc.ok");
  natsMsg_Destroy(msg);
  natsSubscription_Destroy(all);
  const auto connz = nlohmann::json::parse(HttpGet(server->monitor_port(), "/connz").body);
  std::vector<std::string> users;
  for (const auto& c : connz["connections"]) users.push_back(c.value("authorized_user", ""));
  EXPECT_EQ(users, (std::vector<std::string>{"CN=client", "svc@example.com"})) << connz.dump();
  EXPECT_NE(server->Log().find("no user matches the client certificate"), std::string::npos);
  // Without users to map to, the setting is refused.
  const auto [code, output] = RunServerOnce(
      "-t -c " + WriteConfig("tls { cert_file: \"" + certs.server_cert + "\", key_file: \"" +
                             certs.server_key + "\", ca_file: \"" + certs.ca +
                             "\", verify_and_map: true }\n"));
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("verify_and_map needs users"), std::string::npos) << output;
}

TEST(Tls, HandshakeTimeoutAndBadConfiguration) {
  const Certificates certs;
  auto server = ServerProcess::Start(
      {"-c", WriteConfig("tls { cert_file: \"" + certs.server_cert + "\", key_file: \"" +
                         certs.server_key + "\", timeout: 0.5 }\n")});
  RawConn silent(server->port());  // reads INFO, then never starts the handshake
  silent.ReadFor(1500);
  EXPECT_TRUE(silent.closed());
  for (const std::string& conf :
       {"tls { cert_file: \"/nonexistent.pem\", key_file: \"" + certs.server_key + "\" }\n",
        "tls { cert_file: \"" + certs.server_cert + "\", key_file: \"" + certs.client_key +
            "\" }\n",  // a key that does not match the certificate
        "tls { cert_file: \"" + certs.server_cert + "\" }\n",
        "tls { cert_file: \"" + certs.server_cert + "\", key_file: \"" + certs.server_key +
            "\", verify: true }\n",
        "tls { cert_file: \"" + certs.server_cert + "\", key_file: \"" + certs.server_key +
            "\", verify_and_map: true }\n"}) {
    const auto [code, output] = RunServerOnce("-t -c " + WriteConfig(conf));
    EXPECT_NE(code, 0) << conf << output;
    EXPECT_NE(output.find("tern-server: "), std::string::npos) << output;
  }
}

}  // namespace
}  // namespace tern::e2e
