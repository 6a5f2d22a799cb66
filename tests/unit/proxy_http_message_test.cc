// Pins the framing checks that keep smuggled requests from reaching etcd,
// and the hop-by-hop table.
#include "proxy/http_message.h"

#include <gtest/gtest.h>

namespace tlsproxy::proxy {
namespace {

RequestHead Head(HeaderList headers, int minor = 1, std::string method = "PUT") {
  RequestHead head;
  head.method = std::move(method);
  head.target = "/v2/keys/a";
  head.http_minor = minor;
  head.headers = std::move(headers);
  return head;
}

struct FramingCase {
  const char* name;
  RequestHead head;
  bool refused;
};

TEST(CheckRequestFraming, Table) {
  const FramingCase cases[] = {
      {"plain", Head({{"Host", "x"}}), false},
      {"one content-length", Head({{"Content-Length", "3"}}), false},
      {"chunked", Head({{"Transfer-Encoding", "chunked"}}), false},
      {"chunked any case", Head({{"transfer-encoding", "Chunked"}}), false},
      {"two content-length", Head({{"Content-Length", "3"}, {"content-length", "3"}}), true},
      {"cl and te", Head({{"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}}), true},
      {"xchunked", Head({{"Transfer-Encoding", "xchunked"}}), true},
      {"chunked, identity", Head({{"Transfer-Encoding", "chunked, identity"}}), true},
      {"identity", Head({{"Transfer-Encoding", "identity"}}), true},
      {"two te", Head({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}), true},
      {"te in 1.0", Head({{"Transfer-Encoding", "chunked"}}, 0), true},
      {"upgrade", Head({{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}), true},
      {"connect", Head({}, 1, "CONNECT"), true},
      {"http/1.2", Head({}, 2), true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CheckRequestFraming(c.head).has_value(), c.refused) << c.name;
  }
}

TEST(HopByHop, TableAndConnectionTokens) {
  const HeaderList headers = {{"Connection", "keep-alive, X-Secret"}, {"Connection", " Foo "}};
  const auto tokens = ConnectionTokens(headers);
  EXPECT_EQ(tokens, (std::vector<std::string>{"keep-alive", "x-secret", "foo"}));
  for (const char* name : {"Connection", "keep-alive", "TE", "Transfer-Encoding", "Upgrade",
                           "Proxy-Authorization", "Content-Length", "X-Secret", "foo"}) {
    EXPECT_TRUE(IsHopByHop(name, tokens)) << name;
  }
  for (const char* name : {"Host", "Authorization", "Content-Type", "X-Etcd-Index"}) {
    EXPECT_FALSE(IsHopByHop(name, tokens)) << name;
  }
}

TEST(IsTokenText, HeaderNames) {
  for (const char* ok : {"Content-Length", "X-Etcd-Index", "a!#$%&'*+-.^_`|~9"}) {
    EXPECT_TRUE(IsTokenText(ok)) << ok;
  }
  for (const char* bad :
       {"Content-Length ", "Transfer-Encoding\t", "X Y", "a:b", "a\"b", "a(b)", "\x80"}) {
    EXPECT_FALSE(IsTokenText(bad)) << bad;
  }
}

TEST(AppendHeader, NameColonValueCrlf) {
  std::string out = "GET / HTTP/1.1\r\n";
  AppendHeader(out, "Host", "etcd:2379");
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nHost: etcd:2379\r\n");
}

TEST(ReasonPhrase, FromLibHttpParser) {
  const struct {
    int status;
    const char* phrase;
  } cases[] = {
      {200, "OK"},
      {201, "Created"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {412, "Precondition Failed"},
      {413, "Payload Too Large"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {502, "Bad Gateway"},
      {504, "Gateway Timeout"},
      {511, "Network Authentication Required"},
      {299, "<unknown>"},
      {599, "<unknown>"},  // beyond the range of the library's enum
      {999, "<unknown>"},
      {-1, "<unknown>"},
  };
  for (const auto& c : cases) EXPECT_STREQ(ReasonPhrase(c.status), c.phrase) << c.status;
}

TEST(RequestHead, LookupIsCaseInsensitive) {
  const RequestHead head = Head({{"Authorization", "a"}, {"authorization", "b"}});
  EXPECT_EQ(head.All("AUTHORIZATION").size(), 2u);
  EXPECT_EQ(head.First("authorization").value(), "a");
  EXPECT_FALSE(head.First("host").has_value());
}

}  // namespace
}  // namespace tlsproxy::proxy
