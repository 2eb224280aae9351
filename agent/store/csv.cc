#include "agent/store/csv.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace rigwatch::store {
namespace {

void AppendField(std::string& out, std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(f);
    return;
  }
  out.push_back('"');
  for (char c : f) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string CsvLine(const Row& row) {
  std::string line = FormatRfc3339(row.ts);
  line.push_back(',');
  AppendField(line, row.target);
  line.push_back(',');
  AppendField(line, row.metric);
  line.push_back(',');
  std::string labels;
  for (const Label& l : row.labels) {
    if (!labels.empty()) labels.push_back(',');
    labels += l.name;
    labels += "=\"";
    for (char c : l.value) {
      if (c == '"' || c == '\\') labels.push_back('\\');
      if (c == '\n') {
        labels += "\\n";
        continue;
      }
      labels.push_back(c);
    }
    labels.push_back('"');
  }
  AppendField(line, labels);
  line.push_back(',');
  line += FormatValue(row.value);
  return line;
}

Result<uint64_t> WriteCsv(RowIterator& rows, std::ostream& out) {
  out << "timestamp,miner,metric,labels,value\n";
  uint64_t n = 0;
  Row row;
  for (;;) {
    RW_ASSIGN_OR_RETURN(bool more, rows.Next(row));
    if (!more) break;
    out << CsvLine(row) << '\n';
    if (!out) return UnavailableError("csv export: write failed");
    ++n;
  }
  out.flush();
  if (!out) return UnavailableError("csv export: write failed");
  return n;
}

}  // namespace rigwatch::store
