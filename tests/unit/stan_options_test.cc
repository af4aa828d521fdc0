// The `streaming` block's channel limits: global, per channel, and how a channel's resolve.
#include "core/stan_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tern::core {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

bool Parse(const std::string& text, StanOptions* options, std::string* error) {
  ConfValue root;
  if (!ParseConfText(text, "t.conf", &root, error)) return false;
  std::vector<std::string> warnings;
  return ParseStreamingBlock(*root.Find("streaming"), options, &warnings, error);
}

TEST(StanOptions, PerChannelLimitsOverrideTheGlobalOnesNarrowestLast) {
  StanOptions options;
  std::string error;
  ASSERT_TRUE(Parse(R"(streaming {
    store_limits {
      max_msgs: 100
      max_inactivity: "10s"
      channels {
        "orders.>": { max_msgs: 50, max_age: "1h" }
        "orders.*": { max_msgs: 20 }
        "orders.eu": { max_msgs: 5, max_inactivity: 0 }
        "audit": { max_bytes: 1KB }
      }
    }
  })",
                    &options, &error))
      << error;
  ASSERT_EQ(options.limits.per_channel.size(), 4u);

  const StanChannelLimits other = ChannelLimitsFor(options.limits, "telemetry");
  EXPECT_EQ(other.max_msgs, 100);
  EXPECT_EQ(other.max_age_ns, 0);
  EXPECT_EQ(other.max_inactivity_ns, 10 * kSecond);

  // Matched by '>' only: its max_age, its max_msgs.
  const StanChannelLimits deep = ChannelLimitsFor(options.limits, "orders.us.west");
  EXPECT_EQ(deep.max_msgs, 50);
  EXPECT_EQ(deep.max_age_ns, 3600 * kSecond);

  // '*' is narrower than '>': its max_msgs wins, the max_age is inherited from '>'.
  const StanChannelLimits us = ChannelLimitsFor(options.limits, "orders.us");
  EXPECT_EQ(us.max_msgs, 20);
  EXPECT_EQ(us.max_age_ns, 3600 * kSecond);
  EXPECT_EQ(us.max_inactivity_ns, 10 * kSecond);

  // A literal name is the narrowest; a 0 there means unlimited.
  const StanChannelLimits eu = ChannelLimitsFor(options.limits, "orders.eu");
  EXPECT_EQ(eu.max_msgs, 5);
  EXPECT_EQ(eu.max_inactivity_ns, 0);

  const StanChannelLimits audit = ChannelLimitsFor(options.limits, "audit");
  EXPECT_EQ(audit.max_bytes, 1024);
  EXPECT_EQ(audit.max_msgs, 100);
}

TEST(StanOptions, BadPerChannelEntriesAreRefusedWithTheirReason) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {R"(streaming { store_limits { channels { "a..b": { max_msgs: 1 } } } })",
       "invalid channel name"},
      {R"(streaming { store_limits { channels { "a.b*": { max_msgs: 1 } } } })",
       "invalid channel name"},
      {R"(streaming { store_limits { channels { ">.a": { max_msgs: 1 } } } })",
       "invalid channel name"},
      {R"(streaming { store_limits { channels { "a": { max_cheese: 1 } } } })",
       "unknown field \"max_cheese\""},
      {R"(streaming { store_limits { channels { "a": 5 } } })", "expects a map of limits"},
      {R"(streaming { store_limits { max_channels: 1, channels { "a": {max_msgs: 1}, "b": {max_msgs: 1} } } })",
       "too many channels defined (2). The max channels limit is set to 1"},
  };
  for (const Case& c : cases) {
    StanOptions options;
    std::string error;
    EXPECT_FALSE(Parse(c.text, &options, &error)) << c.text;
    EXPECT_NE(error.find(c.error), std::string::npos) << c.text << " -> " << error;
  }
}

TEST(StanOptions, WildcardEntriesDoNotCountAgainstMaxChannels) {
  StanOptions options;
  std::string error;
  EXPECT_TRUE(Parse(R"(streaming { store_limits { max_channels: 1, channels {
    "a": { max_msgs: 1 }, "b.*": { max_msgs: 2 }, ">": { max_msgs: 3 } } } })",
                    &options, &error))
      << error;
  EXPECT_EQ(ChannelLimitsFor(options.limits, "b.c").max_msgs, 2);
  EXPECT_EQ(ChannelLimitsFor(options.limits, "z").max_msgs, 3);
}

TEST(StanOptions, StoreTypeAndDirectoryAreServedAndSqlIsRefused) {
  StanOptions options;
  std::string error;
  ASSERT_TRUE(Parse(R"(streaming { store: MEMORY, dir: "/var/lib/stan" })", &options, &error))
      << error;
  EXPECT_EQ(options.store, StanOptions::Store::kMemory);
  EXPECT_EQ(options.dir, "/var/lib/stan");
  ASSERT_TRUE(Parse(R"(streaming { store: file })", &options, &error)) << error;
  EXPECT_EQ(options.store, StanOptions::Store::kFile);
  EXPECT_FALSE(Parse(R"(streaming { store: sql })", &options, &error));
  EXPECT_NE(error.find("SQL is not served"), std::string::npos) << error;
  EXPECT_FALSE(Parse(R"(streaming { store: tape })", &options, &error));
  EXPECT_NE(error.find("unknown streaming store type \"tape\""), std::string::npos) << error;
}

}  // namespace
}  // namespace tern::core
