// Key-value buckets through libnats' KV API against a real tern-server: the stream the
// client creates (KV_<bucket>, per-subject history, rollups, direct get), put/get,
// create-if-absent, update by revision, delete and purge markers, history, keys, watch.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "js_util.h"

namespace tern::e2e {
namespace {

class KeyValue : public JsFixture {
 protected:
  kvStore* Bucket(const char* name, uint8_t history) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = name;
    cfg.History = history;
    kvStore* kv = nullptr;
    EXPECT_EQ(js_CreateKeyValue(&kv, js_, &cfg), NATS_OK) << nats_GetLastError(nullptr);
    return kv;
  }
  std::string Get(kvStore* kv, const char* key, natsStatus* status = nullptr) {
    kvEntry* e = nullptr;
    natsStatus s = kvStore_Get(&e, kv, key);
    if (status != nullptr) *status = s;
    if (s != NATS_OK) return "<" + std::string(natsStatus_GetText(s)) + ">";
    std::string value(static_cast<const char*>(kvEntry_Value(e)), kvEntry_ValueLen(e));
    kvEntry_Destroy(e);
    return value;
  }
};

TEST_F(KeyValue, PutGetCreateUpdateDelete) {
  kvStore* kv = Bucket("config", 5);
  ASSERT_NE(kv, nullptr);
  uint64_t rev = 0;
  ASSERT_EQ(kvStore_PutString(&rev, kv, "db.host", "alpha"), NATS_OK);
  EXPECT_EQ(rev, 1u);
  EXPECT_EQ(Get(kv, "db.host"), "alpha");

  // Create fails on an existing key, works on a fresh one.
  EXPECT_NE(kvStore_CreateString(&rev, kv, "db.host", "beta"), NATS_OK);
  ASSERT_EQ(kvStore_CreateString(&rev, kv, "db.port", "5432"), NATS_OK);
  EXPECT_EQ(rev, 2u);

  // Update needs the current revision.
  EXPECT_NE(kvStore_UpdateString(&rev, kv, "db.host", "gamma", 2), NATS_OK);
  ASSERT_EQ(kvStore_UpdateString(&rev, kv, "db.host", "gamma", 1), NATS_OK);
  EXPECT_EQ(rev, 3u);
  EXPECT_EQ(Get(kv, "db.host"), "gamma");

  // A delete leaves a marker: the key reads as not found; create works again after it.
  ASSERT_EQ(kvStore_Delete(kv, "db.host"), NATS_OK);
  natsStatus status;
  Get(kv, "db.host", &status);
  EXPECT_EQ(status, NATS_NOT_FOUND);
  ASSERT_EQ(kvStore_CreateString(&rev, kv, "db.host", "delta"), NATS_OK);
  EXPECT_EQ(Get(kv, "db.host"), "delta");

  // A revision-specific get.
  kvEntry* e = nullptr;
  ASSERT_EQ(kvStore_GetRevision(&e, kv, "db.host", 1), NATS_OK);
  EXPECT_STREQ(kvEntry_ValueString(e), "alpha");
  kvEntry_Destroy(e);
  kvStore_Destroy(kv);
}

TEST_F(KeyValue, HistoryKeysAndPurge) {
  kvStore* kv = Bucket("hist", 3);
  ASSERT_NE(kv, nullptr);
  uint64_t rev = 0;
  for (const char* v : {"1", "2", "3", "4"})
    ASSERT_EQ(kvStore_PutString(&rev, kv, "a", v), NATS_OK);
  ASSERT_EQ(kvStore_PutString(&rev, kv, "b", "x"), NATS_OK);
  ASSERT_EQ(kvStore_PutString(&rev, kv, "c", "y"), NATS_OK);

  kvEntryList history;
  ASSERT_EQ(kvStore_History(&history, kv, "a", nullptr), NATS_OK);
  ASSERT_EQ(history.Count, 3);  // history 3 keeps the newest three
  EXPECT_STREQ(kvEntry_ValueString(history.Entries[0]), "2");
  EXPECT_STREQ(kvEntry_ValueString(history.Entries[2]), "4");
  kvEntryList_Destroy(&history);

  ASSERT_EQ(kvStore_Delete(kv, "c"), NATS_OK);
  kvKeysList keys;
  ASSERT_EQ(kvStore_Keys(&keys, kv, nullptr), NATS_OK);
  std::set<std::string> names;
  for (int i = 0; i < keys.Count; ++i) names.insert(keys.Keys[i]);
  kvKeysList_Destroy(&keys);
  EXPECT_EQ(names, (std::set<std::string>{"a", "b"}));

  // Purge drops the key's history and leaves one marker.
  ASSERT_EQ(kvStore_Purge(kv, "a", nullptr), NATS_OK);
  ASSERT_EQ(kvStore_History(&history, kv, "a", nullptr), NATS_OK);
  ASSERT_EQ(history.Count, 1);
  EXPECT_EQ(kvEntry_Operation(history.Entries[0]), kvOp_Purge);
  kvEntryList_Destroy(&history);
  kvStore_Destroy(kv);
}

TEST_F(KeyValue, WatchSeesCurrentValuesThenUpdates) {
  kvStore* kv = Bucket("watched", 1);
  ASSERT_NE(kv, nullptr);
  uint64_t rev = 0;
  ASSERT_EQ(kvStore_PutString(&rev, kv, "k1", "old"), NATS_OK);
  ASSERT_EQ(kvStore_PutString(&rev, kv, "k1", "current"), NATS_OK);
  ASSERT_EQ(kvStore_PutString(&rev, kv, "k2", "two"), NATS_OK);
  kvWatcher* w = nullptr;
  ASSERT_EQ(kvStore_WatchAll(&w, kv, nullptr), NATS_OK);
  std::vector<std::string> seen;
  kvEntry* e = nullptr;
  // Initial values (last per key), then the end-of-initial-values marker (a null entry).
  while (kvWatcher_Next(&e, w, 3000) == NATS_OK) {
    if (e == nullptr) break;
    seen.push_back(std::string(kvEntry_Key(e)) + "=" + kvEntry_ValueString(e));
    kvEntry_Destroy(e);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"k1=current", "k2=two"}));
  ASSERT_EQ(kvStore_PutString(&rev, kv, "k3", "three"), NATS_OK);
  ASSERT_EQ(kvWatcher_Next(&e, w, 3000), NATS_OK);
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(kvEntry_Key(e), "k3");
  EXPECT_STREQ(kvEntry_ValueString(e), "three");
  kvEntry_Destroy(e);
  kvWatcher_Destroy(w);
  kvStore_Destroy(kv);
}

TEST_F(KeyValue, MissingBucketIsReported) {
  kvStore* kv = nullptr;
  EXPECT_EQ(js_KeyValue(&kv, js_, "absent"), NATS_NOT_FOUND);
  kvStore* made = Bucket("gone", 1);
  kvStore_Destroy(made);
  ASSERT_EQ(js_DeleteKeyValue(js_, "gone"), NATS_OK);
  EXPECT_EQ(js_KeyValue(&kv, js_, "gone"), NATS_NOT_FOUND);
}

}  // namespace
}  // namespace tern::e2e
