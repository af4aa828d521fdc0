// Where and when a user may connect: JWT `src` networks, connect-time windows in a time
// zone read from the system's zoneinfo, and allowed connection types (also in the config).
#include "core/auth/user_limits.h"

#include <gtest/gtest.h>

#include <ctime>

#include "core/auth/auth_config.h"
#include "core/auth/authenticator.h"
#include "core/auth/time_zone.h"
#include "core/conf.h"

namespace tern::core::auth {
namespace {

using nlohmann::json;

int64_t Utc(int year, int month, int day, int hour, int minute) {
  std::tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = minute;
  return static_cast<int64_t>(timegm(&t));
}

TEST(SourceAllowed, CidrListsInBothForms) {
  EXPECT_TRUE(SourceAllowed(json(), "192.0.2.7"));  // no src: anyone
  EXPECT_TRUE(SourceAllowed(json::array(), "192.0.2.7"));
  EXPECT_TRUE(SourceAllowed(json::array({"192.0.2.0/24"}), "192.0.2.7"));
  EXPECT_FALSE(SourceAllowed(json::array({"192.0.2.0/25"}), "192.0.2.200"));
  EXPECT_TRUE(SourceAllowed(json("10.0.0.0/8, 192.0.2.0/24"), "192.0.2.200"));  // comma list
  EXPECT_FALSE(SourceAllowed(json("10.0.0.0/8,172.16.0.0/12"), "192.0.2.200"));
  EXPECT_TRUE(SourceAllowed(json::array({"0.0.0.0/0"}), "203.0.113.9"));
  EXPECT_TRUE(SourceAllowed(json::array({"192.0.2.7/32"}), "192.0.2.7"));
  EXPECT_TRUE(SourceAllowed(json::array({"2001:db8::/32"}), "2001:db8:1::5"));
  EXPECT_FALSE(SourceAllowed(json::array({"2001:db8::/32"}), "2001:db9::5"));
  EXPECT_FALSE(SourceAllowed(json::array({"2001:db8::/32"}), "192.0.2.7"));
  EXPECT_TRUE(SourceAllowed(json::array({"192.0.2.0/24"}), "::ffff:192.0.2.7"));  // mapped
  // A CIDR that does not parse admits nobody; so does an address that does not.
  EXPECT_FALSE(SourceAllowed(json::array({"192.0.2.0/33"}), "192.0.2.7"));
  EXPECT_FALSE(SourceAllowed(json::array({"192.0.2.0"}), "192.0.2.0"));
  EXPECT_FALSE(SourceAllowed(json::array({"nonsense/8"}), "192.0.2.7"));
  EXPECT_FALSE(SourceAllowed(json::array({"192.0.2.0/24"}), "not-an-ip"));
  EXPECT_FALSE(SourceAllowed(json(5), "192.0.2.7"));
}

TEST(TimeZone, OffsetsFromTheSystemZoneinfo) {
  int32_t offset = 0;
  std::string error;
  ASSERT_TRUE(UtcOffsetAt("Europe/Berlin", Utc(2026, 1, 15, 12, 0), &offset, &error)) << error;
  EXPECT_EQ(offset, 3600);
  ASSERT_TRUE(UtcOffsetAt("Europe/Berlin", Utc(2026, 7, 15, 12, 0), &offset, &error));
  EXPECT_EQ(offset, 7200);  // summer time
  ASSERT_TRUE(UtcOffsetAt("America/New_York", Utc(2026, 1, 15, 12, 0), &offset, &error));
  EXPECT_EQ(offset, -5 * 3600);
  // The change in spring: 2026-03-08 07:00 UTC in New York.
  ASSERT_TRUE(UtcOffsetAt("America/New_York", Utc(2026, 3, 8, 6, 59), &offset, &error));
  EXPECT_EQ(offset, -5 * 3600);
  ASSERT_TRUE(UtcOffsetAt("America/New_York", Utc(2026, 3, 8, 7, 0), &offset, &error));
  EXPECT_EQ(offset, -4 * 3600);
  ASSERT_TRUE(UtcOffsetAt("UTC", Utc(2026, 7, 1, 0, 0), &offset, &error));
  EXPECT_EQ(offset, 0);
  ASSERT_TRUE(UtcOffsetAt("Asia/Kolkata", Utc(2026, 7, 1, 0, 0), &offset, &error));
  EXPECT_EQ(offset, 5 * 3600 + 1800);
  EXPECT_FALSE(UtcOffsetAt("Nowhere/Special", 0, &offset, &error));
  EXPECT_NE(error.find("not known"), std::string::npos);
  for (const char* bad : {"../etc/passwd", "/etc/passwd", "Europe/../../etc/passwd", "a b"}) {
    EXPECT_FALSE(UtcOffsetAt(bad, 0, &offset, &error)) << bad;
  }
  EXPECT_FALSE(TzifOffsetAt("TZif2", 0, &offset));  // truncated
  EXPECT_FALSE(TzifOffsetAt(std::string(100, 'x'), 0, &offset));
}

TEST(WithinTimes, WindowsAndWhenTheyClose) {
  const int64_t now = Utc(2026, 1, 15, 10, 30);  // 10:30 UTC, 11:30 in Berlin
  int64_t until = -1;
  std::string reason;
  const auto window = [](const char* start, const char* end) {
    return json::array({{{"start", start}, {"end", end}}});
  };
  EXPECT_TRUE(WithinTimes(json(), "", now, &until, &reason));
  EXPECT_EQ(until, 0);  // no windows, no end
  EXPECT_TRUE(WithinTimes(window("09:00:00", "11:00:00"), "UTC", now, &until, &reason));
  EXPECT_EQ(until, Utc(2026, 1, 15, 11, 0));
  EXPECT_FALSE(WithinTimes(window("11:00:00", "12:00:00"), "UTC", now, &until, &reason));
  EXPECT_NE(reason.find("outside"), std::string::npos);
  // The same window read in Berlin's time holds.
  EXPECT_TRUE(WithinTimes(window("11:00:00", "12:00:00"), "Europe/Berlin", now, &until, &reason));
  EXPECT_EQ(until, Utc(2026, 1, 15, 11, 0));
  // Over midnight: from 22:00 to 12:00 the next day.
  EXPECT_TRUE(WithinTimes(window("22:00:00", "12:00:00"), "UTC", now, &until, &reason));
  EXPECT_EQ(until, Utc(2026, 1, 15, 12, 0));
  EXPECT_TRUE(WithinTimes(window("10:00:00", "02:00:00"), "UTC", now, &until, &reason));
  EXPECT_EQ(until, Utc(2026, 1, 16, 2, 0));
  // Any of several windows; the first that holds says when it ends.
  json two = window("01:00:00", "02:00:00");
  two.push_back({{"start", "10:00:00"}, {"end", "10:45:00"}});
  EXPECT_TRUE(WithinTimes(two, "UTC", now, &until, &reason));
  EXPECT_EQ(until, Utc(2026, 1, 15, 10, 45));
  // Malformed windows and zones admit nobody.
  for (const json& bad : {window("9:00", "10:00:00"), window("09:00:00", "24:00:00"),
                          json::array({json("09:00:00")}), json("09:00:00-10:00:00")}) {
    EXPECT_FALSE(WithinTimes(bad, "UTC", now, &until, &reason)) << bad.dump();
  }
  EXPECT_FALSE(WithinTimes(window("00:00:00", "23:59:59"), "Mars/Olympus", now, &until, &reason));
}

TEST(ConnectionTypes, NamesAndTheStandardClient) {
  EXPECT_TRUE(IsConnectionType("STANDARD"));
  EXPECT_TRUE(IsConnectionType("websocket"));
  EXPECT_TRUE(IsConnectionType("Leafnode_WS"));
  EXPECT_FALSE(IsConnectionType("TELNET"));
  EXPECT_TRUE(StandardConnectionAllowed({}));
  EXPECT_TRUE(StandardConnectionAllowed({"WEBSOCKET", "standard"}));
  EXPECT_FALSE(StandardConnectionAllowed({"WEBSOCKET", "MQTT"}));
}

TEST(ConnectionTypes, ConfiguredUsers) {
  ConfValue root;
  std::string error;
  ASSERT_TRUE(ParseConfText(R"(authorization { users: [
      {user: web, password: pw, allowed_connection_types: ["WEBSOCKET"]}
      {user: app, password: pw, allowed_connection_types: ["STANDARD", "MQTT"]}
      {user: solo, password: pw, connection_types: standard}
    ] })",
                            "a.conf", &root, &error))
      << error;
  AuthConfig config;
  ASSERT_TRUE(ParseAuthorization(*root.Find("authorization"), &config, &error)) << error;
  ASSERT_TRUE(ValidateAuth(&config, &error)) << error;
  const auto login = [&](const char* user) {
    Credentials c;
    c.user = user;
    c.pass = "pw";
    return Authenticate(config, c, "");
  };
  EXPECT_FALSE(login("web").ok);
  EXPECT_NE(login("web").reason.find("STANDARD"), std::string::npos);
  EXPECT_TRUE(login("app").ok);
  EXPECT_TRUE(login("solo").ok);

  ASSERT_TRUE(ParseConfText(
      "authorization { users: [{user: x, password: pw, allowed_connection_types: [TELNET]}] }",
      "b.conf", &root, &error));
  AuthConfig refused;
  EXPECT_FALSE(ParseAuthorization(*root.Find("authorization"), &refused, &error));
  EXPECT_NE(error.find("unknown connection type \"TELNET\""), std::string::npos) << error;
  EXPECT_NE(error.find("b.conf:1"), std::string::npos) << error;
}

}  // namespace
}  // namespace tern::core::auth
