# etcd's v3 protobuf messages, generated at build time by protoc from the
# .proto files Debian ships with etcd's Go sources (never copied into the
# tree, never committed). Only what acl/ needs to decide a gRPC request:
# rpc.proto, kv.proto, auth.proto and their imports. Defines the static
# library tlsproxy_etcdpb; its headers are included as
# "etcd/etcdserver/etcdserverpb/rpc.pb.h" etc. from the build dir.
find_package(Protobuf REQUIRED)  # Debian: protobuf-compiler, libprotobuf-dev

# Locates the directory holding `relative_path` under `root`, or stops with
# the Debian package that provides it.
function(tlsproxy_find_proto_dir out_var root relative_path package)
  find_path(${out_var} ${relative_path} PATHS ${root} NO_DEFAULT_PATH)
  if(NOT ${out_var})
    message(FATAL_ERROR "${relative_path} not found under ${root}; install the Debian package ${package}")
  endif()
endfunction()

tlsproxy_find_proto_dir(ETCD_PROTO_DIR /usr/share/gocode/src/go.etcd.io/etcd
  etcdserver/etcdserverpb/rpc.proto golang-etcd-server-dev)
tlsproxy_find_proto_dir(GOGO_PROTO_DIR /usr/share/gocode/src/github.com/gogo/protobuf
  gogoproto/gogo.proto golang-github-gogo-protobuf-dev)
tlsproxy_find_proto_dir(GOOGLEAPIS_PROTO_DIR /usr/share/gocode/src/github.com/gogo/googleapis
  google/api/annotations.proto golang-github-gogo-googleapis-dev)
tlsproxy_find_proto_dir(PROTOBUF_PROTO_DIR /usr/include
  google/protobuf/descriptor.proto libprotobuf-dev)

# Each file by the name its importers use: rpc.proto imports
# "etcd/mvcc/mvccpb/kv.proto", so etcd's tree is mapped to the virtual
# directory etcd/.
set(ETCDPB_IMPORTS
  etcd/etcdserver/etcdserverpb/rpc.proto
  etcd/mvcc/mvccpb/kv.proto
  etcd/auth/authpb/auth.proto
  gogoproto/gogo.proto
  google/api/annotations.proto
  google/api/http.proto
)
set(ETCDPB_SOURCES)
set(ETCDPB_DEPENDS)
foreach(proto ${ETCDPB_IMPORTS})
  string(REGEX REPLACE "\\.proto$" "" stem ${proto})
  list(APPEND ETCDPB_SOURCES ${CMAKE_BINARY_DIR}/etcdpb/${stem}.pb.cc)
endforeach()
list(APPEND ETCDPB_DEPENDS
  ${ETCD_PROTO_DIR}/etcdserver/etcdserverpb/rpc.proto
  ${ETCD_PROTO_DIR}/mvcc/mvccpb/kv.proto
  ${ETCD_PROTO_DIR}/auth/authpb/auth.proto
  ${GOGO_PROTO_DIR}/gogoproto/gogo.proto
  ${GOOGLEAPIS_PROTO_DIR}/google/api/annotations.proto
  ${GOOGLEAPIS_PROTO_DIR}/google/api/http.proto)
string(REGEX REPLACE "\\.cc" ".h" ETCDPB_HEADERS "${ETCDPB_SOURCES}")

add_custom_command(
  OUTPUT ${ETCDPB_SOURCES} ${ETCDPB_HEADERS}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/etcdpb
  COMMAND protobuf::protoc
    --proto_path=etcd=${ETCD_PROTO_DIR}
    --proto_path=${GOGO_PROTO_DIR}
    --proto_path=${GOOGLEAPIS_PROTO_DIR}
    --proto_path=${PROTOBUF_PROTO_DIR}
    --cpp_out=${CMAKE_BINARY_DIR}/etcdpb
    ${ETCDPB_IMPORTS}
  DEPENDS ${ETCDPB_DEPENDS} protobuf::protoc
  COMMENT "protoc: etcd v3 messages (rpc.proto, kv.proto, auth.proto and imports)"
  VERBATIM)

add_library(tlsproxy_etcdpb STATIC ${ETCDPB_SOURCES})
# Generated code: not ours to warn about.
target_compile_options(tlsproxy_etcdpb PRIVATE -w)
target_include_directories(tlsproxy_etcdpb SYSTEM PUBLIC ${CMAKE_BINARY_DIR}/etcdpb)
target_link_libraries(tlsproxy_etcdpb PUBLIC protobuf::libprotobuf)
