// Responses are streamed: a long-poll watch (?wait=true) through the proxy
// answers when the key changes in etcd, after an idle wait, and a
// ?stream=true watch delivers each event while the response stays open.
// Every spelling of `wait` that etcd waits on is a watch to the proxy too
// (no response timeout, on the watches gauge, ended cleanly by SIGTERM),
// and only those.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

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

constexpr char kWatchesGauge[] = "etcd_tlsproxy_watches";

// The etcd index after which a watch on `etcd` should start.
long NextIndexOf(const EtcdServer& etcd) {
  const HttpResponse root = etcd.Get("/");
  return std::stol(root.Header("x-etcd-index")) + 1;
}

// One request run on its own thread; `done` once its response is in.
struct Pending {
  std::string query;
  HttpResponse response;
  std::atomic<bool> done{false};
  std::thread thread;
};

// Starts GET <path>?<query> for each query, each on its own thread.
std::vector<std::unique_ptr<Pending>> StartAll(uint16_t port, const std::string& path,
                                               const std::vector<std::string>& queries,
                                               std::chrono::milliseconds timeout,
                                               const std::string& stop_at = "") {
  std::vector<std::unique_ptr<Pending>> all;
  for (const std::string& query : queries) {
    auto pending = std::make_unique<Pending>();
    pending->query = query;
    HttpsRequest request;
    request.path = path + "?" + query;
    request.timeout = timeout;
    if (!stop_at.empty()) {
      // A stream stays open after its event: stop reading once it is in.
      request.on_data = [stop_at](const std::string& body) {
        return body.find(stop_at) == std::string::npos;
      };
    }
    Pending* p = pending.get();
    p->thread = std::thread([port, request, p] {
      p->response = Https(port, request);
      p->done = true;
    });
    all.push_back(std::move(pending));
  }
  return all;
}

void JoinAll(std::vector<std::unique_ptr<Pending>>& all) {
  for (auto& pending : all) pending->thread.join();
}

// With etcd hung (SIGSTOP) and `upstream_response: 1`, an ordinary request
// gets 504 while a watch waits on: each spelling etcd reads as a true
// `wait` (Go's url.ParseQuery, then strconv.ParseBool of the first value)
// waits, is counted on the watches gauge, and gets its event once etcd is
// back; every other spelling is an ordinary request.
TEST(WatchSpellingTest, EverySpellingEtcdWaitsOnIsAWatchAndNoOther) {
  Stack stack;
  ProxyOptions options;
  options.admin_port = FreePort();
  options.extra_yaml = "timeouts: {upstream_response: 1}\n";
  ASSERT_TRUE(stack.Start(options));
  const uint16_t admin = stack.proxy.admin_port();
  const std::string key = "/eventlogging/" + UniqueName("spelled");
  const std::string path = "/v2/keys" + key;
  // From this index on, a watch that etcd registers late still finds the event.
  const std::string since = "&waitIndex=" + std::to_string(NextIndexOf(stack.etcd));
  const std::vector<std::string> watch_queries = {
      "wait=1" + since,          "wa%69t=true" + since, "xwait=true&wait=true" + since,
      "wait=TRUE" + since,       "wait=t" + since,      "wait=T" + since,
      "wait=True" + since,       "wait=tru%65" + since, "wait=true&wait=false" + since,
      "wait=1&stream=1" + since,
  };
  const std::vector<std::string> ordinary_queries = {
      "wait=false&wait=true", "stream=1",    "stream=true", "wait=yes", "wait=0", "wait=", "wait",
      "waitx=true",           "wait%3Dtrue",
  };

  stack.etcd.Signal(SIGSTOP);
  auto watches = StartAll(stack.port(), path, watch_queries, 30s, "\"value\":\"event\"");
  // Every watch has been forwarded and counted while etcd says nothing.
  EXPECT_TRUE(WaitForMetric(admin, kWatchesGauge, static_cast<double>(watch_queries.size())));
  // Ordinary requests forwarded after them get their 504 after 1 s...
  auto ordinary = StartAll(stack.port(), path, ordinary_queries, 10s);
  JoinAll(ordinary);
  for (const auto& request : ordinary) {
    EXPECT_TRUE(IsJsonError(request->response, 504))
        << "?" << request->query << " was not answered like an ordinary request";
  }
  // ...by which time the watches' 1 s would have run out too: none was cut.
  for (const auto& watch : watches) {
    EXPECT_FALSE(watch->done) << "?" << watch->query
                              << " ended while etcd was hung: " << watch->response.status << " "
                              << watch->response.body;
  }

  stack.etcd.Signal(SIGCONT);
  EXPECT_TRUE(stack.etcd.Put(key, "event"));  // no ASSERT: the threads must be joined
  JoinAll(watches);
  for (const auto& watch : watches) {
    EXPECT_EQ(watch->response.status, 200) << "?" << watch->query << ": " << watch->response.error;
    EXPECT_NE(watch->response.body.find("\"value\":\"event\""), std::string::npos)
        << "?" << watch->query << ": " << watch->response.body;
  }
  EXPECT_TRUE(WaitForMetric(admin, kWatchesGauge, 0));
  EXPECT_TRUE(stack.proxy.Stop());
}

// Opens `watch` through a fresh proxy, waits until it is open (response
// head, and counted on the watches gauge), then stops the proxy with
// SIGTERM (which must exit 0) and returns what the client saw.
HttpResponse WatchThroughSigterm(HttpsRequest watch) {
  Stack stack;
  ProxyOptions options;
  options.admin_port = FreePort();
  HttpResponse response;
  if (!stack.Start(options)) {
    ADD_FAILURE() << "the stack did not start";
    return response;
  }
  watch.timeout = 30s;
  SharedBody received;
  watch.on_head = [&](long status) { received.Set("head " + std::to_string(status)); };
  std::thread watcher([&] { response = Https(stack.port(), watch); });
  EXPECT_TRUE(received.WaitFor("head 200", 10s)) << "no response head within 10 s";
  EXPECT_TRUE(WaitForMetric(stack.proxy.admin_port(), kWatchesGauge, 1));
  EXPECT_TRUE(stack.proxy.Stop(SIGTERM));  // exit status 0
  watcher.join();
  return response;
}

// The v3 gateway's watch (POST /v3/watch, a stream of JSON messages) is a
// watch too: on the gauge while open, and ended cleanly by SIGTERM.
TEST(WatchSpellingTest, GatewayWatchIsCountedAndEndedCleanlyBySigterm) {
  HttpsRequest watch;
  watch.method = "POST";
  watch.path = "/v3/watch";
  watch.body = "{\"create_request\":{\"key\":\"" + Base64("/conftool/" + UniqueName("gw")) + "\"}}";
  const HttpResponse response = WatchThroughSigterm(watch);
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.error.empty())
      << "the gateway watch did not end cleanly: " << response.error;
  EXPECT_NE(response.body.find("\"created\":true"), std::string::npos) << response.body;
}

// SIGTERM ends a `?wait=1` long poll as it ends a `?wait=true` one: with a
// clean end of stream, at once, not when drain_timeout runs out.
TEST(WatchSpellingTest, SigtermEndsAWaitOneLongPollCleanly) {
  HttpsRequest watch;
  watch.path = "/v2/keys/" + UniqueName("drained") + "?wait=1";
  const HttpResponse response = WatchThroughSigterm(watch);
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.error.empty()) << "the long poll did not end cleanly: " << response.error;
  EXPECT_EQ(response.body.find("\"action\""), std::string::npos) << response.body;
}

}  // namespace
}  // namespace tlsproxy::integration
