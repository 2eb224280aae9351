#include "exporters/label_caps.h"

#include "exporters/json_repair.h"

namespace rigwatch {

bool CapLabelValue(std::string& v) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  bool changed = false;
  size_t i = 0;
  while (i < v.size()) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    std::string_view piece;
    size_t advance = 1;
    if (c < 0x80) {
      piece = std::string_view(v).substr(i, 1);
    } else if (size_t n = json_util::Utf8Len(v, i); n > 0) {
      piece = std::string_view(v).substr(i, n);
      advance = n;
    } else {
      piece = kReplacement;
      changed = true;
    }
    if (out.size() + piece.size() > kMaxMinerLabelBytes) {
      changed = true;
      break;
    }
    out.append(piece);
    i += advance;
  }
  if (changed) v = std::move(out);
  return changed;
}

size_t CapScrapeStrings(ScrapeResult& r) {
  size_t n = 0;
  for (Sample& s : r.samples) {
    for (Label& l : s.labels) n += CapLabelValue(l.value) ? 1 : 0;
  }
  n += CapLabelValue(r.info.model) ? 1 : 0;
  n += CapLabelValue(r.info.firmware) ? 1 : 0;
  n += CapLabelValue(r.info.hostname) ? 1 : 0;
  return n;
}

}  // namespace rigwatch
