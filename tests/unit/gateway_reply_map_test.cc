// The gateway reply mapping a client keeps: what it is shown, what its answer becomes, and
// for how long (nats-server's two seconds).
#include "core/gateway_reply_map.h"

#include <gtest/gtest.h>

namespace tern::core {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(GatewayReplyMap, ShowsTheBareReplyOnlyForRoutedOnes) {
  EXPECT_EQ(ShownReply("_GR_.abcdef.ghijkl._INBOX.x.1"), "_INBOX.x.1");
  EXPECT_EQ(ShownReply("_INBOX.x.1"), "_INBOX.x.1");
  EXPECT_EQ(ShownReply("_GR_.abcdef.ghijkl."), "_GR_.abcdef.ghijkl.") << "nothing after the prefix";
  EXPECT_FALSE(IsGatewayRoutedReply("_GR_abcdef.ghijkl._INBOX.x"));
}

TEST(GatewayReplyMap, MapsAnAnswerBackForTwoSeconds) {
  GatewayReplyMap map;
  EXPECT_TRUE(map.empty());
  map.Remember("_GR_.abcdef.ghijkl.$JS.ACK.S.C.1.2.3.4.0", 10 * kSecond);
  EXPECT_EQ(map.Routed("$JS.ACK.S.C.1.2.3.4.0", 11 * kSecond),
            "_GR_.abcdef.ghijkl.$JS.ACK.S.C.1.2.3.4.0");
  EXPECT_EQ(map.Routed("orders.new", 11 * kSecond), "orders.new") << "not a mapped reply";
  EXPECT_EQ(map.Routed("$JS.ACK.S.C.1.2.3.4.0", 12 * kSecond), "$JS.ACK.S.C.1.2.3.4.0")
      << "expired after two seconds";
  EXPECT_TRUE(map.empty());
}

TEST(GatewayReplyMap, TheNewestRoutingOfAReplyWinsAndRenewsIt) {
  GatewayReplyMap map;
  map.Remember("_GR_.aaaaaa.bbbbbb._INBOX.r", 0);
  map.Remember("_GR_.cccccc.dddddd._INBOX.r", kSecond);
  EXPECT_EQ(map.Routed("_INBOX.r", 2 * kSecond + 1), "_GR_.cccccc.dddddd._INBOX.r")
      << "the first entry's expiry must not remove the renewed one";
  EXPECT_EQ(map.Routed("_INBOX.r", 3 * kSecond), "_INBOX.r");
}

}  // namespace
}  // namespace tern::core
