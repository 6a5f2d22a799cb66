// Unit tests for what the admin listener's /healthz makes of etcd's /health
// answer (the listener itself is tested on the real binary in
// tests/integration/metrics_test.cc).
#include "proxy/admin_server.h"

#include <gtest/gtest.h>

#include <string>

namespace tlsproxy::proxy {
namespace {

TEST(EtcdReportsHealthy, Table) {
  const struct {
    int status;
    std::string body;
    bool healthy;
  } cases[] = {
      {200, "{\"health\":\"true\"}", true},  // etcd 3.4.23, byte for byte
      {200, "{\"health\":\"true\"}\n", true},
      {200, "{\"health\":\"true\",\"reason\":\"\"}", true},  // etcd 3.5
      {200, "{\"health\": \"true\"}", true},                 // any JSON spacing
      {200, " {\n  \"health\" : \"true\"\n}\n", true},
      {503, "{\"health\":\"true\"}", false},  // the status decides too
      {200, "{\"health\":\"false\"}", false},
      {503, "{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}", false},
      {200, "{\"health\":\"false\",\"reason\":\"\\\"health\\\":\\\"true\\\"\"}", false},
      {200, "{\"health\":\"TRUE\"}", false},
      {200, "{\"health\":true}", false},  // etcd's value is a string
      {200, "{\"health\":1}", false},
      {200, "{\"health\":null}", false},
      {200, "{\"healthy\":\"true\"}", false},
      {200, "{\"status\":{\"health\":\"true\"}}", false},  // not at the top level
      {200, "[\"health\",\"true\"]", false},
      {200, "\"health\":\"true\"", false},
      {200, "{\"health\":\"true\"", false},     // truncated
      {200, "{\"health\":\"true\"}{}", false},  // trailing data
      {200, "", false},
      {200, "OK", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EtcdReportsHealthy(c.status, c.body), c.healthy) << c.status << " " << c.body;
  }
}

}  // namespace
}  // namespace tlsproxy::proxy
