// Fuzzes the gRPC request path up to the decision, as the proxy runs it on
// a stream's DATA bytes: GrpcMessageReader reassembles messages from
// arbitrary chunks, each message is decoded (ParseGrpcRequest, or
// ParseGrpcWatchRequest on a Watch stream) and decided with
// Acl::DecideV3Call under every v3 mode.
//
// Input: a method selector byte, a chunking seed byte, then the DATA bytes.
//
// Invariants: the messages and the error do not depend on how the bytes
// were chunked; a message never exceeds the reader's limit; re-framing the
// messages gives back exactly the bytes consumed (nothing dropped, nothing
// invented), and after an error nothing more comes out; under v3: off
// nothing is allowed; under admin_only only identities on the "/" rule
// are (or read_only refusals); under acl the verdict is DecideV3's.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acl/acl.h"
#include "acl/grpc_request.h"
#include "proxy/grpc_message_reader.h"
#include "proxy/grpc_request_head.h"
#include "proxy/grpc_watch_relay.h"
#include "tests/fuzz/fuzz_support.h"

namespace tlsproxy::fuzz {
namespace {

constexpr size_t kLimit = 4096;

constexpr std::array<std::string_view, 8> kMethods = {
    "/etcdserverpb.KV/Range",           "/etcdserverpb.KV/Put",
    "/etcdserverpb.KV/DeleteRange",     "/etcdserverpb.KV/Txn",
    "/etcdserverpb.Watch/Watch",        "/etcdserverpb.Lease/LeaseKeepAlive",
    "/etcdserverpb.Cluster/MemberList", "/unknown.Service/Method",
};

struct Outcome {
  std::vector<proxy::GrpcMessage> messages;
  bool failed = false;
};

Outcome Read(std::string_view bytes, uint8_t seed) {
  proxy::GrpcMessageReader reader(kLimit);
  Outcome outcome;
  size_t step = seed == 0 ? bytes.size() : seed;
  while (!bytes.empty()) {
    const size_t take = std::min(step, bytes.size());
    if (reader.Feed(bytes.substr(0, take), &outcome.messages) !=
        proxy::GrpcMessageReader::Status::kOk) {
      outcome.failed = true;
      return outcome;
    }
    bytes.remove_prefix(take);
    step = step % 7 + 1;  // vary the chunk sizes
  }
  return outcome;
}

std::vector<std::shared_ptr<const acl::Acl>> ModeVariants(config::Config::V3Mode mode) {
  std::vector<std::shared_ptr<const acl::Acl>> out;
  for (bool read_only : {false, true}) {
    config::Config config;
    config.acls = FixedRules();
    config.read_only = read_only;
    config.v3 = mode;
    out.push_back(acl::Acl::Compile(config));
  }
  return out;
}

void Decide(std::string_view method, const proxy::GrpcMessage& message) {
  if (message.compressed) return;  // refused before decoding
  const bool watch = method == "/etcdserverpb.Watch/Watch";
  const acl::V3ParseResult parsed = watch ? acl::ParseGrpcWatchRequest(message.bytes)
                                          : acl::ParseGrpcRequest(method, message.bytes);
  FUZZ_CHECK(parsed.request.has_value() == parsed.error.empty(), parsed.error);
  if (!parsed.request) return;
  static const auto off = ModeVariants(config::Config::V3Mode::kOff);
  static const auto admin_only = ModeVariants(config::Config::V3Mode::kAdminOnly);
  for (const acl::Identity& identity : Identities()) {
    for (const auto& acl : off) {
      FUZZ_CHECK(!acl->DecideV3Call(identity, *parsed.request).allowed(), "v3 off allowed");
    }
    for (const auto& acl : admin_only) {
      const acl::Decision d = acl->DecideV3Call(identity, *parsed.request);
      FUZZ_CHECK(!d.allowed() || d.rule == "/", "admin_only allowed by " + d.rule);
    }
    for (const AclVariant& variant : AclVariants()) {
      const acl::Decision a = variant.acl->DecideV3Call(identity, *parsed.request);
      const acl::Decision b = variant.acl->DecideV3(identity, *parsed.request);
      FUZZ_CHECK(a.verdict == b.verdict && a.rule == b.rule, "DecideV3Call != DecideV3");
    }
  }
}

}  // namespace
}  // namespace tlsproxy::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsproxy;
  if (size < 2) return 0;
  const std::string_view method = fuzz::kMethods[data[0] % fuzz::kMethods.size()];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  const fuzz::Outcome whole = fuzz::Read(bytes, 0);
  const fuzz::Outcome chunked = fuzz::Read(bytes, data[1]);
  FUZZ_CHECK(whole.failed == chunked.failed, "chunking changed the error");
  FUZZ_CHECK(whole.messages.size() == chunked.messages.size(), "chunking changed the messages");
  std::string reframed;
  for (size_t i = 0; i < whole.messages.size(); ++i) {
    const proxy::GrpcMessage& message = whole.messages[i];
    FUZZ_CHECK(message.bytes == chunked.messages[i].bytes &&
                   message.compressed == chunked.messages[i].compressed,
               "chunking changed a message");
    FUZZ_CHECK(message.bytes.size() <= fuzz::kLimit, "message over the limit");
    std::string framed = proxy::FrameGrpcMessage(message.bytes);
    framed[0] = static_cast<char>(bytes[reframed.size()]);  // the flag byte as sent
    FUZZ_CHECK(message.compressed == (framed[0] != 0), "compressed flag misread");
    reframed += framed;
    fuzz::Decide(method, message);
  }
  FUZZ_CHECK(bytes.substr(0, reframed.size()) == reframed, "messages differ from the bytes sent");

  // The same bytes as etcd's side of a Watch stream: relayed unchanged.
  proxy::WatchRelay relay(fuzz::kLimit);
  const proxy::WatchRelay::Output relayed = relay.FromEtcd(bytes);
  FUZZ_CHECK(relayed.too_large == whole.failed, "relay and reader disagree");
  FUZZ_CHECK(relayed.bytes == reframed, "the relay changed etcd's messages");

  // Header values: a grpc-timeout and a :path made of the same bytes.
  const std::string_view head_value = bytes.substr(0, 12);
  timeval timeout{};
  if (proxy::ParseGrpcTimeout(head_value, &timeout)) {
    FUZZ_CHECK(timeout.tv_usec >= 0 && timeout.tv_usec < 1000000, "grpc-timeout micros");
  }
  if (proxy::IsCanonicalGrpcPath(head_value)) {
    FUZZ_CHECK(head_value[0] == '/' && head_value.find('%') == std::string_view::npos,
               "a non-canonical path passed");
  }
  return 0;
}
