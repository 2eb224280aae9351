// Row formats of RocksStore shared by its .cc files (internal).
#ifndef RIGWATCH_AGENT_STORE_ROCKS_ROWS_H_
#define RIGWATCH_AGENT_STORE_ROCKS_ROWS_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "agent/store/codec.h"

namespace rigwatch::store {

// meta keys: one prefix byte + a big-endian u32.
inline std::string U32Key(char prefix, uint32_t v) {
  std::string k(1, prefix);
  PutU32BE(k, v);
  return k;
}

// A u64 as 8 bytes, host order (meta values).
inline std::string U64Value(uint64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

// Chunk key in a c<day> family: [hour seconds u32 BE][series u32 BE].
inline std::string ChunkKey(int64_t hour_ms, uint32_t sid) {
  std::string k;
  PutU32BE(k, static_cast<uint32_t>(hour_ms / 1000));
  PutU32BE(k, sid);
  return k;
}

struct HotRow {
  int64_t ts_ms;
  uint32_t schema;
  std::string values;  // raw doubles
};

// Parses a hot row value: varint schema id then the doubles.
inline bool ParseHotValue(std::string_view v, uint32_t& schema,
                          std::string_view& doubles) {
  uint64_t s;
  if (!GetVarint(v, s) || v.size() % 8 != 0) return false;
  schema = static_cast<uint32_t>(s);
  doubles = v;
  return true;
}

inline double DoubleAt(std::string_view doubles, size_t i) {
  double d;
  std::memcpy(&d, doubles.data() + 8 * i, 8);
  return d;
}

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_ROCKS_ROWS_H_
