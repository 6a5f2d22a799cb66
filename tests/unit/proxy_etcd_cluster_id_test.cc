// Unit tests for proxy/etcd_cluster_id: what is recorded, what is ignored,
// and that a pointer handed out stays valid when the ID changes.
#include "proxy/etcd_cluster_id.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace tlsproxy::proxy {
namespace {

TEST(EtcdClusterId, UnknownUntilRecorded) {
  EtcdClusterId id;
  EXPECT_EQ(id.Current(), nullptr);
  id.Record("d1cfaf999eb97a2a");
  ASSERT_NE(id.Current(), nullptr);
  EXPECT_EQ(*id.Current(), "d1cfaf999eb97a2a");
}

TEST(EtcdClusterId, IgnoresWhatEtcdDoesNotSend) {
  EtcdClusterId id;
  for (const std::string& bad :
       std::vector<std::string>{"", "D1CFAF999EB97A2A", "d1cfaf999eb97a2a0", "d1cf af", "x",
                                "d1cf\r\nX-Evil: 1", std::string("d1\0cf", 5)}) {
    id.Record(bad);
    EXPECT_EQ(id.Current(), nullptr) << bad;
  }
  id.Record("1");
  id.Record("not hex");
  ASSERT_NE(id.Current(), nullptr);
  EXPECT_EQ(*id.Current(), "1");
}

TEST(EtcdClusterId, FollowsAChangeAndKeepsOldPointersValid) {
  EtcdClusterId id;
  id.Record("aaaa");
  const std::string* first = id.Current();
  id.Record("aaaa");
  EXPECT_EQ(id.Current(), first);  // unchanged: the same text, not a copy
  id.Record("bbbb");
  EXPECT_EQ(*id.Current(), "bbbb");
  EXPECT_EQ(*first, "aaaa");  // still readable by whoever holds it
  id.Record("aaaa");
  EXPECT_EQ(id.Current(), first);  // an ID seen before is not stored twice
}

TEST(EtcdClusterId, WorkersRecordAndReadConcurrently) {
  EtcdClusterId id;
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&id, t] {
      for (int i = 0; i < 2000; ++i) {
        id.Record(i % 2 == 0 ? "aaaa" : (t % 2 == 0 ? "bbbb" : "cccc"));
        const std::string* now = id.Current();
        ASSERT_NE(now, nullptr);
        ASSERT_TRUE(*now == "aaaa" || *now == "bbbb" || *now == "cccc") << *now;
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
}

}  // namespace
}  // namespace tlsproxy::proxy
