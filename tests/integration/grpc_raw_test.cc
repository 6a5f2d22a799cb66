// gRPC over HTTP/2 at the byte level: a raw nghttp2 client (h2_client.h)
// sends what grpc-go never would (duplicate protobuf fields, two messages on
// a unary call, compressed or truncated frames, odd heads) and the floods
// HTTP/2 servers must survive (rapid reset, CONTINUATION, PING, SETTINGS).
// Every refused write is checked in etcd directly; after every flood the
// proxy must still serve a new connection.
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "tests/integration/h2_client.h"
#include "tests/integration/harness.h"

namespace tlsproxy::integration {
namespace {

constexpr int kOk = 0;
constexpr int kInvalidArgument = 3;
constexpr int kPermissionDenied = 7;
constexpr int kResourceExhausted = 8;
constexpr int kUnimplemented = 12;
constexpr int kInternal = 13;

// The stream ended without success: a reset, a non-zero grpc-status or an
// HTTP status other than 200.
::testing::AssertionResult Refused(const H2Client::Stream& stream) {
  if (!stream.closed) return ::testing::AssertionFailure() << "not closed: " << stream.Describe();
  const int status = stream.GrpcStatus();
  if (status == kOk) return ::testing::AssertionFailure() << "succeeded: " << stream.Describe();
  if (stream.reset || status > 0 ||
      (!stream.HttpStatus().empty() && stream.HttpStatus() != "200")) {
    return ::testing::AssertionSuccess() << stream.Describe();
  }
  return ::testing::AssertionFailure() << "no refusal seen: " << stream.Describe();
}

// A Put as root on a new connection succeeds and is in etcd: the proxy
// still serves.
::testing::AssertionResult ServesNewConnection(uint16_t port, const EtcdServer& etcd) {
  std::string error;
  H2Client::Options options;
  options.client = "root";
  std::unique_ptr<H2Client> client = H2Client::Connect(port, options, &error);
  if (!client) return ::testing::AssertionFailure() << "cannot connect: " << error;
  const std::string key = "/" + UniqueName("grpcraw-after");
  const H2Client::Stream put = client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "alive")));
  if (put.GrpcStatus() != kOk) return ::testing::AssertionFailure() << put.Describe();
  if (etcd.V3ValueOf(key) != "alive") return ::testing::AssertionFailure() << key << " not in etcd";
  return ::testing::AssertionSuccess();
}

// Every frame the server sends until it closes the connection (at most
// `timeout`); `closed` says whether it did.
std::vector<H2RawFrame> FramesUntilClosed(H2Tls& tls, bool* closed,
                                          std::chrono::milliseconds timeout = 10s) {
  std::string bytes;
  *closed = tls.WaitClosed(timeout, &bytes);
  return TakeFrames(&bytes);
}

bool HasGoaway(const std::vector<H2RawFrame>& frames, uint32_t* code = nullptr) {
  for (const H2RawFrame& frame : frames) {
    if (frame.type != kH2Goaway) continue;
    if (code != nullptr) *code = H2ErrorCodeOf(frame);
    return true;
  }
  return false;
}

// Writes `frame` `batch` times per write, without reading, until a write
// fails (the proxy closed the connection) or `max_batches` were written;
// then reads until the proxy closes. True when the connection ended.
bool FloodUntilClosed(uint16_t port, const std::string& frame, size_t batch, size_t max_batches,
                      size_t* batches_written) {
  H2Tls::Options options;
  options.receive_buffer = 4096;  // we never read: let the proxy's output back up soon
  std::string error;
  std::unique_ptr<H2Tls> tls = H2Tls::Connect(port, options, &error);
  EXPECT_TRUE(tls) << error;
  if (!tls) return false;
  std::string burst;
  for (size_t i = 0; i < batch; ++i) burst += frame;
  bool written = tls->Write(H2Preface());
  *batches_written = 0;
  while (written && *batches_written < max_batches) {
    written = tls->Write(burst, 5s);
    if (written) ++*batches_written;
  }
  return tls->closed() || tls->WaitClosed(10s);
}

class GrpcRawTest : public SharedProxyTest {
 protected:
  static std::string Key(const std::string& prefix = "/") { return prefix + UniqueName("grpcraw"); }
};

TEST_F(GrpcRawTest, AllowedPutAsRootIsWritten) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  const H2Client::Stream put = client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "v1")));
  EXPECT_EQ(put.GrpcStatus(), kOk) << put.Describe();
  EXPECT_EQ(put.HttpStatus(), "200");
  EXPECT_EQ(GrpcMessages(put.data).size(), 1u) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), "v1");

  // And read back through the proxy on the same connection.
  const H2Client::Stream range = client->Call(kRangePath, GrpcFrame(RangeRequestBytes(key)));
  EXPECT_EQ(range.GrpcStatus(), kOk) << range.Describe();
  const std::vector<std::string> messages = GrpcMessages(range.data);
  ASSERT_EQ(messages.size(), 1u) << range.Describe();
  EXPECT_EQ(RangeResponseValue(messages[0]), "v1");
}

// Protobuf keeps the last of a repeated scalar field; the ACL must decide
// the key etcd will write, which is the last one.
TEST_F(GrpcRawTest, DuplicateKeyFieldWithProtectedLastKeyIsRefused) {
  auto client = Connect(port(), "conftool");
  ASSERT_TRUE(client);
  const std::string allowed = Key("/conftool/");
  const std::string outside = Key("/outside-");
  const std::string message =
      ProtoBytesField(1, allowed) + ProtoBytesField(1, outside) + ProtoBytesField(2, "sneaky");
  const H2Client::Stream put = client->Call(kPutPath, GrpcFrame(message));
  EXPECT_EQ(put.GrpcStatus(), kPermissionDenied) << put.Describe();
  EXPECT_EQ(put.GrpcMessage(), "etcdserver: permission denied");
  EXPECT_EQ(etcd().V3ValueOf(outside), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(allowed), std::nullopt);
}

TEST_F(GrpcRawTest, DuplicateKeyFieldWithAllowedLastKeyWritesTheLastKey) {
  auto client = Connect(port(), "conftool");
  ASSERT_TRUE(client);
  const std::string outside = Key("/outside-");
  const std::string allowed = Key("/conftool/");
  const std::string message =
      ProtoBytesField(1, outside) + ProtoBytesField(1, allowed) + ProtoBytesField(2, "mine");
  const H2Client::Stream put = client->Call(kPutPath, GrpcFrame(message));
  EXPECT_EQ(put.GrpcStatus(), kOk) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(allowed), "mine");
  EXPECT_EQ(etcd().V3ValueOf(outside), std::nullopt);
}

TEST_F(GrpcRawTest, TwoMessagesOnAUnaryPutAreRefusedAndNeitherIsWritten) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string first = Key();
  const std::string second = Key();
  const H2Client::Stream put =
      client->Call(kPutPath, GrpcFrame(PutRequestBytes(first, "one")) +
                                 GrpcFrame(PutRequestBytes(second, "two")));
  EXPECT_EQ(put.GrpcStatus(), kInternal) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(first), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(second), std::nullopt);
}

TEST_F(GrpcRawTest, TwoMessagesInSeparateFramesAreRefusedToo) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string first = Key();
  const std::string second = Key();
  const int32_t id = client->Open(GrpcHeaders(kPutPath));
  ASSERT_GT(id, 0);
  client->Send(id, GrpcFrame(PutRequestBytes(first, "one")));
  ASSERT_TRUE(client->RunUntil([] { return true; }));  // the first frame goes out alone
  client->Send(id, GrpcFrame(PutRequestBytes(second, "two")), true);
  const H2Client::Stream& put = client->WaitClosed(id);
  EXPECT_EQ(put.GrpcStatus(), kInternal) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(first), std::nullopt);
  EXPECT_EQ(etcd().V3ValueOf(second), std::nullopt);
}

TEST_F(GrpcRawTest, CompressedFlagIsRefused) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  const H2Client::Stream put =
      client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "zipped"), /*compressed=*/true));
  EXPECT_EQ(put.GrpcStatus(), kInternal) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(GrpcRawTest, GzipEncodingIsUnimplemented) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  const H2Client::Stream put =
      client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "gz")), {{"grpc-encoding", "gzip"}});
  EXPECT_EQ(put.GrpcStatus(), kUnimplemented) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(GrpcRawTest, MessageSplitOverSeveralDataFramesIsServed) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  const std::string framed = GrpcFrame(PutRequestBytes(key, "in pieces"));
  const int32_t id = client->Open(GrpcHeaders(kPutPath));
  ASSERT_GT(id, 0);
  // Inside the prefix, at its end, inside the message, then the rest.
  const size_t cuts[] = {2, 5, 9, framed.size()};
  size_t at = 0;
  for (const size_t cut : cuts) {
    client->Send(id, framed.substr(at, cut - at), cut == framed.size());
    ASSERT_TRUE(client->RunUntil([] { return true; }));  // each piece its own DATA frame
    at = cut;
  }
  const H2Client::Stream& put = client->WaitClosed(id);
  EXPECT_EQ(put.GrpcStatus(), kOk) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), "in pieces");
}

TEST_F(GrpcRawTest, LengthPrefixBeyondTheDataThenEndOfStreamIsRefused) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  const std::string message = PutRequestBytes(key, "short");
  const H2Client::Stream put =
      client->Call(kPutPath, GrpcPrefix(static_cast<uint32_t>(message.size() + 50)) + message);
  EXPECT_EQ(put.GrpcStatus(), kInternal) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(GrpcRawTest, LengthOverMaxBodyBytesIsResourceExhausted) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  const std::string message = PutRequestBytes(key, "huge");
  // max_body_bytes is 20971520 (the default): the prefix alone is refused,
  // before the bytes it announces arrive. The request is not ended.
  const int32_t id = client->Open(GrpcHeaders(kPutPath));
  ASSERT_GT(id, 0);
  client->Send(id, GrpcPrefix(20971521) + message);
  const H2Client::Stream& put = client->WaitClosed(id);
  EXPECT_EQ(put.GrpcStatus(), kResourceExhausted) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(GrpcRawTest, BytesThatAreNotProtobufAreInvalidArgument) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  // Field 1, length 16, then only two bytes.
  const H2Client::Stream put = client->Call(kPutPath, GrpcFrame(std::string("\x0a\x10xy", 4)));
  EXPECT_EQ(put.GrpcStatus(), kInvalidArgument) << put.Describe();
}

TEST_F(GrpcRawTest, PathWithoutLeadingSlashIsRefused) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  H2Headers headers = GrpcHeaders(kPutPath);
  headers[3].second = "etcdserverpb.KV/Put";
  const int32_t id = client->Open(headers);
  ASSERT_GT(id, 0);
  client->Send(id, GrpcFrame(PutRequestBytes(key, "noslash")), true);
  // nghttp2's own HTTP checks reset it (PROTOCOL_ERROR) before the proxy
  // sees the head; the proxy's check would say 12. Either is a refusal.
  EXPECT_TRUE(Refused(client->WaitClosed(id)));
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(GrpcRawTest, NonProtobufContentTypesAreRefused) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  H2Headers json = GrpcHeaders(kPutPath);
  json[4].second = "application/grpc+json";
  int32_t id = client->Open(json);
  ASSERT_GT(id, 0);
  client->Send(id, GrpcFrame(PutRequestBytes(key, "json")), true);
  const H2Client::Stream& as_json = client->WaitClosed(id);
  EXPECT_EQ(as_json.GrpcStatus(), kInvalidArgument) << as_json.Describe();

  // Not gRPC at all: HTTP 415.
  H2Headers plain = GrpcHeaders(kPutPath);
  plain[4].second = "text/plain";
  id = client->Open(plain);
  ASSERT_GT(id, 0);
  client->Send(id, GrpcFrame(PutRequestBytes(key, "plain")), true);
  const H2Client::Stream& as_text = client->WaitClosed(id);
  EXPECT_EQ(as_text.HttpStatus(), "415") << as_text.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

TEST_F(GrpcRawTest, GetMethodIsRefused) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  H2Headers headers = GrpcHeaders(kPutPath);
  headers[0].second = "GET";
  const int32_t id = client->Open(headers);
  ASSERT_GT(id, 0);
  client->Send(id, GrpcFrame(PutRequestBytes(key, "get")), true);
  const H2Client::Stream& get = client->WaitClosed(id);
  EXPECT_TRUE(Refused(get));
  EXPECT_EQ(get.GrpcStatus(), kInvalidArgument) << get.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
}

// etcd 3.4 with auth off answers any `token` it is given with "invalid auth
// token": the call succeeding is the proof that the proxy dropped it.
// The proxy's own login token, as `token` and as `authorization`, works and
// is not forwarded: etcd 3.4 with its auth off answers any token it is
// given with "invalid auth token". A token the proxy did not sign is 16.
TEST_F(GrpcRawTest, TokenAndAuthorizationMetadataAreNotForwarded) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  etcdserverpb::AuthenticateRequest login;
  login.set_name("conftool");
  login.set_password(kConftoolPassword);
  const H2Client::Stream authenticated =
      client->Call("/etcdserverpb.Auth/Authenticate", GrpcFrame(login.SerializeAsString()));
  ASSERT_EQ(authenticated.GrpcStatus(), kOk) << authenticated.Describe();
  const std::vector<std::string> messages = GrpcMessages(authenticated.data);
  ASSERT_EQ(messages.size(), 1u);
  etcdserverpb::AuthenticateResponse response;
  ASSERT_TRUE(response.ParseFromString(messages[0]));
  const std::string token = response.token();

  const std::string key = Key();
  const H2Client::Stream put =
      client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "tokened")),
                   {{"token", token}, {"authorization", "Bearer " + token}});
  EXPECT_EQ(put.GrpcStatus(), kOk) << put.Describe();
  EXPECT_EQ(etcd().V3ValueOf(key), "tokened");

  const std::string other = Key();
  const H2Client::Stream bogus =
      client->Call(kPutPath, GrpcFrame(PutRequestBytes(other, "x")), {{"token", "bogus"}});
  EXPECT_EQ(bogus.GrpcStatus(), 16) << bogus.Describe();
  EXPECT_EQ(etcd().V3ValueOf(other), std::nullopt);
}

TEST_F(GrpcRawTest, HeaderListOverMaxHeaderBytesResetsTheStreamOnly) {
  auto client = Connect(port(), "root");
  ASSERT_TRUE(client);
  const std::string key = Key();
  // max_header_bytes is 16384 (the default).
  const int32_t id = client->Open(GrpcHeaders(kPutPath, {{"x-padding", std::string(20000, 'p')}}));
  ASSERT_GT(id, 0);
  client->Send(id, GrpcFrame(PutRequestBytes(key, "padded")), true);
  const H2Client::Stream& put = client->WaitClosed(id);
  EXPECT_TRUE(Refused(put));
  EXPECT_EQ(etcd().V3ValueOf(key), std::nullopt);
  // The connection (and its HPACK state) is intact.
  const std::string next = Key();
  const H2Client::Stream after = client->Call(kPutPath, GrpcFrame(PutRequestBytes(next, "ok")));
  EXPECT_EQ(after.GrpcStatus(), kOk) << after.Describe();
  EXPECT_EQ(etcd().V3ValueOf(next), "ok");
}

// ---- Floods -------------------------------------------------------------------------

// CVE-2023-44487: streams opened and reset at once, faster than nghttp2's
// limit (a burst of 200, then 33 a second).
TEST_F(GrpcRawTest, RapidResetEndsTheConnectionWithGoaway) {
  // A few resets (within the burst) are ordinary: the connection goes on.
  auto polite = Connect(port(), "root");
  ASSERT_TRUE(polite);
  for (int i = 0; i < 50; ++i) {
    const int32_t id = polite->Open(GrpcHeaders(kRangePath));
    ASSERT_GT(id, 0);
    ASSERT_TRUE(polite->RunUntil([] { return true; }));  // HEADERS out, then RST_STREAM
    polite->Reset(id);
  }
  const std::string key = Key();
  EXPECT_EQ(polite->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "calm"))).GrpcStatus(), kOk);
  EXPECT_FALSE(polite->goaway());

  std::string error;
  std::unique_ptr<H2Tls> tls = H2Tls::Connect(port(), {.client = "root"}, &error);
  ASSERT_TRUE(tls) << error;
  ASSERT_EQ(tls->alpn(), "h2");
  const std::string block = HpackBlock(GrpcHeaders(kRangePath));
  std::string attack = H2Preface();
  const std::string cancel("\0\0\0\x08", 4);  // CANCEL
  for (uint32_t i = 0; i < 1000; ++i) {
    const uint32_t id = 2 * i + 1;
    attack += H2Frame(kH2Headers, kH2EndHeaders, id, block);
    attack += H2Frame(kH2RstStream, 0, id, cancel);
  }
  tls->Write(attack);  // may fail part-way once the proxy has closed
  bool closed = false;
  const std::vector<H2RawFrame> frames = FramesUntilClosed(*tls, &closed);
  EXPECT_TRUE(closed);
  uint32_t code = 0;
  EXPECT_TRUE(HasGoaway(frames, &code)) << frames.size() << " frames, none a GOAWAY";
  EXPECT_EQ(code, uint32_t{NGHTTP2_INTERNAL_ERROR});  // nghttp2's answer to the reset rate
  EXPECT_TRUE(ServesNewConnection(port(), etcd()));
}

// CVE-2024-27316-style: a header block that never ends, one CONTINUATION
// after another (nghttp2 allows 8).
TEST_F(GrpcRawTest, ContinuationFloodEndsTheConnection) {
  std::string error;
  std::unique_ptr<H2Tls> tls = H2Tls::Connect(port(), {.client = "root"}, &error);
  ASSERT_TRUE(tls) << error;
  H2Headers headers = GrpcHeaders(kRangePath);
  for (int i = 0; i < 100; ++i) headers.emplace_back("x-pad-" + std::to_string(i), "v");
  const std::string block = HpackBlock(headers);
  ASSERT_GT(block.size(), 200u);
  std::string attack = H2Preface() + H2Frame(kH2Headers, 0, 1, block.substr(0, 2));
  for (size_t at = 2; at < 2 + 2 * 500; at += 2) {
    // Pieces of the block, then empty CONTINUATIONs; END_HEADERS never comes.
    attack += H2Frame(kH2Continuation, 0, 1, at < block.size() ? block.substr(at, 2) : "");
  }
  tls->Write(attack);
  bool closed = false;
  const std::vector<H2RawFrame> frames = FramesUntilClosed(*tls, &closed);
  // nghttp2 fails mem_recv with NGHTTP2_ERR_TOO_MANY_CONTINUATIONS without
  // queueing a GOAWAY, so the proxy just closes: no GOAWAY is expected
  // here. Nothing of the stream was answered either.
  EXPECT_TRUE(closed);
  for (const H2RawFrame& frame : frames) {
    EXPECT_NE(frame.stream_id, 1u) << "a frame of type " << int{frame.type} << " on stream 1";
  }
  EXPECT_TRUE(ServesNewConnection(port(), etcd()));
}

TEST_F(GrpcRawTest, PingFloodWithoutReadingEndsTheConnection) {
  const std::string ping = H2Frame(kH2Ping, 0, 0, std::string(8, 'p'));
  size_t batches = 0;
  // 100 PINGs a write, at most 10000 writes (17 MB): far past what the
  // proxy should queue (1000 ACKs beyond its 256 KiB output buffer).
  EXPECT_TRUE(FloodUntilClosed(port(), ping, 100, 10000, &batches))
      << batches << " batches written";
  EXPECT_LT(batches, 10000u);
  EXPECT_TRUE(ServesNewConnection(port(), etcd()));
}

TEST_F(GrpcRawTest, SettingsFloodWithoutReadingEndsTheConnection) {
  const std::string settings = H2Frame(kH2Settings, 0, 0, "");
  size_t batches = 0;
  // 100 SETTINGS a write (each owed an ACK), at most 20000 writes (18 MB).
  EXPECT_TRUE(FloodUntilClosed(port(), settings, 100, 20000, &batches))
      << batches << " batches written";
  EXPECT_LT(batches, 20000u);
  EXPECT_TRUE(ServesNewConnection(port(), etcd()));
}

TEST_F(GrpcRawTest, SettingsFrameWithTooManyEntriesEndsTheConnection) {
  std::string error;
  std::unique_ptr<H2Tls> tls = H2Tls::Connect(port(), {.client = "root"}, &error);
  ASSERT_TRUE(tls) << error;
  std::string entries;
  for (int i = 0; i < 100; ++i) {
    entries += std::string("\0\x04\0\0\xff\xff", 6);  // INITIAL_WINDOW_SIZE 65535
  }
  tls->Write(H2Preface() + H2Frame(kH2Settings, 0, 0, entries));
  bool closed = false;
  const std::vector<H2RawFrame> frames = FramesUntilClosed(*tls, &closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(HasGoaway(frames)) << frames.size() << " frames, none a GOAWAY";
  EXPECT_TRUE(ServesNewConnection(port(), etcd()));
}

// ---- Flow control, with an etcd and a proxy of their own ---------------------------

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"), or -1.
long StatusKib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// A v3 put straight to etcd, through its JSON gateway.
bool PutInEtcd(const EtcdServer& etcd, const std::string& key, const std::string& value) {
  return etcd.Request("POST", "/v3/kv/put",
                      "{\"key\":\"" + Base64(key) + "\",\"value\":\"" + Base64(value) + "\"}")
             .status == 200;
}

// The value of one un-labelled series on etcd's /metrics, or -1.
double EtcdMetric(const EtcdServer& etcd, const std::string& name) {
  const HttpResponse metrics = etcd.Request("GET", "/metrics");
  const std::regex line("(^|\n)" + name + " ([0-9.e+]+)\n");
  std::smatch match;
  if (metrics.status != 200 || !std::regex_search(metrics.body, match, line)) return -1;
  return std::stod(match[2].str());
}

bool WaitForEtcdMetric(const EtcdServer& etcd, const std::string& name, double value) {
  for (int i = 0; i < 200; ++i) {  // at most about 10 s
    if (EtcdMetric(etcd, name) == value) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// A Watch whose client never grants more window: the proxy must stop taking
// etcd's events for it (flow control) instead of buffering them, and go on
// serving everyone else.
TEST(GrpcRawFlowTest, ZeroWindowWatchReaderKeepsProxyMemoryBounded) {
  NoAsanQuarantine no_quarantine;
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const pid_t pid = stack.proxy.pid();
  const std::string key = "/" + UniqueName("grpcraw-flood");

  auto other = Connect(stack.port(), "root");
  ASSERT_TRUE(other);
  ASSERT_EQ(other->Call(kPutPath, GrpcFrame(PutRequestBytes(key + "-warm", "up"))).GrpcStatus(),
            kOk);
  const long rss_before = StatusKib(pid, "VmRSS");
  ASSERT_GT(rss_before, 0);

  H2Client::Options stingy;
  stingy.initial_window_size = 1024;  // room for the "created" answer, not one event
  stingy.window_updates = false;
  auto watcher = Connect(stack.port(), "root", stingy);
  ASSERT_TRUE(watcher);
  const int32_t watch = watcher->Open(GrpcHeaders(kWatchPath));
  ASSERT_GT(watch, 0);
  watcher->Send(watch, GrpcFrame(WatchCreateBytes(key)));
  ASSERT_TRUE(watcher->RunUntil([&] { return !GrpcMessages(watcher->stream(watch).data).empty(); }))
      << watcher->stream(watch).Describe();

  // 200 events of 512 KiB (100 MiB) on the watched key, written to etcd
  // directly; meanwhile another connection is served.
  const std::string value(512 << 10, 'e');
  long rss_peak = rss_before;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(PutInEtcd(stack.etcd, key, value)) << "put " << i;
    if (i % 50 == 49) {
      const std::string mine = key + "-other-" + std::to_string(i);
      const H2Client::Stream put =
          other->Call(kPutPath, GrpcFrame(PutRequestBytes(mine, "served")));
      EXPECT_EQ(put.GrpcStatus(), kOk) << put.Describe();
      const H2Client::Stream range = other->Call(kRangePath, GrpcFrame(RangeRequestBytes(mine)));
      EXPECT_EQ(range.GrpcStatus(), kOk) << range.Describe();
      const std::vector<std::string> messages = GrpcMessages(range.data);
      EXPECT_TRUE(messages.size() == 1 && RangeResponseValue(messages[0]) == "served")
          << range.Describe();
    }
    rss_peak = std::max(rss_peak, StatusKib(pid, "VmRSS"));
  }
  rss_peak = std::max(rss_peak, StatusKib(pid, "VmHWM"));
  EXPECT_LT(rss_peak - rss_before, 64 * 1024) << "RSS before " << rss_before << " KiB";

  // The watcher got no more than its window; its stream is still open.
  watcher->RunUntil([] { return false; }, 200ms);
  EXPECT_LE(watcher->stream(watch).data.size(), 1024u);
  EXPECT_FALSE(watcher->stream(watch).closed) << watcher->stream(watch).Describe();
  EXPECT_TRUE(stack.proxy.Stop());
}

// Request messages are read whole before they are decided, so one stream
// may hold up to max_body_bytes of a message. Many streams of one
// connection must not multiply that: here 8 streams each send 15 MiB of a
// 16 MiB message and stop (no end), about 120 MiB in all. The proxy holds
// incomplete messages of one connection to max_body_bytes (20 MiB) in all,
// as an HTTP/1.1 connection holds one body, and then stops acknowledging
// (first found with this test: each stream took its whole message, so one
// connection could make the proxy hold 128 x 20 MiB). A whole small call on
// the same connection is still served.
TEST(GrpcRawFlowTest, PartialMessagesOnManyStreamsKeepProxyMemoryBounded) {
  NoAsanQuarantine no_quarantine;
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const pid_t pid = stack.proxy.pid();
  auto client = Connect(stack.port(), "root");
  ASSERT_TRUE(client);
  ASSERT_EQ(client->Call(kPutPath, GrpcFrame(PutRequestBytes("/" + UniqueName("warm"), "up")))
                .GrpcStatus(),
            kOk);
  const long rss_before = StatusKib(pid, "VmRSS");
  ASSERT_GT(rss_before, 0);

  constexpr size_t kStreams = 8;
  constexpr size_t kChunk = 64 << 10;
  constexpr size_t kChunks = 240;  // 15 MiB
  const std::string chunk(kChunk, 'x');
  std::vector<int32_t> ids;
  for (size_t s = 0; s < kStreams; ++s) {
    const int32_t id = client->Open(GrpcHeaders(kPutPath));
    ASSERT_GT(id, 0);
    client->Send(id, GrpcPrefix(16 << 20));
    for (size_t c = 0; c < kChunks; ++c) client->Send(id, chunk);
    ids.push_back(id);
  }
  const auto queued = [&] {
    size_t bytes = 0;
    for (const int32_t id : ids) bytes += client->Queued(id);
    return bytes;
  };
  // Bounded: either the proxy takes everything or its windows stop us.
  client->RunUntil([&] { return queued() == 0; }, 10s);
  const size_t taken = kStreams * kChunks * kChunk - queued();
  const long rss_peak = std::max(StatusKib(pid, "VmRSS"), StatusKib(pid, "VmHWM"));
  EXPECT_LT(rss_peak - rss_before, 64 * 1024)
      << "RSS before " << rss_before << " KiB; the proxy took " << (taken >> 20) << " MiB";
  EXPECT_LT(taken, size_t{40} << 20);
  const std::string key = "/" + UniqueName("after-stall");
  EXPECT_EQ(client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "served"))).GrpcStatus(), kOk);
  EXPECT_EQ(stack.etcd.V3ValueOf(key), "served");
  EXPECT_TRUE(stack.proxy.Stop());
}

// A client's RST_STREAM on a Watch ends etcd's watcher too (seen on etcd's
// own gauge of watchers).
TEST(GrpcRawFlowTest, ClientResetOfAWatchCancelsItInEtcd) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  const std::string gauge = "etcd_debugging_mvcc_watcher_total";
  ASSERT_EQ(EtcdMetric(stack.etcd, gauge), 0) << "etcd has no watcher gauge, or watchers";
  auto client = Connect(stack.port(), "root");
  ASSERT_TRUE(client);
  const int32_t watch = client->Open(GrpcHeaders(kWatchPath));
  ASSERT_GT(watch, 0);
  client->Send(watch, GrpcFrame(WatchCreateBytes("/" + UniqueName("grpcraw-cancel"))));
  ASSERT_TRUE(client->RunUntil([&] { return !GrpcMessages(client->stream(watch).data).empty(); }))
      << client->stream(watch).Describe();
  EXPECT_TRUE(WaitForEtcdMetric(stack.etcd, gauge, 1)) << EtcdMetric(stack.etcd, gauge);

  client->Reset(watch);
  ASSERT_TRUE(client->RunUntil([] { return true; }));
  EXPECT_TRUE(WaitForEtcdMetric(stack.etcd, gauge, 0)) << EtcdMetric(stack.etcd, gauge);
  EXPECT_TRUE(stack.proxy.Stop());
}

// ---- Deadlines, with an etcd of their own (stopped with SIGSTOP) ----------

// A call's grpc-timeout is the proxy's deadline too: etcd hung, the call
// ends with DEADLINE_EXCEEDED when it passes, and nothing reaches etcd later.
TEST(GrpcRawDeadlineTest, GrpcTimeoutIsHonouredWhenEtcdHangs) {
  Stack stack;
  ASSERT_TRUE(stack.Start());
  auto client = Connect(stack.port(), "root");
  ASSERT_TRUE(client);
  const std::string key = "/" + UniqueName("deadline");
  stack.etcd.Signal(SIGSTOP);
  const H2Client::Stream put = client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "late")),
                                            {{"grpc-timeout", "300m"}}, 10s);
  stack.etcd.Signal(SIGCONT);
  EXPECT_EQ(put.GrpcStatus(), 4) << put.Describe();
  EXPECT_EQ(put.GrpcMessage(), "context deadline exceeded") << put.Describe();
  EXPECT_TRUE(stack.proxy.Stop());
}

// Without a grpc-timeout, timeouts.upstream_response bounds a unary call
// until etcd's response head (UNAVAILABLE, so clients may go elsewhere) but
// never a Watch, which waits as long as its client does.
TEST(GrpcRawDeadlineTest, UpstreamResponseBoundsUnaryCallsNotWatches) {
  Stack stack;
  ProxyOptions options;
  options.extra_yaml = "timeouts: {upstream_response: 1}\n";
  ASSERT_TRUE(stack.Start(options));
  auto client = Connect(stack.port(), "root");
  ASSERT_TRUE(client);
  const std::string key = "/" + UniqueName("slow");
  const int32_t watch = client->Open(GrpcHeaders(kWatchPath));
  ASSERT_GT(watch, 0);
  client->Send(watch, GrpcFrame(WatchCreateBytes(key)));
  ASSERT_TRUE(client->RunUntil([&] { return !GrpcMessages(client->stream(watch).data).empty(); }))
      << client->stream(watch).Describe();

  stack.etcd.Signal(SIGSTOP);
  const H2Client::Stream range =
      client->Call(kRangePath, GrpcFrame(RangeRequestBytes(key)), {}, 10s);
  stack.etcd.Signal(SIGCONT);
  EXPECT_EQ(range.GrpcStatus(), 14) << range.Describe();
  EXPECT_NE(range.GrpcMessage().find("upstream_response"), std::string::npos) << range.Describe();

  // The watch, idle through all that, still gets its event.
  const H2Client::Stream put = client->Call(kPutPath, GrpcFrame(PutRequestBytes(key, "event")));
  EXPECT_EQ(put.GrpcStatus(), 0) << put.Describe();
  EXPECT_TRUE(client->RunUntil([&] {
    return GrpcMessages(client->stream(watch).data).size() >= 2;
  })) << client->stream(watch).Describe();
  EXPECT_FALSE(client->stream(watch).closed);
  EXPECT_TRUE(stack.proxy.Stop());
}

}  // namespace
}  // namespace tlsproxy::integration
