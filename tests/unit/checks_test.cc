// The invariant checks (base/check.h): compiled away in Release, and in the builds that
// have them (the sanitizer builds), a broken invariant stops the process with a message.
#include <gtest/gtest.h>

#include "base/check.h"
#include "core/subscription.h"
#include "core/xbatch.h"
#include "tests/support/shard_harness.h"

namespace tern::testing {
namespace {

TEST(Checks, ConditionIsEvaluatedOnlyWhereChecksAreOn) {
  int evaluated = 0;
  TERN_DCHECK(++evaluated > 0);
  EXPECT_EQ(evaluated, base::kDChecks ? 1 : 0);
}

TEST(ChecksDeathTest, BatchReservationPastCapacity) {
  if (!base::kDChecks) GTEST_SKIP() << "checks are off in this build";
  core::XBatch* batch = core::XBatch::Create(0, 64);
  batch->Reserve(56);
  EXPECT_DEATH(batch->Reserve(16), "check failed: rounded <= capacity - used");
  core::XBatch::Destroy(batch);
}

// An internal sink is called inside a match: routing from there would invalidate the
// match being walked (subscription.h). The check catches a sink that does.
class RoutingSink final : public core::InternalSink {
 public:
  explicit RoutingSink(core::Shard* shard) : shard_(shard) {}
  void OnInternalMessage(const core::Subscription&, const core::Message&) override {
    shard_->Route(core::Message{.subject = "elsewhere", .data = "x"}, nullptr);
  }

 private:
  core::Shard* shard_;
};

TEST(ChecksDeathTest, InternalSinkThatRoutes) {
  if (!base::kDChecks) GTEST_SKIP() << "checks are off in this build";
  EXPECT_DEATH(
      {
        ShardHarness h(1);
        RoutingSink sink(&h.shard(0));
        core::Subscription sub;
        sub.sink = &sink;
        sub.subject = "internal";
        h.shard(0).AddInternal(&sub);
        const int client = h.Connect();
        h.Send(client, "PUB internal 1\r\nx\r\n");
        h.Settle();
      },
      "check failed: !in_sink_");
}

}  // namespace
}  // namespace tern::testing
