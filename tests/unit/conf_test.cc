// The configuration language and the command line.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "core/conf.h"
#include "core/options.h"
#include "core/units.h"

namespace tern::core {
namespace {

TEST(Conf, SizesAreDecimalWithoutBAndBinaryWithIt) {
  int64_t size = 0;
  ASSERT_TRUE(ParseSize("1KB", &size));
  EXPECT_EQ(size, 1024);
  ASSERT_TRUE(ParseSize("1k", &size));
  EXPECT_EQ(size, 1000);
  ASSERT_TRUE(ParseSize("2gb", &size));
  EXPECT_EQ(size, int64_t{2} << 30);
  ASSERT_TRUE(ParseSize("512MiB", &size));
  EXPECT_EQ(size, int64_t{512} << 20);
  ASSERT_TRUE(ParseSize("1000000", &size));
  EXPECT_EQ(size, 1000000);
  EXPECT_FALSE(ParseSize("lots", &size));
  EXPECT_FALSE(ParseSize("1XB", &size));
  EXPECT_FALSE(ParseSize("", &size));
  EXPECT_FALSE(ParseSize("99999999999TB", &size));  // overflows
}

TEST(Conf, SeparatorsCommentsAndTypes) {
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfText(R"(
    # comment
    port: 4333
    server_name = "alpha one"   // trailing comment
    debug true
    max_payload: 2MB
    max_pending 10k
    ratio: 0.5
    ping_interval: "30s"
    write_deadline: 5s
    jetstream {
      store_dir: '/tmp/js'
    }
    list: [1, 2, "three"]
  )",
                            "t.conf", &root, &error))
      << error;
  EXPECT_EQ(root.Find("port")->integer, 4333);
  EXPECT_EQ(root.Find("server_name")->text, "alpha one");
  EXPECT_TRUE(root.Find("debug")->boolean);
  EXPECT_EQ(root.Find("max_payload")->integer, 2 << 20);
  EXPECT_EQ(root.Find("max_pending")->integer, 10000);
  EXPECT_DOUBLE_EQ(root.Find("ratio")->number, 0.5);
  EXPECT_EQ(root.Find("write_deadline")->text, "5s");
  EXPECT_EQ(root.Find("jetstream")->Find("store_dir")->text, "/tmp/js");
  ASSERT_EQ(root.Find("list")->array.size(), 3u);
  EXPECT_EQ(root.Find("list")->array[2].text, "three");
}

TEST(Conf, VariablesFromFileAndEnvironment) {
  setenv("TERN_TEST_PORT", "4999", 1);
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfText("NAME: \"n1\"\nserver_name: $NAME\nport: $TERN_TEST_PORT\n", "v.conf",
                            &root, &error))
      << error;
  EXPECT_EQ(root.Find("server_name")->text, "n1");
  EXPECT_EQ(root.Find("port")->integer, 4999);
  EXPECT_FALSE(ParseConfText("port: $NOPE_NOT_SET\n", "v.conf", &root, &error));
  EXPECT_NE(error.find("v.conf:1:"), std::string::npos) << error;
}

TEST(Conf, ErrorsNameFileLineAndColumn) {
  ConfValue root;
  std::string error;
  EXPECT_FALSE(ParseConfText("port: 1\nblock {\n  a: 1\n", "bad.conf", &root, &error));
  EXPECT_NE(error.find("bad.conf:"), std::string::npos) << error;
  EXPECT_NE(error.find("missing '}'"), std::string::npos) << error;
  EXPECT_FALSE(ParseConfText("name: \"open\n", "q.conf", &root, &error));
  EXPECT_NE(error.find("q.conf:1:"), std::string::npos) << error;
}

TEST(Conf, Include) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/inc.conf") << "max_payload: 4kb\n";
  std::ofstream(dir + "/main.conf") << "port: 1234\ninclude inc.conf\n";
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfFile(dir + "/main.conf", &root, &error)) << error;
  EXPECT_EQ(root.Find("max_payload")->integer, 4096);
}

TEST(Conf, QuotingEscapesAndKeyForms) {
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfText(R"(
    "quoted key": 1
    'single': 'raw \n stays'
    escaped: "tab\there \"q\""
    spaced   value with spaces
    url: nats://host:4222
    hash_in_string: "a # not a comment"
  )",
                            "q.conf", &root, &error))
      << error;
  EXPECT_EQ(root.Find("quoted key")->integer, 1);
  EXPECT_EQ(root.Find("single")->text, "raw \\n stays");
  EXPECT_EQ(root.Find("escaped")->text, "tab\there \"q\"");
  EXPECT_EQ(root.Find("spaced")->text, "value with spaces");
  EXPECT_EQ(root.Find("url")->text, "nats://host:4222");
  EXPECT_EQ(root.Find("hash_in_string")->text, "a # not a comment");
}

TEST(Conf, NestedBlocksArraysAndScopes) {
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfText(R"(
    LIMIT: 5MB
    outer {
      INNER: "deep"
      middle = {
        value: $INNER       # from the enclosing block
        size: $LIMIT        # from the top
        list [
          { name: a }
          { name: b, tags: [x, "y"] }
        ]
      }
    }
  )",
                            "n.conf", &root, &error))
      << error;
  const ConfValue* middle = root.Find("outer")->Find("middle");
  ASSERT_NE(middle, nullptr);
  EXPECT_EQ(middle->Find("value")->text, "deep");
  EXPECT_EQ(middle->Find("size")->integer, 5 << 20);
  const ConfValue* list = middle->Find("list");
  ASSERT_EQ(list->array.size(), 2u);
  EXPECT_EQ(list->array[1].Find("name")->text, "b");
  EXPECT_EQ(list->array[1].Find("tags")->array.size(), 2u);
  // A block's variables are not visible outside it.
  EXPECT_FALSE(ParseConfText("b { X: 1 }\nv: $X\n", "s.conf", &root, &error));
}

TEST(Conf, SizeSuffixesAndBooleans) {
  ConfValue root;
  std::string error;
  ASSERT_TRUE(
      ParseConfText("a: 1k\nb: 1kb\nc: 2MB\nd: 3g\ne: 1GB\nf: 1K\n"
                    "t1: yes\nt2: on\nt3: TRUE\nf1: no\nf2: off\nf3: false\ns: \"true\"\n",
                    "z.conf", &root, &error))
      << error;
  EXPECT_EQ(root.Find("a")->integer, 1000);
  EXPECT_EQ(root.Find("b")->integer, 1024);
  EXPECT_EQ(root.Find("c")->integer, 2 << 20);
  EXPECT_EQ(root.Find("d")->integer, 3'000'000'000);
  EXPECT_EQ(root.Find("e")->integer, int64_t{1} << 30);
  EXPECT_EQ(root.Find("f")->integer, 1000);
  for (const char* key : {"t1", "t2", "t3"}) EXPECT_TRUE(root.Find(key)->boolean) << key;
  for (const char* key : {"f1", "f2", "f3"}) {
    EXPECT_EQ(root.Find(key)->type, ConfValue::Type::kBool) << key;
    EXPECT_FALSE(root.Find(key)->boolean) << key;
  }
  EXPECT_EQ(root.Find("s")->type, ConfValue::Type::kString);  // quoted: a string
}

TEST(Conf, JsonStyleFile) {
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfText("{\n  \"port\": 4333,\n  \"jetstream\": {\"store_dir\": \"/x\"}\n}\n",
                            "j.conf", &root, &error))
      << error;
  EXPECT_EQ(root.Find("port")->integer, 4333);
  EXPECT_EQ(root.Find("jetstream")->Find("store_dir")->text, "/x");
  EXPECT_FALSE(ParseConfText("{ port: 1 } extra: 2\n", "j.conf", &root, &error));
}

TEST(Conf, IncludesNestRelativeToTheIncludingFileAndReportTheirOwnPositions) {
  const std::string dir = ::testing::TempDir() + "/incl";
  std::system(("mkdir -p " + dir + "/sub").c_str());
  std::ofstream(dir + "/sub/leaf.conf") << "max_pending: 2MB\n";
  std::ofstream(dir + "/sub/mid.conf") << "include leaf.conf\nmax_payload: 8kb\n";
  std::ofstream(dir + "/top.conf") << "include 'sub/mid.conf'\nport: 1\n";
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfFile(dir + "/top.conf", &root, &error)) << error;
  EXPECT_EQ(root.Find("max_pending")->integer, 2 << 20);
  EXPECT_EQ(root.Find("max_payload")->integer, 8192);
  std::ofstream(dir + "/sub/leaf.conf") << "ok: 1\n  broken: [1, 2\n";
  EXPECT_FALSE(ParseConfFile(dir + "/top.conf", &root, &error));
  EXPECT_NE(error.find("sub/leaf.conf:"), std::string::npos) << error;
  std::ofstream(dir + "/loop.conf") << "include loop.conf\n";
  EXPECT_FALSE(ParseConfFile(dir + "/loop.conf", &root, &error));
  EXPECT_NE(error.find("too deep"), std::string::npos) << error;
  EXPECT_FALSE(ParseConfText("include nowhere.conf\n", dir + "/x.conf", &root, &error));
  EXPECT_NE(error.find("nowhere.conf"), std::string::npos) << error;
}

TEST(Options, UnknownKeysAreErrorsWithPositionAndUnimplementedOnesWarnings) {
  const std::string path = ::testing::TempDir() + "/keys.conf";
  std::ofstream(path) << "port: 4222\n\n  prof_port: 6060\nping_interval: 30\n";
  ServerOptions o;
  std::string error;
  ASSERT_TRUE(LoadConfigFile(path, &o, &error)) << error;
  ASSERT_EQ(o.warnings.size(), 2u);
  EXPECT_NE(o.warnings[0].find(path + ":3:3: 'prof_port' is not implemented"), std::string::npos)
      << o.warnings[0];
  EXPECT_NE(o.warnings[1].find("read as 30 seconds"), std::string::npos) << o.warnings[1];
  EXPECT_EQ(o.ping_interval_ns, 30'000'000'000);
  std::ofstream(path) << "port: 4222\n  max_payloda: 1MB\n";
  EXPECT_FALSE(LoadConfigFile(path, &o, &error));
  EXPECT_NE(error.find(path + ":2:3: unknown configuration key 'max_payloda'"), std::string::npos)
      << error;
  std::ofstream(path) << "max_payload: lots\n";
  EXPECT_FALSE(LoadConfigFile(path, &o, &error));
  EXPECT_NE(error.find(":1:1: 'max_payload' expects a number"), std::string::npos) << error;
}

TEST(Options, ConfigKeysAndFlagsOverride) {
  const std::string path = ::testing::TempDir() + "/server.conf";
  std::ofstream(path) << "listen: 127.0.0.1:5222\nmax_payload: 64KB\nping_interval: \"2s\"\n"
                         "ping_max: 5\nwrite_deadline: \"3s\"\nmax_connections: 10\n"
                         "max_pending: 1MB\ntrace: true\ncluster { port: 6222 }\n";
  ServerOptions o;
  std::string error;
  const char* argv[] = {"tern-server", "-c", path.c_str(), "--port=6000", "-n", "x"};
  ASSERT_EQ(ParseCommandLine(6, argv, &o, &error), ParseResult::kRun) << error;
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 6000);  // the flag wins over the file
  EXPECT_EQ(o.server_name, "x");
  EXPECT_EQ(o.max_payload, 64 * 1024);
  EXPECT_EQ(o.ping_interval_ns, 2'000'000'000);
  EXPECT_EQ(o.ping_max, 5);
  EXPECT_EQ(o.write_deadline_ns, 3'000'000'000);
  EXPECT_EQ(o.max_connections, 10);
  EXPECT_EQ(o.max_pending, 1 << 20);
  EXPECT_TRUE(o.trace);
  EXPECT_TRUE(o.warnings.empty());
  EXPECT_TRUE(o.cluster.enabled);
  EXPECT_EQ(o.cluster.port, 6222);
}

TEST(Options, ClusterBlockAndFlags) {
  const std::string path = ::testing::TempDir() + "/cluster.conf";
  std::ofstream(path) << "cluster {\n  name: interop\n  listen: 127.0.0.1:16222\n"
                         "  routes: [nats-route://ruser:rpass@127.0.0.1:16223, nats://h:1]\n"
                         "  authorization { user: ruser, password: rpass, timeout: 0.5 }\n"
                         "  no_advertise: true\n  connect_retries: 3\n  pool_size: 3\n}\n";
  ServerOptions o;
  std::string error;
  const char* argv[] = {"tern-server", "-c", path.c_str()};
  ASSERT_EQ(ParseCommandLine(3, argv, &o, &error), ParseResult::kRun) << error;
  EXPECT_TRUE(o.cluster.enabled);
  EXPECT_EQ(o.cluster.name, "interop");
  EXPECT_EQ(o.cluster.host, "127.0.0.1");
  EXPECT_EQ(o.cluster.port, 16222);
  ASSERT_EQ(o.cluster.routes.size(), 2u);
  RouteUrl url;
  ASSERT_TRUE(ParseRouteUrl(o.cluster.routes[0], &url));
  EXPECT_EQ(url.user, "ruser");
  EXPECT_EQ(url.password, "rpass");
  EXPECT_EQ(url.port, 16223);
  EXPECT_EQ(o.cluster.user, "ruser");
  EXPECT_EQ(o.cluster.auth_timeout_ns, 500'000'000);
  EXPECT_TRUE(o.cluster.no_advertise);
  EXPECT_EQ(o.cluster.connect_retries, 3);
  ASSERT_EQ(o.warnings.size(), 1u);  // pool_size: 2.10's, ignored
  EXPECT_NE(o.warnings[0].find("pool_size"), std::string::npos);

  ServerOptions f;
  const char* flags[] = {"tern-server",
                         "--cluster",
                         "nats://0.0.0.0:7244",
                         "--routes",
                         "nats://a:1, nats://b:2",
                         "--cluster_name",
                         "C2",
                         "--no_advertise",
                         "--connect_retries",
                         "2"};
  ASSERT_EQ(ParseCommandLine(10, flags, &f, &error), ParseResult::kRun) << error;
  EXPECT_TRUE(f.cluster.enabled);
  EXPECT_EQ(f.cluster.port, 7244);
  EXPECT_EQ(f.cluster.routes, (std::vector<std::string>{"nats://a:1", "nats://b:2"}));
  EXPECT_EQ(f.cluster.name, "C2");
  EXPECT_TRUE(f.cluster.no_advertise);
  EXPECT_EQ(f.cluster.connect_retries, 2);

  for (const char* bad : {"cluster { routes: [\"nats://:\"] }", "cluster { tls { } }",
                          "cluster { bogus: 1 }", "cluster { name: \"a b\" }"}) {
    ServerOptions b;
    EXPECT_FALSE(LoadConfigText(bad, "t.conf", &b, &error)) << bad;
  }
  const char* bad_flag[] = {"tern-server", "--routes", "nats://host-without-port"};
  ServerOptions b;
  EXPECT_EQ(ParseCommandLine(3, bad_flag, &b, &error), ParseResult::kExitError);
}

TEST(Options, BadInputIsRefused) {
  auto parse = [](std::vector<const char*> args) {
    ServerOptions o;
    std::string error;
    args.insert(args.begin(), "tern-server");
    return ParseCommandLine(static_cast<int>(args.size()), args.data(), &o, &error);
  };
  EXPECT_EQ(parse({"--bogus"}), ParseResult::kExitError);
  EXPECT_EQ(parse({"-p"}), ParseResult::kExitError);
  EXPECT_EQ(parse({"-p", "notaport"}), ParseResult::kExitError);
  EXPECT_EQ(parse({"--tls"}), ParseResult::kExitError);  // never silently open
  EXPECT_EQ(parse({"--auth", "secret"}), ParseResult::kRun);
  EXPECT_EQ(parse({"--user", "alice"}), ParseResult::kExitError);  // without --pass
  EXPECT_EQ(parse({"--auth", "t", "--user", "a", "--pass", "b"}), ParseResult::kExitError);
  EXPECT_EQ(parse({"--shards", "0"}), ParseResult::kExitError);
  EXPECT_EQ(parse({"--io", "kqueue"}), ParseResult::kExitError);
  EXPECT_EQ(parse({"-DV", "-js", "-sd", "/tmp/x", "-m", "8222", "-p", "-1"}), ParseResult::kRun);

  const std::string path = ::testing::TempDir() + "/auth.conf";
  std::ofstream(path) << "accounts { A { users: [{user: a, password: b}] } }\n";
  EXPECT_EQ(parse({"-c", path.c_str()}), ParseResult::kRun);
  std::ofstream(path) << "accounts { A { imports: [{stream: {account: B, subject: x}}] } }\n";
  EXPECT_EQ(parse({"-c", path.c_str()}), ParseResult::kExitError);  // no account B
  const std::string unknown = ::testing::TempDir() + "/unknown.conf";
  std::ofstream(unknown) << "prot: 4222\n";
  EXPECT_EQ(parse({"-c", unknown.c_str()}), ParseResult::kExitError);
}

TEST(Options, Durations) {
  int64_t ns = 0;
  EXPECT_TRUE(ParseDuration("2m", &ns));
  EXPECT_EQ(ns, 120'000'000'000);
  EXPECT_TRUE(ParseDuration("1h30m", &ns));
  EXPECT_EQ(ns, 5'400'000'000'000);
  EXPECT_TRUE(ParseDuration("250ms", &ns));
  EXPECT_EQ(ns, 250'000'000);
  EXPECT_TRUE(ParseDuration("10", &ns));
  EXPECT_EQ(ns, 10'000'000'000);
  EXPECT_FALSE(ParseDuration("10 parsecs", &ns));
  EXPECT_FALSE(ParseDuration("", &ns));
  // Out of range or negative is refused, not wrapped around (found by fuzzing).
  EXPECT_FALSE(ParseDuration("99999999999999999h", &ns));
  EXPECT_FALSE(ParseDuration("-5s", &ns));
  EXPECT_FALSE(ParseDuration("99999999999999999999", &ns));
  ConfValue root;
  std::string error;
  ASSERT_TRUE(
      ParseConfText("a: 11111111111111111111111m\nb: 9999999999999tb\n", "o.conf", &root, &error));
  EXPECT_EQ(root.Find("a")->type, ConfValue::Type::kString);  // too big for a number
  EXPECT_EQ(root.Find("b")->type, ConfValue::Type::kString);
  ServerOptions o;
  EXPECT_FALSE(LoadConfigText("max_payload: 9999999999999tb\n", "o.conf", &o, &error));
  EXPECT_NE(error.find("o.conf:1:1: 'max_payload' expects a number"), std::string::npos) << error;
  EXPECT_FALSE(LoadConfigText("ping_interval: 99999999999999\n", "o.conf", &o, &error));
  EXPECT_NE(error.find("out of range"), std::string::npos) << error;
}

}  // namespace
}  // namespace tern::core
