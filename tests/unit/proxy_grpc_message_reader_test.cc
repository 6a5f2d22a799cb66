// GrpcMessageReader: gRPC's length-prefixed messages reassembled from
// DATA bytes however HTTP/2 split them; FrameGrpcMessage; the gRPC status
// helpers (refusals, code names, grpc-message encoding).
#include "proxy/grpc_message_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/grpc_status.h"

namespace tlsproxy::proxy {
namespace {

std::string Prefix(char flag, uint32_t length) {
  return std::string{flag, static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                     static_cast<char>(length >> 8), static_cast<char>(length)};
}

TEST(GrpcMessageReaderTest, WholeMessagesInOneChunk) {
  GrpcMessageReader reader(100);
  std::vector<GrpcMessage> out;
  const std::string bytes = FrameGrpcMessage("abc") + FrameGrpcMessage("") + FrameGrpcMessage("de");
  EXPECT_EQ(reader.Feed(bytes, &out), GrpcMessageReader::Status::kOk);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].bytes, "abc");
  EXPECT_EQ(out[1].bytes, "");
  EXPECT_EQ(out[2].bytes, "de");
  EXPECT_FALSE(out[0].compressed);
  EXPECT_FALSE(reader.HasPartialMessage());
}

TEST(GrpcMessageReaderTest, ByteByByte) {
  GrpcMessageReader reader(100);
  std::vector<GrpcMessage> out;
  const std::string bytes = FrameGrpcMessage("hello") + FrameGrpcMessage("world");
  for (size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_EQ(reader.Feed(bytes.substr(i, 1), &out), GrpcMessageReader::Status::kOk);
    if (i + 1 < 10) {
      EXPECT_TRUE(out.empty()) << i;  // the first message ends at byte 10
      EXPECT_TRUE(reader.HasPartialMessage());
    }
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes, "hello");
  EXPECT_EQ(out[1].bytes, "world");
  EXPECT_FALSE(reader.HasPartialMessage());
}

TEST(GrpcMessageReaderTest, PartialPrefixAndBodyWaitForTheRest) {
  GrpcMessageReader reader(100);
  std::vector<GrpcMessage> out;
  EXPECT_EQ(reader.Feed(Prefix(0, 4).substr(0, 3), &out), GrpcMessageReader::Status::kOk);
  EXPECT_TRUE(reader.HasPartialMessage());
  EXPECT_EQ(reader.Feed(Prefix(0, 4).substr(3) + "ab", &out), GrpcMessageReader::Status::kOk);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(reader.HasPartialMessage());
  EXPECT_EQ(reader.Feed("cd", &out), GrpcMessageReader::Status::kOk);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].bytes, "abcd");
}

TEST(GrpcMessageReaderTest, CompressedFlagIsReported) {
  GrpcMessageReader reader(100);
  std::vector<GrpcMessage> out;
  EXPECT_EQ(reader.Feed(Prefix(1, 1) + "x" + Prefix(2, 1) + "y", &out),
            GrpcMessageReader::Status::kOk);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].compressed);
  EXPECT_TRUE(out[1].compressed);  // any flag but 0 is not a plain message
}

TEST(GrpcMessageReaderTest, DeclaredLengthOverTheLimitFailsBeforeBuffering) {
  GrpcMessageReader reader(10);
  std::vector<GrpcMessage> out;
  EXPECT_EQ(reader.Feed(FrameGrpcMessage("0123456789"), &out), GrpcMessageReader::Status::kOk);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(reader.Feed(Prefix(0, 11), &out), GrpcMessageReader::Status::kTooLarge);
  EXPECT_TRUE(reader.failed());
  EXPECT_FALSE(reader.HasPartialMessage());
  // Failed for good: even a valid message is not read any more.
  EXPECT_EQ(reader.Feed(FrameGrpcMessage("a"), &out), GrpcMessageReader::Status::kTooLarge);
  EXPECT_EQ(out.size(), 1u);
  GrpcMessageReader huge(10);
  EXPECT_EQ(huge.Feed(Prefix(0, 0xffffffffu), &out), GrpcMessageReader::Status::kTooLarge);
}

TEST(GrpcMessageReaderTest, FrameGrpcMessageWritesTheBigEndianLength) {
  const std::string framed = FrameGrpcMessage(std::string(300, 'z'));
  EXPECT_EQ(framed.substr(0, 5), Prefix(0, 300));
  EXPECT_EQ(framed.size(), 305u);
}

TEST(GrpcStatusTest, RefusalsAreEtcds) {
  EXPECT_EQ(GrpcRefusalFor(acl::Verdict::kForbidden).code, kGrpcPermissionDenied);
  EXPECT_EQ(GrpcRefusalFor(acl::Verdict::kForbidden).message, "etcdserver: permission denied");
  EXPECT_EQ(GrpcRefusalFor(acl::Verdict::kReadOnly).code, kGrpcPermissionDenied);
  EXPECT_EQ(GrpcRefusalFor(acl::Verdict::kNeedCredentials).code, kGrpcInvalidArgument);
  EXPECT_EQ(GrpcRefusalFor(acl::Verdict::kNeedCredentials).message,
            "etcdserver: user name is empty");
  EXPECT_EQ(GrpcCodeName(7), "PermissionDenied");
  EXPECT_EQ(GrpcCodeName(3), "InvalidArgument");
  EXPECT_EQ(GrpcCodeName(16), "Unauthenticated");
  EXPECT_EQ(GrpcCodeName(99), "Unknown");
}

TEST(GrpcStatusTest, GrpcMessageIsPercentEncoded) {
  EXPECT_EQ(PercentEncodeGrpcMessage("etcdserver: permission denied"),
            "etcdserver: permission denied");
  EXPECT_EQ(PercentEncodeGrpcMessage("100% \"a\"\n\xc3\xa9"), "100%25 \"a\"%0A%C3%A9");
}

}  // namespace
}  // namespace tlsproxy::proxy
