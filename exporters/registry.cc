#include "exporters/registry.h"

#include <algorithm>
#include <array>

#include "exporters/antminer.h"
#include "exporters/avalon.h"
#include "exporters/bitaxe.h"
#include "exporters/braiins.h"
#include "exporters/cgminer.h"
#include "exporters/luxos.h"
#include "exporters/vnish.h"
#include "exporters/whatsminer.h"

namespace rigwatch {
namespace {

struct Entry {
  std::string_view kind;
  const Exporter& (*get)();
};

// Sorted by kind. One line per exporter.
constexpr std::array kExporters = {
    Entry{"antminer", &antminer::GetExporter},
    Entry{"avalon", &avalon::GetExporter},
    Entry{"bitaxe", &bitaxe::GetExporter},
    Entry{"braiins", &braiins::GetExporter},
    Entry{"cgminer", &cgminer::GetExporter},
    Entry{"luxos", &luxos::GetExporter},
    Entry{"vnish", &vnish::GetExporter},
    Entry{"whatsminer", &whatsminer::GetExporter},
};

}  // namespace

const Exporter* FindExporter(std::string_view kind) {
  for (const Entry& e : kExporters) {
    if (e.kind == kind) return &e.get();
  }
  return nullptr;
}

std::vector<std::string_view> KnownKinds() {
  std::vector<std::string_view> out;
  for (const Entry& e : kExporters) out.push_back(e.kind);
  return out;
}

}  // namespace rigwatch
