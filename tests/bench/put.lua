-- wrk script for the authenticated-write scenario: PUT value=x to one key,
-- with basic auth taken from $BENCH_AUTH ("user:password", base64-encoded by run.sh)
-- when set (omitted for etcd direct).
wrk.method = "PUT"
wrk.path = "/v2/keys/bench/k"
wrk.body = "value=x"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = "Basic " .. auth
end
