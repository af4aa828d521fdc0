// Subject matching: the per-publish lookup of who wants a subject.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/interest.h"

namespace {

using tern::core::Interest;
using tern::core::Subscription;

std::vector<std::unique_ptr<Subscription>> Populate(Interest* interest, int count) {
  std::vector<std::unique_ptr<Subscription>> subs;
  for (int i = 0; i < count; ++i) {
    auto s = std::make_unique<Subscription>();
    s->subject = "fleet.vehicle." + std::to_string(i) + ".position";
    interest->AddLocal(s.get());
    subs.push_back(std::move(s));
  }
  auto wildcard = std::make_unique<Subscription>();
  wildcard->subject = "fleet.*.*.alerts";
  interest->AddLocal(wildcard.get());
  subs.push_back(std::move(wildcard));
  return subs;
}

// Measures: repeated lookups of one literal subject (match-cache hit), N subscriptions.
void BM_MatchCacheHit(benchmark::State& state) {
  Interest interest(4);
  auto subs = Populate(&interest, static_cast<int>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(interest.Match("fleet.vehicle.7.position").plain.size());
}
BENCHMARK(BM_MatchCacheHit)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

// Measures: lookups over many distinct subjects (cache misses and evictions, trie walks).
void BM_MatchManySubjects(benchmark::State& state) {
  Interest interest(4, 4096);
  auto subs = Populate(&interest, static_cast<int>(state.range(0)));
  std::vector<std::string> subjects;
  for (int i = 0; i < 65536; ++i)
    subjects.push_back("fleet.vehicle." +
                       std::to_string(i * 7 % std::max<int64_t>(200'000, 2 * state.range(0))) +
                       ".position");
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(interest.Match(subjects[i++ & 65535]).plain.size());
  }
}
BENCHMARK(BM_MatchManySubjects)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

// Measures: a wildcard subscription matched by many literal subjects.
void BM_MatchWildcard(benchmark::State& state) {
  Interest interest(4);
  auto subs = Populate(&interest, 10'000);
  for (auto _ : state)
    benchmark::DoNotOptimize(interest.Match("fleet.truck.9.alerts").plain.size());
}
BENCHMARK(BM_MatchWildcard);

}  // namespace
