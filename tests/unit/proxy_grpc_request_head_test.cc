// GrpcRequestHead: only canonical gRPC heads pass; what goes to etcd in
// their place; grpc-timeout parsing.
#include "proxy/grpc_request_head.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tlsproxy::proxy {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

const Fields kCanonical = {{":method", "POST"},
                           {":scheme", "https"},
                           {":authority", "localhost:2379"},
                           {":path", "/etcdserverpb.KV/Put"},
                           {"content-type", "application/grpc"},
                           {"te", "trailers"},
                           {"grpc-timeout", "5S"},
                           {"user-agent", "grpc-go/1.26.0"}};

GrpcRequestHead Head(Fields fields, const std::string& name = "", const std::string& value = "") {
  GrpcRequestHead head(16384);
  bool replaced = false;
  for (auto& [n, v] : fields) {
    if (n == name) {
      v = value;
      replaced = true;
    }
  }
  if (!name.empty() && !replaced) fields.emplace_back(name, value);
  for (const auto& [n, v] : fields) EXPECT_TRUE(head.Add(n, v, false));
  return head;
}

TEST(GrpcRequestHeadTest, CanonicalHeadPasses) {
  const GrpcRequestHead head = Head(kCanonical);
  EXPECT_TRUE(head.IsGrpc());
  EXPECT_FALSE(head.Check().has_value());
  EXPECT_EQ(head.path(), "/etcdserverpb.KV/Put");
  ASSERT_TRUE(head.Timeout().has_value());
  EXPECT_EQ(head.Timeout()->tv_sec, 5);
  EXPECT_FALSE(Head(kCanonical, "content-type", "application/grpc+proto").Check().has_value());
  EXPECT_FALSE(Head(kCanonical, "grpc-encoding", "identity").Check().has_value());
}

struct Refused {
  std::string name;
  std::string value;
  int code;
};

TEST(GrpcRequestHeadTest, EveryOtherFormIsRefused) {
  const std::vector<Refused> cases = {
      {":path", "etcdserverpb.KV/Put", kGrpcUnimplemented},
      {":path", "/etcdserverpb.KV/Put/", kGrpcUnimplemented},
      {":path", "//etcdserverpb.KV/Put", kGrpcUnimplemented},
      {":path", "/etcdserverpb.KV/Put?x=1", kGrpcUnimplemented},
      {":path", "/etcdserverpb.KV/P%75t", kGrpcUnimplemented},
      {":path", "/etcdserverpb.KV", kGrpcUnimplemented},
      {":method", "GET", kGrpcInvalidArgument},
      {":method", "PUT", kGrpcInvalidArgument},
      {"content-type", "application/grpc+json", kGrpcInvalidArgument},
      {"content-type", "application/grpc; charset=utf-8", kGrpcInvalidArgument},
      {"content-type", "application/GRPC", kGrpcInvalidArgument},
      {"grpc-encoding", "gzip", kGrpcUnimplemented},
      {"grpc-timeout", "5", kGrpcInvalidArgument},
      {"grpc-timeout", "123456789S", kGrpcInvalidArgument},
      {"grpc-timeout", "1x", kGrpcInvalidArgument},
      {"grpc-timeout", "-1S", kGrpcInvalidArgument},
  };
  for (const Refused& c : cases) {
    const std::optional<GrpcStatus> refusal = Head(kCanonical, c.name, c.value).Check();
    ASSERT_TRUE(refusal.has_value()) << c.name << ": " << c.value;
    EXPECT_EQ(refusal->code, c.code) << c.name << ": " << c.value;
  }
}

TEST(GrpcRequestHeadTest, NotGrpcAtAll) {
  EXPECT_FALSE(Head(kCanonical, "content-type", "application/json").IsGrpc());
  EXPECT_FALSE(Head(kCanonical, "content-type", "").IsGrpc());
  EXPECT_TRUE(Head(kCanonical, "content-type", "application/grpc+json").IsGrpc());
}

TEST(GrpcRequestHeadTest, UpstreamHeadersDropTokensAndCompression) {
  Fields fields = kCanonical;
  fields.emplace_back("token", "secret-token");
  fields.emplace_back("authorization", "Bearer x");
  fields.emplace_back("grpc-accept-encoding", "gzip");
  fields.emplace_back("hasleader", "true");
  fields.emplace_back("connection", "keep-alive");
  const HeaderList upstream = Head(fields).UpstreamHeaders();
  const HeaderList expected = {{":method", "POST"},
                               {":scheme", "http"},
                               {":authority", "localhost:2379"},
                               {":path", "/etcdserverpb.KV/Put"},
                               {"content-type", "application/grpc"},
                               {"te", "trailers"},
                               {"grpc-timeout", "5S"},
                               {"user-agent", "grpc-go/1.26.0"},
                               {"hasleader", "true"}};
  EXPECT_EQ(upstream, expected);
}

TEST(GrpcRequestHeadTest, HeaderListSizeCountsAsHttp2Does) {
  GrpcRequestHead head(100);
  EXPECT_TRUE(head.Add("a", std::string(30, 'x'), false));  // 63
  EXPECT_FALSE(head.Add("b", std::string(5, 'x'), false));  // 101
}

TEST(GrpcTimeoutTest, Units) {
  timeval t{};
  ASSERT_TRUE(ParseGrpcTimeout("2H", &t));
  EXPECT_EQ(t.tv_sec, 7200);
  ASSERT_TRUE(ParseGrpcTimeout("3M", &t));
  EXPECT_EQ(t.tv_sec, 180);
  ASSERT_TRUE(ParseGrpcTimeout("1500m", &t));
  EXPECT_EQ(t.tv_sec, 1);
  EXPECT_EQ(t.tv_usec, 500000);
  ASSERT_TRUE(ParseGrpcTimeout("250u", &t));
  EXPECT_EQ(t.tv_usec, 250);
  ASSERT_TRUE(ParseGrpcTimeout("99999999n", &t));
  EXPECT_EQ(t.tv_usec, 99999);
  ASSERT_TRUE(ParseGrpcTimeout("99999999H", &t));
  EXPECT_EQ(t.tv_sec, 99999999L * 3600);
  EXPECT_FALSE(ParseGrpcTimeout("S", &t));
  EXPECT_FALSE(ParseGrpcTimeout("1s", &t));
}

}  // namespace
}  // namespace tlsproxy::proxy
