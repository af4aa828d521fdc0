// TimerHeap: deadlines come out in order, and moving or cancelling any item keeps it so.
#include "io/timer_heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace tern::io {
namespace {

struct Item {
  int id = 0;
  TimerSlot timer;
};

using Heap = TimerHeap<Item, &Item::timer>;

TEST(TimerHeap, PopsDueItemsInDeadlineOrder) {
  Heap heap;
  std::vector<Item> items(5);
  const int64_t at[] = {50, 10, 40, 20, 30};
  for (int i = 0; i < 5; ++i) {
    items[i].id = i;
    heap.Schedule(&items[i], at[i]);
  }
  EXPECT_EQ(heap.NextDeadline(), 10);
  EXPECT_EQ(heap.PopDue(9), nullptr);
  std::vector<int> order;
  while (Item* item = heap.PopDue(45)) order.push_back(item->id);
  EXPECT_EQ(order, (std::vector<int>{1, 3, 4, 2}));
  EXPECT_EQ(heap.NextDeadline(), 50);
  EXPECT_FALSE(items[1].timer.queued());
}

TEST(TimerHeap, MovingAndCancellingKeepOrderUnderRandomChurn) {
  std::mt19937 rng(7);
  std::vector<Item> items(300);
  Heap heap;
  std::vector<int64_t> expected(items.size(), -1);  // -1: not armed
  for (int round = 0; round < 5000; ++round) {
    const std::size_t i = rng() % items.size();
    if (rng() % 4 == 0) {
      heap.Cancel(&items[i]);
      expected[i] = -1;
    } else {
      const int64_t at = rng() % 100000;
      heap.Schedule(&items[i], at);
      expected[i] = at;
    }
  }
  std::vector<int64_t> want;
  for (int64_t at : expected) {
    if (at >= 0) want.push_back(at);
  }
  std::sort(want.begin(), want.end());
  ASSERT_EQ(heap.size(), want.size());
  std::vector<int64_t> got;
  while (Item* item = heap.PopDue(INT64_MAX)) got.push_back(item->timer.at);
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace tern::io
