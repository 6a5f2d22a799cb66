// Limits that keep one bad peer from hurting everyone: a request head that
// trickles in is cut off with 408; a hung etcd gives 504 to ordinary requests
// while watches wait on; past max_connections new connections are closed and
// the open ones keep working; repeated wrong passwords from one address get
// 429 with Retry-After.
#include <signal.h>

#include <thread>

#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

TEST(TimeoutsTest, SlowRequestHeadIsCutOffWith408) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "timeouts: {request_headers: 1}\n";
  ASSERT_TRUE(stack.Start(options));
  // Half a head, then silence: the proxy answers 408 and closes.
  const RawResponse response =
      RawTls(stack.port(), "GET /v2/keys/x HTTP/1.1\r\nHost: x\r\n", std::nullopt, 10s);
  EXPECT_EQ(response.status, 408) << response.raw;
  EXPECT_TRUE(IsJsonWithMessage(response.body)) << response.body;
  // Others are served meanwhile and after.
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, HungEtcdGives504ButWatchesWait) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "timeouts: {upstream_response: 1}\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/eventlogging/" + UniqueName("hung");
  // A watch registered before etcd hangs.
  HttpsRequest watch;
  watch.path = "/v2/keys" + key + "?wait=true";
  watch.timeout = 30s;
  std::atomic<bool> head{false};
  watch.on_head = [&](long) { head = true; };
  HttpResponse watched;
  std::thread watcher([&] { watched = Https(stack.port(), watch); });
  for (int i = 0; i < 200 && !head; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(head.load());

  stack.etcd.Signal(SIGSTOP);
  const HttpResponse hung = HttpsGet(stack.port(), "/v2/keys" + key);
  stack.etcd.Signal(SIGCONT);
  EXPECT_TRUE(IsJsonError(hung, 504));

  // The watch outlived the 1 s response timeout and still gets its event.
  ASSERT_TRUE(stack.etcd.Put(key, "after"));
  watcher.join();
  EXPECT_EQ(watched.status, 200) << watched.error;
  EXPECT_NE(watched.body.find("\"value\":\"after\""), std::string::npos) << watched.body;
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, PastMaxConnectionsNewOnesAreClosedOthersServed) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "max_connections: 1\n";
  ASSERT_TRUE(stack.Start(options));
  // Hold the one allowed connection open with a watch.
  HttpsRequest watch;
  watch.path = "/v2/keys/" + UniqueName("held") + "?wait=true";
  watch.timeout = 30s;
  std::atomic<bool> head{false};
  watch.on_head = [&](long) { head = true; };
  watch.on_data = [&](const std::string&) { return true; };
  HttpResponse held;
  std::thread holder;
  // The harness's own readiness probe may still count for a moment: retry
  // (bounded) until the watch holds the one slot.
  std::atomic<bool> ended{false};
  for (int attempt = 0; attempt < 20 && !head; ++attempt) {
    if (holder.joinable()) holder.join();
    ended = false;
    holder = std::thread([&] {
      held = Https(stack.port(), watch);
      ended = true;
    });
    for (int i = 0; i < 40 && !head && !ended; ++i) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(head.load()) << held.error;

  const HttpResponse refused = HttpsGet(stack.port(), "/version");
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());

  // The held connection still works: its watch completes.
  ASSERT_TRUE(stack.etcd.Put(watch.path.substr(8, watch.path.find('?') - 8), "v"));
  holder.join();
  EXPECT_EQ(held.status, 200) << held.error;
  EXPECT_TRUE(stack.proxy.Stop());
}

TEST(TimeoutsTest, RepeatedWrongPasswordsGet429WithRetryAfter) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "auth_throttle: {max_failures: 3, window: 60, backoff: 30}\n";
  ASSERT_TRUE(stack.Start(options));
  const std::string key = "/conftool/" + UniqueName("throttle");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(IsUnauthorized(HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", "bad")));
  }
  // Now even the right password waits: guessing is slowed for this address.
  const HttpResponse throttled =
      HttpsPut(stack.port(), "/v2/keys" + key, "x", "conftool", kConftoolPassword);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_FALSE(throttled.Header("retry-after").empty());
  EXPECT_TRUE(IsJsonWithMessage(throttled.body));
  EXPECT_TRUE(stack.etcd.Missing(key));
  // Requests without credentials are not slowed.
  EXPECT_EQ(HttpsGet(stack.port(), "/version").status, 200);
  EXPECT_NE(stack.proxy.Logs().find("too many failed authentication attempts"), std::string::npos);
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
