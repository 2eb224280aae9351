// Byte encodings of the RocksDB store (internal): big-endian key parts,
// varints, series keys, and the compact per-series chunk format.
//
// Chunk (one series, one closed hour), all integers varint:
//   n, zigzag(first ts ms), then n-1 zigzag delta-of-delta timestamps;
//   one mode byte for values:
//     0..9  scaled integers with that many decimals: zigzag(first),
//           then n-1 zigzag deltas (exact: decoding gives the same doubles)
//     0xFF  XOR of IEEE bits with the previous value: 8 raw bytes, then per
//           value one byte (0x80 | leading<<4 | trailing zero bytes, 0 =
//           same value) and the bytes between.
//     0xFE  the same on float32 bits (4-byte words) when every value is an
//           exact float32, as firmware readings often are.
#ifndef RIGWATCH_AGENT_STORE_CODEC_H_
#define RIGWATCH_AGENT_STORE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch::store {

void PutU32BE(std::string& out, uint32_t v);
uint32_t GetU32BE(const char* p);
void PutVarint(std::string& out, uint64_t v);
// Advances `in`; false on truncation.
bool GetVarint(std::string_view& in, uint64_t& v);
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// name \0 (label \0 value \0)* with labels as given (callers sort them).
std::string EncodeSeriesName(std::string_view metric, const Labels& labels);
Status DecodeSeriesName(std::string_view in, std::string& metric,
                        Labels& labels);

struct ChunkPoint {
  int64_t ts_ms;
  double value;
};
// Points must be in strictly increasing time order.
void EncodeChunk(const std::vector<ChunkPoint>& points, std::string& out);
// Appends the chunk's points to `out`.
Status DecodeChunk(std::string_view in, std::vector<ChunkPoint>& out);

// Streams a chunk one point at a time (for the time-ordered scan, which
// keeps many chunks open). The bytes must outlive the reader.
class ChunkReader {
 public:
  // Validates the header and finds the value section; DataLoss if malformed.
  Status Init(std::string_view in);
  // False at the end or on a malformed tail (then status() says so).
  bool Next(ChunkPoint& p);
  const Status& status() const { return status_; }
  uint64_t size() const { return n_; }

 private:
  bool Fail();
  double Value() const;
  std::string_view ts_, vals_;
  uint64_t n_ = 0, i_ = 0;
  int64_t ts_cur_ = 0, delta_ = 0, int_cur_ = 0;
  uint64_t bits_ = 0;
  int mode_ = 0;
  int width_ = 0;  // 0: scaled integers, else XOR word size in bytes
  Status status_;
};

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_CODEC_H_
