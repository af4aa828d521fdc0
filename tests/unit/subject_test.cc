// Subject validation, matching and the subject trie.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/subject.h"
#include "core/subject_trie.h"

namespace tern::core {
namespace {

TEST(Subject, Validity) {
  EXPECT_TRUE(IsValidSubject("foo"));
  EXPECT_TRUE(IsValidSubject("foo.bar.*"));
  EXPECT_TRUE(IsValidSubject("foo.>"));
  EXPECT_TRUE(IsValidSubject(">"));
  EXPECT_TRUE(IsValidSubject("foo*.b>r"));  // wildcards only as whole tokens
  EXPECT_FALSE(IsValidSubject(""));
  EXPECT_FALSE(IsValidSubject("foo..bar"));
  EXPECT_FALSE(IsValidSubject(".foo"));
  EXPECT_FALSE(IsValidSubject("foo."));
  EXPECT_FALSE(IsValidSubject("foo.>.bar"));
  EXPECT_FALSE(IsValidSubject("foo bar"));
  EXPECT_FALSE(IsValidSubject("foo\tbar"));
  EXPECT_TRUE(IsValidLiteralSubject("foo.bar"));
  EXPECT_FALSE(IsValidLiteralSubject("foo.*"));
  EXPECT_FALSE(IsValidLiteralSubject(">"));
  EXPECT_TRUE(IsLiteral("a*.b"));
  EXPECT_FALSE(IsLiteral("a.*.b"));
}

TEST(Subject, Matches) {
  EXPECT_TRUE(SubjectMatches("foo.*", "foo.bar"));
  EXPECT_FALSE(SubjectMatches("foo.*", "foo.bar.baz"));
  EXPECT_TRUE(SubjectMatches("foo.>", "foo.bar.baz"));
  EXPECT_FALSE(SubjectMatches("foo.>", "foo"));
  EXPECT_TRUE(SubjectMatches(">", "a"));
  EXPECT_TRUE(SubjectMatches("*.b.*", "a.b.c"));
  EXPECT_FALSE(SubjectMatches("a.b", "a.b.c"));
  EXPECT_FALSE(SubjectMatches("a.b.c", "a.b"));
}

struct TestLeaf {
  std::set<std::string> items;
  bool Empty() const { return items.empty(); }
};

std::set<std::string> MatchAll(const SubjectTrie<TestLeaf>& trie, std::string_view subject) {
  std::set<std::string> out;
  trie.Match(subject,
             [&](const TestLeaf& leaf) { out.insert(leaf.items.begin(), leaf.items.end()); });
  return out;
}

TEST(SubjectTrie, LiteralAndWildcards) {
  SubjectTrie<TestLeaf> trie;
  for (const char* p : {"foo.bar", "foo.*", "foo.>", ">", "*.bar", "foo.bar.baz", "x"}) {
    trie.Insert(p).items.insert(p);
  }
  EXPECT_EQ(MatchAll(trie, "foo.bar"),
            (std::set<std::string>{"foo.bar", "foo.*", "foo.>", ">", "*.bar"}));
  EXPECT_EQ(MatchAll(trie, "foo.bar.baz"), (std::set<std::string>{"foo.>", ">", "foo.bar.baz"}));
  EXPECT_EQ(MatchAll(trie, "foo"), (std::set<std::string>{">"}));
  EXPECT_EQ(MatchAll(trie, "x"), (std::set<std::string>{">", "x"}));
  EXPECT_EQ(MatchAll(trie, "y.bar"), (std::set<std::string>{">", "*.bar"}));
}

TEST(SubjectTrie, PruneRemovesEmptyPaths) {
  SubjectTrie<TestLeaf> trie;
  trie.Insert("a.b.c").items.insert("1");
  trie.Insert("a.b").items.insert("2");
  trie.Find("a.b.c")->items.clear();
  trie.Prune("a.b.c");
  EXPECT_EQ(trie.Find("a.b.c"), nullptr);
  ASSERT_NE(trie.Find("a.b"), nullptr);
  trie.Find("a.b")->items.clear();
  trie.Prune("a.b");
  EXPECT_EQ(trie.Find("a.b"), nullptr);
  int visited = 0;
  trie.ForEach([&](std::string_view, const TestLeaf&) { ++visited; });
  EXPECT_EQ(visited, 0);
}

std::string LongSubject(int tokens, std::string_view last) {
  std::string subject;
  for (int i = 0; i + 1 < tokens; ++i) subject += "t" + std::to_string(i) + ".";
  return subject.append(last);
}

// Subjects far past any fixed token count match like short ones (nats-server has no limit).
TEST(SubjectTrie, SubjectsOfThousandsOfTokensMatch) {
  SubjectTrie<TestLeaf> trie;
  const std::string subject = LongSubject(3000, "end");
  for (const std::string& p : {std::string(">"), std::string("t0.>"), subject,
                               LongSubject(3000, "*"), LongSubject(2999, "*")}) {
    trie.Insert(p).items.insert(p);
  }
  EXPECT_EQ(MatchAll(trie, subject),
            (std::set<std::string>{">", "t0.>", subject, LongSubject(3000, "*")}));
}

// Unsubscribing a long subject frees its whole path, so unique long subjects do not grow
// the trie without bound.
TEST(SubjectTrie, PruneFreesLongPaths) {
  SubjectTrie<TestLeaf> trie;
  for (int round = 0; round < 3; ++round) {
    const std::string subject = LongSubject(400 + round, "x" + std::to_string(round));
    trie.Insert(subject).items.insert("s");
    trie.Find(subject)->items.clear();
    trie.Prune(subject);
    EXPECT_TRUE(trie.Empty()) << "round " << round;
  }
}

TEST(SubjectTrie, ForEachReportsPatterns) {
  SubjectTrie<TestLeaf> trie;
  trie.Insert("a.*.c").items.insert("x");
  trie.Insert("b.>").items.insert("y");
  std::set<std::string> patterns;
  trie.ForEach([&](std::string_view p, const TestLeaf&) { patterns.insert(std::string(p)); });
  EXPECT_EQ(patterns, (std::set<std::string>{"a.*.c", "b.>"}));
}

}  // namespace
}  // namespace tern::core
