// Responses are streamed: a long-poll watch (?wait=true) through the proxy
// answers when the key changes in etcd, after an idle wait, and a
// ?stream=true watch delivers each event while the response stays open.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

class WatchTest : public SharedProxyTest {
 protected:
  // The etcd index after which a watch should start, so that an event
  // written before the watch reaches etcd is not missed.
  static long NextIndex() {
    const HttpResponse root = etcd().Get("/");
    return std::stol(root.Header("x-etcd-index")) + 1;
  }
};

// The body a streaming request has received so far, shared with the thread
// that runs it.
class SharedBody {
 public:
  void Set(const std::string& body) {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = body;
    changed_.notify_all();
  }
  // Waits (bounded) until the body contains `text`.
  bool WaitFor(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return body_.find(text) != std::string::npos; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string body_;
};

TEST_F(WatchTest, LongPollReceivesAWriteMadeInEtcdDirectly) {
  const std::string key = "/conftool/" + UniqueName("watched");
  HttpsRequest watch;
  watch.path = "/v2/keys" + key + "?wait=true&waitIndex=" + std::to_string(NextIndex());
  watch.timeout = 30s;
  SharedBody received;
  watch.on_head = [&](long status) { received.Set("head " + std::to_string(status)); };
  HttpResponse response;
  std::thread watcher([&] { response = Https(port(), watch); });

  EXPECT_TRUE(received.WaitFor("head 200", 10s)) << "no response head within 10 s";
  // An idle long poll must survive a few seconds with nothing to read.
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE(etcd().Put(key, "event-1"));
  watcher.join();

  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_NE(response.body.find("\"action\":\"set\""), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("\"value\":\"event-1\""), std::string::npos) << response.body;
}

TEST_F(WatchTest, RecursiveLongPollOnADirectory) {
  const std::string dir = "/conftool/" + UniqueName("dir");
  HttpsRequest watch;
  watch.path =
      "/v2/keys" + dir + "?wait=true&recursive=true&waitIndex=" + std::to_string(NextIndex());
  watch.timeout = 30s;
  HttpResponse response;
  std::thread watcher([&] { response = Https(port(), watch); });
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(etcd().Put(dir + "/child", "c"));
  watcher.join();
  EXPECT_EQ(response.status, 200) << response.error;
  EXPECT_NE(response.body.find("\"key\":\"" + dir + "/child\""), std::string::npos)
      << response.body;
}

TEST_F(WatchTest, StreamDeliversEventsOneByOne) {
  const std::string key = "/conftool/" + UniqueName("streamed");
  SharedBody received;
  HttpsRequest watch;
  // No waitIndex: etcd answers a stream watch whose index is already in its
  // history with that one event only. The head arriving says etcd has
  // registered the watch.
  watch.path = "/v2/keys" + key + "?wait=true&stream=true";
  watch.timeout = 30s;
  watch.on_head = [&](long status) { received.Set("head " + std::to_string(status)); };
  watch.on_data = [&](const std::string& body) {
    received.Set(body);
    return body.find("\"value\":\"second\"") == std::string::npos;  // stop after the second
  };
  HttpResponse response;
  std::thread watcher([&] { response = Https(port(), watch); });

  const bool registered = received.WaitFor("head 200", 10s);
  EXPECT_TRUE(registered) << "no response head within 10 s";
  ASSERT_TRUE(etcd().Put(key, "first"));
  // The first event must arrive while the response is still open: the
  // second is only written once the client has seen the first.
  EXPECT_TRUE(received.WaitFor("\"value\":\"first\"", 10s)) << "first event not streamed";
  ASSERT_TRUE(etcd().Put(key, "second"));
  EXPECT_TRUE(received.WaitFor("\"value\":\"second\"", 10s)) << "second event not streamed";
  watcher.join();
  EXPECT_EQ(response.status, 200) << response.error;
}

TEST_F(WatchTest, AbandonedWatchDoesNotDisturbTheProxy) {
  // Clients that give up on a long poll go away mid-response; the proxy
  // keeps serving.
  for (int i = 0; i < 5; ++i) {
    HttpsRequest watch;
    watch.path = "/v2/keys/" + UniqueName("abandoned") + "?wait=true";
    watch.timeout = 300ms;
    const HttpResponse gave_up = Https(port(), watch);
    EXPECT_EQ(gave_up.status, 0);
  }
  const std::string key = "/" + UniqueName("after");
  ASSERT_TRUE(etcd().Put(key, "still"));
  const HttpResponse response = HttpsGet(port(), "/v2/keys" + key);
  EXPECT_EQ(response.status, 200) << response.body << response.error;
}

}  // namespace
}  // namespace tlsproxy::integration
