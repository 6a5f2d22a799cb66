#include "proxy/admin_server.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include <cstring>

#include <nlohmann/json.hpp>

namespace tlsproxy::proxy {
namespace {

constexpr int kHealthTimeoutSeconds = 2;

void Reply(evhttp_request* request, int status, const char* reason, const char* content_type,
           const std::string& body) {
  evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type", content_type);
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(request, status, reason, out);
  evbuffer_free(out);
}

// State of one /healthz probe: the admin request waiting for etcd's answer.
// If the scraper hangs up first, its request is gone: `admin_request` is
// cleared by the close callback and the answer is dropped.
struct HealthProbe {
  evhttp_request* admin_request;
  evhttp_connection* connection;
};

void OnScraperClosed(evhttp_connection*, void* context) {
  static_cast<HealthProbe*>(context)->admin_request = nullptr;
}

void FinishProbe(HealthProbe* probe, int status, const std::string& body) {
  if (probe->admin_request != nullptr) {
    evhttp_connection_set_closecb(evhttp_request_get_connection(probe->admin_request), nullptr,
                                  nullptr);
    Reply(probe->admin_request, status, status == 200 ? "OK" : "Service Unavailable",
          "application/json", body);
  }
  // The connection cannot be freed from inside its own callback.
  evhttp_connection* connection = probe->connection;
  event_base_once(
      evhttp_connection_get_base(connection), -1, EV_TIMEOUT,
      [](evutil_socket_t, short, void* c) {
        evhttp_connection_free(static_cast<evhttp_connection*>(c));
      },
      connection, nullptr);
  delete probe;
}

void OnHealthAnswer(evhttp_request* answer, void* context) {
  auto* probe = static_cast<HealthProbe*>(context);
  if (answer == nullptr || evhttp_request_get_response_code(answer) == 0) {
    return FinishProbe(probe, 503, "{\"health\":false,\"reason\":\"etcd did not answer\"}\n");
  }
  const int code = evhttp_request_get_response_code(answer);
  evbuffer* input = evhttp_request_get_input_buffer(answer);
  std::string body(evbuffer_get_length(input), '\0');
  evbuffer_copyout(input, body.data(), body.size());
  if (EtcdReportsHealthy(code, body)) return FinishProbe(probe, 200, "{\"health\":true}\n");
  FinishProbe(
      probe, 503,
      "{\"health\":false,\"reason\":\"etcd /health answered " + std::to_string(code) + "\"}\n");
}

}  // namespace

bool EtcdReportsHealthy(int status, std::string_view body) {
  if (status != 200) return false;
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return false;  // also what a parse error gives (discarded)
  const auto health = json.find("health");
  return health != json.end() && health->is_string() &&
         health->get_ref<const std::string&>() == "true";
}

std::unique_ptr<AdminServer> AdminServer::Create(event_base* base, const config::HostPort& address,
                                                 const config::HostPort& upstream, Metrics& metrics,
                                                 std::string* error) {
  std::unique_ptr<AdminServer> server(new AdminServer(base, upstream, metrics));
  server->http_ = evhttp_new(base);
  if (server->http_ == nullptr ||
      evhttp_bind_socket_with_handle(server->http_, address.host.c_str(), address.port) ==
          nullptr) {
    *error = "admin_listen (line " + std::to_string(address.line) + "): cannot bind " +
             address.text + ": " + std::strerror(errno);
    return nullptr;
  }
  evhttp_set_allowed_methods(server->http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_gencb(server->http_, &AdminServer::OnRequest, server.get());
  return server;
}

AdminServer::AdminServer(event_base* base, const config::HostPort& upstream, Metrics& metrics)
    : base_(base), upstream_(upstream), metrics_(metrics) {}

AdminServer::~AdminServer() {
  if (http_ != nullptr) evhttp_free(http_);
}

void AdminServer::OnRequest(evhttp_request* request, void* context) {
  auto* self = static_cast<AdminServer*>(context);
  const char* path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(request));
  const std::string route = path ? path : "";
  if (route == "/metrics") {
    return Reply(request, 200, "OK", "text/plain; version=0.0.4", self->metrics_.Render());
  }
  if (route == "/readyz") {
    if (self->ready_) return Reply(request, 200, "OK", "application/json", "{\"ready\":true}\n");
    return Reply(request, 503, "Service Unavailable", "application/json", "{\"ready\":false}\n");
  }
  if (route == "/healthz") return self->CheckHealth(request);
  Reply(request, 404, "Not Found", "application/json", "{\"message\":\"not found\"}\n");
}

void AdminServer::CheckHealth(evhttp_request* request) {
  evhttp_connection* connection =
      evhttp_connection_base_new(base_, nullptr, upstream_.host.c_str(), upstream_.port);
  if (connection == nullptr) {
    return Reply(request, 503, "Service Unavailable", "application/json",
                 "{\"health\":false,\"reason\":\"cannot create connection\"}\n");
  }
  evhttp_connection_set_timeout(connection, kHealthTimeoutSeconds);
  evhttp_connection_set_retries(connection, 0);
  auto* probe = new HealthProbe{request, connection};
  evhttp_connection_set_closecb(evhttp_request_get_connection(request), &OnScraperClosed, probe);
  evhttp_request* ask = evhttp_request_new(&OnHealthAnswer, probe);
  evhttp_add_header(evhttp_request_get_output_headers(ask), "Host", upstream_.host.c_str());
  if (evhttp_make_request(connection, ask, EVHTTP_REQ_GET, "/health") != 0) {
    // evhttp freed `ask`; answer now.
    probe->connection = connection;
    FinishProbe(probe, 503, "{\"health\":false,\"reason\":\"cannot send request\"}\n");
  }
}

}  // namespace tlsproxy::proxy
