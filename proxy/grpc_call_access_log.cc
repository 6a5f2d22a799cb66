// GrpcCall's access log (see grpc_call.h): one line per call when it ends,
// one per Watch create decided, and in shadow mode the would-be grpc-status
// of a request the ACL would have refused, on its line and in the metrics.
#include "proxy/grpc_call.h"

#include <chrono>

#include "proxy/grpc_status.h"
#include "proxy/http2_session.h"
#include "proxy/worker.h"

namespace tlsproxy::proxy {

// Shadow mode: the ACL would have refused this message, which goes on to
// etcd anyway. A Watch create has its own access line; any other call's
// line carries its first would-be refusal.
void GrpcCall::NoteShadowDenial(const acl::Decision& decision, bool watch_create) {
  session_.worker().metrics().CountShadowDenial(decision.rule);
  if (!watch_create && shadow_denied_ < 0) {
    shadow_denied_ = GrpcRefusalFor(*decision.shadow_denied).code;
  }
}

// ---- Access log ---------------------------------------------------------------

void GrpcCall::LogCall() {
  if (logged_ || path_.empty()) return;
  logged_ = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  session_.worker().stats().ObserveRequestLatency(seconds);
  session_.worker().stats().CountGrpcCall(path_, grpc_status_);
  WriteAccessLine("GRPC", grpc_status_, rule_, bytes_sent_, seconds * 1000, shadow_denied_);
}

void GrpcCall::LogWatchCreate(const acl::Decision& decision) {
  const int status = decision.allowed() ? kGrpcOk : GrpcRefusalFor(decision.verdict).code;
  const int shadow =
      decision.shadow_denied ? GrpcRefusalFor(*decision.shadow_denied).code : kNoShadowDenial;
  WriteAccessLine("WATCH", status, decision.rule, 0, 0, shadow);
}

void GrpcCall::WriteAccessLine(std::string_view method, int grpc_status, std::string_view rule,
                               size_t bytes, double milliseconds, int shadow_denied) {
  const std::string identity = identity_.ToString();
  AccessRecord record;
  record.client = session_.peer();
  record.identity = identity;
  record.method = method;
  record.path = path_;
  record.status = 200;
  record.grpc = true;
  record.grpc_status = grpc_status;
  record.key = key_;
  record.bytes = bytes;
  record.milliseconds = milliseconds;
  record.rule = rule;
  record.shadow_denied = shadow_denied;
  runtime_->access_log->Write(static_cast<size_t>(session_.worker().index()), record);
}

}  // namespace tlsproxy::proxy
