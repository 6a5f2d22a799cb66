#include "acl/v3_request.h"

#include <algorithm>
#include <array>
#include <exception>
#include <set>
#include <span>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "acl/base64.h"

namespace tlsproxy::acl {
namespace {

using nlohmann::json;
using FieldList = std::span<const std::string_view>;

constexpr std::array<std::string_view, 3> kGatewayPrefixes = {"/v3", "/v3beta", "/v3alpha"};

// Every field of the key-bearing messages in etcd's rpc.proto (3.5), proto
// spelling. A field outside its list is refused.
constexpr std::array<std::string_view, 13> kRangeRequestFields = {"key",
                                                                  "range_end",
                                                                  "limit",
                                                                  "revision",
                                                                  "sort_order",
                                                                  "sort_target",
                                                                  "serializable",
                                                                  "keys_only",
                                                                  "count_only",
                                                                  "min_mod_revision",
                                                                  "max_mod_revision",
                                                                  "min_create_revision",
                                                                  "max_create_revision"};
constexpr std::array<std::string_view, 6> kPutRequestFields = {
    "key", "value", "lease", "prev_kv", "ignore_value", "ignore_lease"};
constexpr std::array<std::string_view, 3> kDeleteRangeRequestFields = {"key", "range_end",
                                                                       "prev_kv"};
constexpr std::array<std::string_view, 3> kTxnRequestFields = {"compare", "success", "failure"};
constexpr std::array<std::string_view, 9> kCompareFields = {
    "result",       "target", "key",   "version",  "create_revision",
    "mod_revision", "value",  "lease", "range_end"};
constexpr std::array<std::string_view, 4> kRequestOpFields = {
    "request_range", "request_put", "request_delete_range", "request_txn"};
constexpr std::array<std::string_view, 3> kWatchRequestFields = {"create_request", "cancel_request",
                                                                 "progress_request"};
constexpr std::array<std::string_view, 8> kWatchCreateRequestFields = {
    "key",     "range_end", "start_revision", "progress_notify",
    "filters", "prev_kv",   "watch_id",       "fragment"};
constexpr std::array<std::string_view, 1> kWatchCancelRequestFields = {"watch_id"};

// protobuf's JSON name of a field: lowerCamelCase of its proto name.
std::string CamelName(std::string_view proto_name) {
  std::string camel;
  bool upper = false;
  for (char c : proto_name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    camel += upper ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return camel;
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t SkipJsonSpace(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsJsonSpace(text[pos])) ++pos;
  return pos;
}

// ---------------------------------------------------------------------------
// JSON text -> values

// A SAX pass that builds nothing: it finds where the first JSON value ends
// and refuses an object that names one key twice (Go keeps the last, and we
// would rather not depend on agreeing about that).
class FirstValueScanner {
 public:
  const std::string& error() const { return error_; }

  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return Fail("binary value"); }
  bool start_object(std::size_t) {
    keys_.emplace_back();
    return true;
  }
  bool key(json::string_t& name) {
    if (!keys_.back().insert(name).second) return Fail("duplicate field '" + name + "'");
    return true;
  }
  bool end_object() {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    return Fail(e.what());
  }

 private:
  bool Fail(std::string why) {
    error_ = "malformed JSON: " + std::move(why);
    return false;
  }
  std::vector<std::set<std::string>> keys_;
  std::string error_;
};

// Splits `body` into its JSON values. A unary body holds at most one (an empty
// body is one empty object, as the gateway reads it); a stream body (watch)
// holds any number.
std::string ParseJsonValues(std::string_view body, bool stream, std::vector<json>* values) {
  std::size_t pos = SkipJsonSpace(body, 0);
  if (pos == body.size() && !stream) {
    values->push_back(json::object());
    return "";
  }
  std::istringstream in{std::string(body)};
  while (pos < body.size()) {
    if (!values->empty() && !stream) return "trailing data after the JSON body";
    in.clear();
    in.seekg(static_cast<std::streamoff>(pos));
    FirstValueScanner scanner;
    if (!json::sax_parse(in, &scanner, json::input_format_t::json, /*strict=*/false)) {
      return scanner.error().empty() ? "malformed JSON" : scanner.error();
    }
    in.clear();
    const std::streamoff end = in.tellg();
    const std::size_t stop = end < 0 ? body.size() : static_cast<std::size_t>(end);
    json value = json::parse(body.substr(pos, stop - pos), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return "malformed JSON";
    if (!value.is_object()) return "the JSON body is not an object";
    values->push_back(std::move(value));
    pos = SkipJsonSpace(body, stop);
  }
  return "";
}

// ---------------------------------------------------------------------------
// Protobuf-JSON messages -> key accesses. Each function returns "" or an
// error naming the field, e.g. "success[1].request_put.key: invalid base64".

std::string Join(const std::string& where, std::string_view field) {
  return where.empty() ? std::string(field) : where + "." + std::string(field);
}

// Refuses fields outside `fields` and a field given in both spellings.
std::string CheckFields(const json& message, FieldList fields, const std::string& where) {
  for (const auto& item : message.items()) {
    const std::string& name = item.key();  // not a structured binding: clang 14 cannot capture one
    const bool known = std::any_of(fields.begin(), fields.end(), [&name](std::string_view f) {
      return name == f || name == CamelName(f);
    });
    if (!known) return Join(where, name) + ": unknown field";
  }
  for (std::string_view field : fields) {
    const std::string camel = CamelName(field);
    if (camel != field && message.contains(field) && message.contains(camel)) {
      return Join(where, field) + ": given twice (also as " + camel + ")";
    }
  }
  return "";
}

// The value of `field` in either spelling, or nullptr when absent. The caller
// has run CheckFields, so at most one spelling is present.
const json* Field(const json& message, std::string_view field) {
  auto it = message.find(field);
  if (it == message.end()) it = message.find(CamelName(field));
  return it == message.end() ? nullptr : &*it;
}

// A bytes field: absent or null is empty, as jsonpb reads it.
std::string ReadBytes(const json& message, std::string_view field, const std::string& where,
                      std::string* out) {
  out->clear();
  const json* value = Field(message, field);
  if (value == nullptr || value->is_null()) return "";
  if (!value->is_string()) return Join(where, field) + ": not a base64 string";
  std::optional<std::string> bytes = DecodeBase64Lenient(value->get_ref<const std::string&>());
  if (!bytes) return Join(where, field) + ": invalid base64";
  *out = std::move(*bytes);
  return "";
}

// A message field: *out is nullptr when absent. null is refused: jsonpb would
// set a oneof to a nil message, which etcd does not expect.
std::string ReadMessage(const json& message, std::string_view field, const std::string& where,
                        const json** out) {
  *out = Field(message, field);
  if (*out == nullptr || (*out)->is_object()) return "";
  return Join(where, field) + ((*out)->is_null() ? ": null message" : ": not an object");
}

// A repeated message field: *out is nullptr when absent or null (empty).
std::string ReadArray(const json& message, std::string_view field, const std::string& where,
                      const json** out) {
  *out = Field(message, field);
  if (*out != nullptr && (*out)->is_null()) *out = nullptr;
  if (*out == nullptr || (*out)->is_array()) return "";
  return Join(where, field) + ": not an array";
}

// A message that names one key or key range (RangeRequest, PutRequest,
// DeleteRangeRequest, Compare, WatchCreateRequest).
std::string ParseKeyMessage(const json& message, FieldList fields, AccessKind kind,
                            const std::string& where, std::vector<KeyAccess>* out) {
  if (std::string error = CheckFields(message, fields, where); !error.empty()) return error;
  KeyAccess access{kind, "", ""};
  if (std::string error = ReadBytes(message, "key", where, &access.key); !error.empty()) {
    return error;
  }
  const bool ranged = std::find(fields.begin(), fields.end(), "range_end") != fields.end();
  if (ranged) {
    std::string error = ReadBytes(message, "range_end", where, &access.range_end);
    if (!error.empty()) return error;
  }
  // prev_kv returns what the write replaces: a read of the same keys too.
  // Anything but an explicit false (or null) counts, so a spelling the
  // gateway reads as true is never missed.
  bool prev_kv = false;
  for (const char* name : {"prev_kv", "prevKv"}) {
    if (kind == AccessKind::kWrite && message.contains(name)) {
      const json& value = message[name];
      prev_kv = prev_kv || !(value.is_null() || value == false || value == "false");
    }
  }
  KeyAccess read{AccessKind::kRead, access.key, access.range_end};
  out->push_back(std::move(access));
  if (prev_kv) out->push_back(std::move(read));
  return "";
}

// The one member of a oneof that is present, or "" when none is; an error
// when several are.
std::string OneofMember(const json& message, FieldList members, const std::string& where,
                        std::string_view* present) {
  *present = "";
  for (std::string_view member : members) {
    if (Field(message, member) == nullptr) continue;
    if (!present->empty())
      return where + ": both " + std::string(*present) + " and " + std::string(member) + " set";
    *present = member;
  }
  return "";
}

std::string ParseTxn(const json& txn, int depth, const std::string& where,
                     std::vector<KeyAccess>* out);

// One RequestOp of a txn's success or failure list.
std::string ParseRequestOp(const json& op, int depth, const std::string& where,
                           std::vector<KeyAccess>* out) {
  if (std::string error = CheckFields(op, kRequestOpFields, where); !error.empty()) return error;
  std::string_view member;
  if (std::string error = OneofMember(op, kRequestOpFields, where, &member); !error.empty()) {
    return error;
  }
  if (member.empty()) return "";  // an empty op does nothing
  const json* request = nullptr;
  if (std::string error = ReadMessage(op, member, where, &request); !error.empty()) return error;
  const std::string inner = Join(where, member);
  if (member == "request_range") {
    return ParseKeyMessage(*request, kRangeRequestFields, AccessKind::kRead, inner, out);
  }
  if (member == "request_put") {
    return ParseKeyMessage(*request, kPutRequestFields, AccessKind::kWrite, inner, out);
  }
  if (member == "request_delete_range") {
    return ParseKeyMessage(*request, kDeleteRangeRequestFields, AccessKind::kWrite, inner, out);
  }
  if (depth >= kMaxTxnDepth) return inner + ": txn nested deeper than the limit";
  return ParseTxn(*request, depth + 1, inner, out);
}

// A list of messages, each parsed by `parse_one(element, where)`.
template <typename ParseOne>
std::string ParseList(const json& message, std::string_view field, const std::string& where,
                      ParseOne parse_one) {
  const json* list = nullptr;
  if (std::string error = ReadArray(message, field, where, &list); !error.empty()) return error;
  if (list == nullptr) return "";
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string at = Join(where, field) + "[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) return at + ": not an object";
    if (std::string error = parse_one((*list)[i], at); !error.empty()) return error;
  }
  return "";
}

// A TxnRequest at nesting `depth` (1 for the request body itself).
std::string ParseTxn(const json& txn, int depth, const std::string& where,
                     std::vector<KeyAccess>* out) {
  if (std::string error = CheckFields(txn, kTxnRequestFields, where); !error.empty()) return error;
  std::string error = ParseList(txn, "compare", where, [out](const json& c, const std::string& at) {
    return ParseKeyMessage(c, kCompareFields, AccessKind::kRead, at, out);
  });
  if (!error.empty()) return error;
  for (std::string_view branch : {"success", "failure"}) {
    error = ParseList(txn, branch, where, [depth, out](const json& op, const std::string& at) {
      return ParseRequestOp(op, depth, at, out);
    });
    if (!error.empty()) return error;
  }
  return "";
}

// One WatchRequest of a watch stream: create is a read of its range; cancel
// and progress touch no key.
std::string ParseWatchRequest(const json& request, const std::string& where,
                              std::vector<KeyAccess>* out) {
  if (std::string error = CheckFields(request, kWatchRequestFields, where); !error.empty()) {
    return error;
  }
  std::string_view member;
  if (std::string error = OneofMember(request, kWatchRequestFields, where, &member);
      !error.empty()) {
    return error;
  }
  if (member.empty()) return "";
  const json* inner = nullptr;
  if (std::string error = ReadMessage(request, member, where, &inner); !error.empty()) {
    return error;
  }
  const std::string at = Join(where, member);
  if (member == "create_request") {
    return ParseKeyMessage(*inner, kWatchCreateRequestFields, AccessKind::kRead, at, out);
  }
  if (member == "cancel_request") return CheckFields(*inner, kWatchCancelRequestFields, at);
  return CheckFields(*inner, FieldList{}, at);  // progress_request has no fields
}

// The parser of one key-aware endpoint's message, or nullptr.
using MessageParser = std::string (*)(const json&, const std::string&, std::vector<KeyAccess>*);

MessageParser KeyAwareParser(std::string_view endpoint) {
  switch (OperationOf(endpoint)) {
    case V3Operation::kRange:
      return [](const json& m, const std::string& at, std::vector<KeyAccess>* out) {
        return ParseKeyMessage(m, kRangeRequestFields, AccessKind::kRead, at, out);
      };
    case V3Operation::kPut:
      return [](const json& m, const std::string& at, std::vector<KeyAccess>* out) {
        return ParseKeyMessage(m, kPutRequestFields, AccessKind::kWrite, at, out);
      };
    case V3Operation::kDeleteRange:
      return [](const json& m, const std::string& at, std::vector<KeyAccess>* out) {
        return ParseKeyMessage(m, kDeleteRangeRequestFields, AccessKind::kWrite, at, out);
      };
    case V3Operation::kTxn:
      return [](const json& m, const std::string& at, std::vector<KeyAccess>* out) {
        return ParseTxn(m, 1, at, out);
      };
    case V3Operation::kWatch:
      return ParseWatchRequest;
    case V3Operation::kAdmin:
      break;
  }
  return nullptr;
}

V3ParseResult Fail(std::string_view endpoint, const std::string& error) {
  return V3ParseResult{std::nullopt, std::string(endpoint) + ": " + error};
}

V3ParseResult ParseKeyAware(std::string_view endpoint, MessageParser parse, std::string_view body) {
  const bool stream = endpoint == "watch";
  std::vector<json> values;
  if (std::string error = ParseJsonValues(body, stream, &values); !error.empty()) {
    return Fail(endpoint, error);
  }
  V3Request request;
  request.endpoint = std::string(endpoint);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string where = stream ? "[" + std::to_string(i) + "]" : "";
    if (std::string error = parse(values[i], where, &request.accesses); !error.empty()) {
      return Fail(endpoint, error);
    }
  }
  return V3ParseResult{std::move(request), ""};
}

}  // namespace

std::optional<std::string_view> V3Endpoint(std::string_view path) {
  for (std::string_view prefix : kGatewayPrefixes) {
    if (path == prefix) return std::string_view();
    if (path.size() > prefix.size() && path.starts_with(prefix) && path[prefix.size()] == '/') {
      return path.substr(prefix.size() + 1);
    }
  }
  return std::nullopt;
}

V3ParseResult ParseV3Request(std::string_view path, std::string_view body) {
  const std::optional<std::string_view> endpoint = V3Endpoint(path);
  if (!endpoint) return V3ParseResult{std::nullopt, "not a v3 gateway path"};
  const MessageParser parse = KeyAwareParser(*endpoint);
  if (parse == nullptr) return V3ParseResult{AdminRequest(*endpoint), ""};
  try {
    return ParseKeyAware(*endpoint, parse, body);
  } catch (const std::exception& e) {  // bad_alloc; nlohmann itself runs without throwing
    return Fail(*endpoint, std::string("cannot parse: ") + e.what());
  }
}

}  // namespace tlsproxy::acl
