// Replay driver for the fuzz targets, so CI runs them without a fuzzing
// toolchain: every file given (directories: their regular files, not
// recursive) is fed to LLVMFuzzerTestOneInput as is, then --mutations N
// deterministic mutations of it (fixed seed; byte flips, inserted JSON
// punctuation and quirk tokens, deletions, truncations, duplications).
// Bounded by --max-seconds (an equal share per file). Exit 0 when every input
// ran; a parser crash or a violated invariant aborts the process.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

const char* const kTokens[] = {"}{",         "[,{",
                               ",}",         ",",
                               "\"",         "\\",
                               "\\u",        "\\ud800",
                               "nan",        "-nan",
                               "inf",        "{",
                               "}",          "[",
                               "]",          ":",
                               "\xff",       "\xc3",
                               "\n",         "\0",
                               "null",       "1e309",
                               "-1",         "\"4.29G\"",
                               "1e+03M",     "\"  5.0000\"",
                               ",\"id\":1}", "\"STATUS\":\"E\",\"Code\":45",
                               "\"\"temp0",  "99999999999999999999"};

std::string Mutate(const std::string& in, std::mt19937_64& rng) {
  std::string s = in;
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:  // flip a byte
        if (!s.empty()) s[pos % s.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 1: {  // insert a token
        const char* t = kTokens[rng() % (sizeof kTokens / sizeof *kTokens)];
        s.insert(pos, t, std::strlen(t) == 0 ? 1 : std::strlen(t));
        break;
      }
      case 2:  // delete a range
        if (!s.empty()) s.erase(pos % s.size(), 1 + rng() % 16);
        break;
      case 3:  // truncate
        s.resize(pos);
        break;
      case 4: {  // duplicate a chunk
        if (s.empty()) break;
        const size_t from = rng() % s.size();
        const size_t len = 1 + rng() % std::min<size_t>(64, s.size() - from);
        s.insert(pos, s.substr(from, len));
        break;
      }
      default:  // random byte
        s.insert(pos, 1, static_cast<char>(rng() & 0xFF));
        break;
    }
  }
  return s;
}

void Run(const std::string& s) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

int main(int argc, char** argv) {
  long mutations = 0;
  double max_seconds = 30;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mutations" && i + 1 < argc) {
      mutations = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--max-seconds" && i + 1 < argc) {
      max_seconds = std::strtod(argv[++i], nullptr);
    } else if (fs::is_directory(a)) {
      for (const auto& e : fs::directory_iterator(a)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (fs::is_regular_file(a)) {
      files.push_back(a);
    } else {
      std::fprintf(stderr, "no such file or directory: %s\n", a.c_str());
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "usage: %s [--mutations N] [--max-seconds S] "
                 "FILE|DIR...\n",
                 argv[0]);
    return 2;
  }
  std::sort(files.begin(), files.end());
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  long runs = 0;
  bool stopped = false;
  std::mt19937_64 rng(0x5eed2026);
  // Each file gets an equal share of the time bound, so a slow (sanitized)
  // build still mutates every file rather than only the first ones.
  const double per_file = max_seconds / static_cast<double>(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string data = rigwatch::test_support::ReadFile(files[i]);
    const double deadline = per_file * static_cast<double>(i + 1);
    Run(data);
    ++runs;
    for (long m = 0; m < mutations; ++m) {
      Run(Mutate(data, rng));
      ++runs;
      if ((m & 15) == 15 && elapsed() > deadline) {
        stopped = true;
        break;
      }
    }
  }
  std::printf("replayed %zu files, %ld inputs in %.2f s%s\n", files.size(),
              runs, elapsed(), stopped ? " (time bound reached)" : "");
  return 0;
}
