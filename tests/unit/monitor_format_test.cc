// Monitoring's text forms (times, uptimes, durations) and the HTTP request line.
#include <gtest/gtest.h>

#include "core/time_format.h"
#include "io/http_server.h"

namespace tern {
namespace {

TEST(MonitorFormat, TimesAndDurationsAsNatsServerWritesThem) {
  using namespace core;
  EXPECT_EQ(Rfc3339Nano(int64_t{1700000000} * 1'000'000'000 + 5), "2023-11-14T22:13:20.000000005Z");
  EXPECT_EQ(Uptime(0), "0s");
  EXPECT_EQ(Uptime(int64_t{4} * 1'000'000'000), "4s");
  EXPECT_EQ(Uptime(int64_t{3 * 60 + 4} * 1'000'000'000), "3m4s");
  EXPECT_EQ(Uptime(int64_t{2 * 3600} * 1'000'000'000), "2h0m0s");
  EXPECT_EQ(Uptime(int64_t{86400 + 3600 + 60 + 1} * 1'000'000'000), "1d1h1m1s");
  EXPECT_EQ(GoDuration(0), "0s");
  EXPECT_EQ(GoDuration(850), "850ns");
  EXPECT_EQ(GoDuration(12'500), "12.5µs");
  EXPECT_EQ(GoDuration(1'234'000), "1.234ms");
  EXPECT_EQ(GoDuration(2'500'000'000), "2.5s");
  EXPECT_EQ(GoDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(GoDuration(int64_t{3600} * 1'000'000'000), "1h0m0s");
}

TEST(HttpServer, RequestLineAndQuery) {
  io::HttpRequest r;
  ASSERT_TRUE(io::HttpServer::ParseRequestLine(
      "GET /connz?subs=1&sort=bytes_to&acc=%24G&flag HTTP/1.1", &r));
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/connz");
  EXPECT_EQ(r.query["subs"], "1");
  EXPECT_EQ(r.query["sort"], "bytes_to");
  EXPECT_EQ(r.query["acc"], "$G");
  EXPECT_TRUE(r.query.count("flag"));
  EXPECT_FALSE(io::HttpServer::ParseRequestLine("GET", &r));
  EXPECT_FALSE(io::HttpServer::ParseRequestLine("GET /x", &r));
  EXPECT_FALSE(io::HttpServer::ParseRequestLine("GET x HTTP/1.1", &r));
  EXPECT_FALSE(io::HttpServer::ParseRequestLine("GET /x FTP/1", &r));
  EXPECT_TRUE(io::HttpServer::ParseRequestLine("GET /subsz?test=a.b%2 HTTP/1.0", &r));
  EXPECT_EQ(r.query["test"], "a.b%2");  // a broken escape is kept as written
}

}  // namespace
}  // namespace tern
