// WatchRelay: etcd's messages pass unchanged; refused creates are answered
// etcd's way, in the order the creates were sent; watches are counted.
#include "proxy/grpc_watch_relay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"

namespace tlsproxy::proxy {
namespace {

namespace pb = etcdserverpb;

const GrpcStatus kDenied{kGrpcPermissionDenied, "etcdserver: permission denied"};

std::string Created(int64_t id, int64_t revision) {
  pb::WatchResponse r;
  r.mutable_header()->set_revision(revision);
  r.mutable_header()->set_cluster_id(42);
  r.set_watch_id(id);
  r.set_created(true);
  return FrameGrpcMessage(r.SerializeAsString());
}

std::string Canceled(int64_t id) {
  pb::WatchResponse r;
  r.mutable_header()->set_revision(9);
  r.set_watch_id(id);
  r.set_canceled(true);
  return FrameGrpcMessage(r.SerializeAsString());
}

std::vector<pb::WatchResponse> Messages(const std::string& bytes) {
  GrpcMessageReader reader(1 << 20);
  std::vector<GrpcMessage> messages;
  EXPECT_EQ(reader.Feed(bytes, &messages), GrpcMessageReader::Status::kOk);
  EXPECT_FALSE(reader.HasPartialMessage());
  std::vector<pb::WatchResponse> out;
  for (const GrpcMessage& m : messages) {
    pb::WatchResponse r;
    EXPECT_TRUE(r.ParseFromString(m.bytes));
    out.push_back(r);
  }
  return out;
}

TEST(WatchRelayTest, RefusalFirstIsAnsweredAtOnceWithAnEmptyHeader) {
  WatchRelay relay(1 << 20);
  const std::vector<pb::WatchResponse> out = Messages(relay.CreateRefused(kDenied));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].watch_id(), -1);
  EXPECT_TRUE(out[0].created());
  EXPECT_TRUE(out[0].canceled());
  EXPECT_EQ(out[0].cancel_reason(),
            "rpc error: code = PermissionDenied desc = etcdserver: permission denied");
  EXPECT_TRUE(out[0].has_header());  // etcdctl 3.4 dereferences it
}

TEST(WatchRelayTest, RefusalWaitsForEarlierCreatesAndCarriesEtcdsHeader) {
  WatchRelay relay(1 << 20);
  relay.CreateForwarded();
  EXPECT_EQ(relay.CreateRefused(kDenied), "");  // held: create 1 not answered yet
  relay.CreateForwarded();
  EXPECT_EQ(relay.CreateRefused(GrpcStatus{3, "etcdserver: user name is empty"}), "");

  WatchRelay::Output first = relay.FromEtcd(Created(0, 7));
  std::vector<pb::WatchResponse> out = Messages(first.bytes);
  ASSERT_EQ(out.size(), 2u);  // etcd's answer, then the refusal behind it
  EXPECT_EQ(out[0].watch_id(), 0);
  EXPECT_EQ(out[1].watch_id(), -1);
  EXPECT_EQ(out[1].header().revision(), 7);
  EXPECT_EQ(out[1].header().cluster_id(), 42u);
  EXPECT_EQ(first.watches_opened, 1);

  // The second refusal waits for the second forwarded create.
  WatchRelay::Output second = relay.FromEtcd(Created(1, 8));
  out = Messages(second.bytes);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].watch_id(), 1);
  EXPECT_EQ(out[1].cancel_reason(),
            "rpc error: code = InvalidArgument desc = etcdserver: user name is empty");
  EXPECT_EQ(relay.open_watches(), 2u);

  // Nothing waiting any more: a refusal goes at once.
  EXPECT_EQ(Messages(relay.CreateRefused(kDenied)).size(), 1u);
}

TEST(WatchRelayTest, EtcdsBytesPassUnchangedHoweverSplit) {
  WatchRelay relay(1 << 20);
  relay.CreateForwarded();
  const std::string bytes = Created(5, 3) + Canceled(5);
  std::string relayed;
  int opened = 0;
  int closed = 0;
  for (const char c : bytes) {
    const WatchRelay::Output out = relay.FromEtcd(std::string_view(&c, 1));
    relayed += out.bytes;
    opened += out.watches_opened;
    closed += out.watches_closed;
  }
  EXPECT_EQ(relayed, bytes);
  EXPECT_EQ(opened, 1);
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(relay.open_watches(), 0u);
}

TEST(WatchRelayTest, MessageOverTheLimitEndsTheStream) {
  WatchRelay relay(4);
  EXPECT_TRUE(relay.FromEtcd(Created(0, 1)).too_large);
}

}  // namespace
}  // namespace tlsproxy::proxy
