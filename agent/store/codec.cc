#include "agent/store/codec.h"

#include <cmath>
#include <cstring>

namespace rigwatch::store {
namespace {

constexpr uint8_t kXorMode = 0xFF;    // doubles
constexpr uint8_t kXor32Mode = 0xFE;  // values that are exact float32s
constexpr int kMaxDecimals = 9;
constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

uint64_t Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
double FromBits(uint64_t u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

// Smallest number of decimals that represents every value exactly as an
// integer below 2^53, or -1.
int FindDecimals(const std::vector<ChunkPoint>& pts) {
  for (int d = 0; d <= kMaxDecimals; ++d) {
    bool ok = true;
    for (const ChunkPoint& p : pts) {
      double s = p.value * kPow10[d];
      if (!std::isfinite(s) || std::fabs(s) >= 9.0e15) return -1;
      double r = std::nearbyint(s);
      if (r / kPow10[d] != p.value || (r == 0 && std::signbit(p.value))) {
        ok = false;
        break;
      }
    }
    if (ok) return d;
  }
  return -1;
}

}  // namespace

void PutU32BE(std::string& out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
               static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}

uint32_t GetU32BE(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

void PutVarint(std::string& out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63 && !in.empty(); shift += 7) {
    uint8_t b = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    v |= uint64_t{b & 0x7Fu} << shift;
    if (b < 0x80) return true;
  }
  return false;
}

std::string EncodeSeriesName(std::string_view metric, const Labels& labels) {
  std::string out(metric);
  out.push_back('\0');
  for (const Label& l : labels) {
    out += l.name;
    out.push_back('\0');
    out += l.value;
    out.push_back('\0');
  }
  return out;
}

Status DecodeSeriesName(std::string_view in, std::string& metric,
                        Labels& labels) {
  auto next = [&](std::string& s) {
    size_t z = in.find('\0');
    if (z == std::string_view::npos) return false;
    s.assign(in.substr(0, z));
    in.remove_prefix(z + 1);
    return true;
  };
  labels.clear();
  if (!next(metric)) return DataLossError("series name: no terminator");
  while (!in.empty()) {
    Label l;
    if (!next(l.name) || !next(l.value)) {
      return DataLossError("series name: truncated label");
    }
    labels.push_back(std::move(l));
  }
  return Status::Ok();
}

void EncodeChunk(const std::vector<ChunkPoint>& pts, std::string& out) {
  PutVarint(out, pts.size());
  if (pts.empty()) return;
  PutVarint(out, ZigZag(pts[0].ts_ms));
  int64_t prev_delta = 0;
  for (size_t i = 1; i < pts.size(); ++i) {
    int64_t delta = pts[i].ts_ms - pts[i - 1].ts_ms;
    PutVarint(out, ZigZag(delta - prev_delta));
    prev_delta = delta;
  }
  int d = FindDecimals(pts);
  if (d >= 0) {
    out.push_back(static_cast<char>(d));
    int64_t prev = 0;
    for (const ChunkPoint& p : pts) {
      auto v = static_cast<int64_t>(std::nearbyint(p.value * kPow10[d]));
      PutVarint(out, ZigZag(v - prev));
      prev = v;
    }
    return;
  }
  // Firmware often reports float32 readings; as doubles they end in 29
  // zero bits, so XOR their float32 bits instead (half the bytes).
  bool f32 = true;
  for (const ChunkPoint& p : pts) {
    if (static_cast<double>(static_cast<float>(p.value)) != p.value) {
      f32 = false;
      break;
    }
  }
  const int width = f32 ? 4 : 8;
  auto bits_of = [&](double v) -> uint64_t {
    if (!f32) return Bits(v);
    float f = static_cast<float>(v);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
  };
  out.push_back(static_cast<char>(f32 ? kXor32Mode : kXorMode));
  uint64_t prev = bits_of(pts[0].value);
  for (int b = 0; b < width; ++b) {
    out.push_back(static_cast<char>(prev >> (8 * b)));
  }
  for (size_t i = 1; i < pts.size(); ++i) {
    uint64_t cur = bits_of(pts[i].value);
    uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      out.push_back(0);
      continue;
    }
    // Zero bytes at the top and bottom of the word are not stored.
    int lead = (__builtin_clzll(x) - (64 - 8 * width)) / 8;
    int trail = __builtin_ctzll(x) / 8;
    out.push_back(static_cast<char>((lead << 4) | trail | 0x80));
    for (int b = trail; b < width - lead; ++b) {
      out.push_back(static_cast<char>(x >> (8 * b)));
    }
  }
}

Status DecodeChunk(std::string_view in, std::vector<ChunkPoint>& out) {
  ChunkReader r;
  RW_RETURN_IF_ERROR(r.Init(in));
  out.reserve(out.size() + r.size());
  ChunkPoint p;
  while (r.Next(p)) out.push_back(p);
  return r.status();
}

bool ChunkReader::Fail() {
  status_ = DataLossError("chunk: truncated or malformed");
  i_ = n_;
  return false;
}

Status ChunkReader::Init(std::string_view in) {
  uint64_t v;
  if (!GetVarint(in, n_) || n_ > (1u << 24)) {
    Fail();
    return status_;
  }
  if (n_ == 0) return Status::Ok();
  ts_ = in;
  // Skip the timestamps to find where the values begin.
  for (uint64_t i = 0; i < n_; ++i) {
    if (!GetVarint(in, v)) {
      Fail();
      return status_;
    }
  }
  if (in.empty()) {
    Fail();
    return status_;
  }
  mode_ = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (mode_ == kXorMode || mode_ == kXor32Mode) {
    width_ = mode_ == kXorMode ? 8 : 4;
    if (in.size() < static_cast<size_t>(width_)) {
      Fail();
      return status_;
    }
    for (int b = 0; b < width_; ++b) {
      bits_ |= uint64_t{static_cast<uint8_t>(in[b])} << (8 * b);
    }
    in.remove_prefix(width_);
  } else if (mode_ > kMaxDecimals) {
    Fail();
    return status_;
  }
  vals_ = in;
  return Status::Ok();
}

double ChunkReader::Value() const {
  if (width_ == 8) return FromBits(bits_);
  float f;
  auto u = static_cast<uint32_t>(bits_);
  std::memcpy(&f, &u, 4);
  return f;
}

bool ChunkReader::Next(ChunkPoint& p) {
  if (i_ >= n_) return false;
  uint64_t v;
  if (!GetVarint(ts_, v)) return Fail();
  if (i_ == 0) {
    ts_cur_ = UnZigZag(v);
  } else {
    delta_ += UnZigZag(v);
    ts_cur_ += delta_;
  }
  p.ts_ms = ts_cur_;
  if (width_ == 0) {
    if (!GetVarint(vals_, v)) return Fail();
    int_cur_ += UnZigZag(v);
    p.value = static_cast<double>(int_cur_) / kPow10[mode_];
  } else if (i_ > 0) {
    if (vals_.empty()) return Fail();
    auto h = static_cast<uint8_t>(vals_[0]);
    vals_.remove_prefix(1);
    if (h != 0) {
      int lead = (h >> 4) & 7, trail = h & 0xF;
      int len = width_ - lead - trail;
      if (len <= 0 || vals_.size() < static_cast<size_t>(len)) return Fail();
      uint64_t x = 0;
      for (int b = 0; b < len; ++b) {
        x |= uint64_t{static_cast<uint8_t>(vals_[b])} << (8 * (b + trail));
      }
      vals_.remove_prefix(len);
      bits_ ^= x;
    }
    p.value = Value();
  } else {
    p.value = Value();
  }
  ++i_;
  if (i_ == n_ && !vals_.empty()) return Fail();
  return true;
}

}  // namespace rigwatch::store
