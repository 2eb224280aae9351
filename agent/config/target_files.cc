#include "agent/config/target_files.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "agent/common/file_read.h"
#include "agent/config/config.h"
#include "exporters/registry.h"

namespace rigwatch {
namespace {

bool HasGlobChars(const std::string& p) {
  return p.find_first_of("*?[") != std::string::npos;
}

// True when the directory a glob pattern starts from does not exist (a
// miner directory not mounted yet): the pattern matches nothing, which is
// allowed, rather than failing to list.
bool GlobBaseMissing(const std::string& pattern) {
  const std::string fixed = pattern.substr(0, pattern.find_first_of("*?["));
  const size_t slash = fixed.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : fixed.substr(0, slash);
  struct stat st {};
  return stat(dir.c_str(), &st) != 0 && errno == ENOENT;
}

Status JoinErrors(const std::vector<std::string>& errors) {
  std::string msg;
  for (const std::string& e : errors) {
    if (!msg.empty()) msg += '\n';
    msg += e;
  }
  return InvalidArgumentError(msg);
}

}  // namespace

Result<std::vector<MinerTarget>> ParseTargetFile(const std::string& text,
                                                 const std::string& path,
                                                 const ExporterLookup& lookup) {
  MinerListResult parsed = ParseMinerList(
      text, path, [&](std::string_view k) { return lookup(k) != nullptr; });
  std::vector<std::string> errors;
  for (const ConfigError& e : parsed.errors) errors.push_back(e.ToString());
  std::vector<MinerTarget> out;
  for (const MinerConfig& m : parsed.miners) {
    Result<MinerTarget> t = ToMinerTarget(m);
    if (!t.ok()) {  // ParseMinerList checked the address already
      errors.push_back(m.location.ToString() + ": " + t.status().message());
      continue;
    }
    out.push_back(std::move(t).value());
  }
  if (!errors.empty()) return JoinErrors(errors);
  return out;
}

TargetFiles::TargetFiles(std::vector<std::string> patterns,
                         ExporterLookup lookup)
    : patterns_(std::move(patterns)), lookup_(std::move(lookup)) {
  if (!lookup_) {
    lookup_ = [](std::string_view k) { return FindExporter(k); };
  }
}

TargetFiles::Update TargetFiles::Poll() {
  std::vector<std::string> errors;
  std::vector<std::string> files;
  for (const std::string& pat : patterns_) {
    glob_t g{};
    const int rc = glob(pat.c_str(), GLOB_ERR, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) files.push_back(g.gl_pathv[i]);
    } else if (rc == GLOB_NOMATCH) {
      if (!HasGlobChars(pat)) errors.push_back(pat + ": no such file");
    } else if (rc == GLOB_ABORTED && HasGlobChars(pat) &&
               GlobBaseMissing(pat)) {
      // Nothing to match yet.
    } else {
      errors.push_back(pat + ": cannot list the files it matches");
    }
    globfree(&g);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());

  // The signature: every file's path, mtime and size.
  std::string sig;
  for (const std::string& f : files) {
    struct stat st {};
    if (stat(f.c_str(), &st) != 0) {
      errors.push_back(f + ": cannot stat");
      continue;
    }
    sig += f + '\0' + std::to_string(st.st_mtim.tv_sec) + '.' +
           std::to_string(st.st_mtim.tv_nsec) + '\0' +
           std::to_string(st.st_size) + '\n';
  }
  for (const std::string& e : errors) sig += "!" + e + '\n';
  Update u;
  if (loaded_once_ && sig == signature_) return u;
  signature_ = sig;
  loaded_once_ = true;

  std::vector<MinerTarget> all;
  std::map<std::string, std::string> where;  // name -> file
  for (const std::string& f : files) {
    Result<std::string> text = ReadConfigText(f, "miner file");
    if (!text.ok()) {
      errors.push_back(text.status().message());
      continue;
    }
    Result<std::vector<MinerTarget>> r = ParseTargetFile(*text, f, lookup_);
    if (!r.ok()) {
      errors.push_back(r.status().message());
      continue;
    }
    for (MinerTarget& t : *r) {
      auto [it, fresh] = where.emplace(t.name, f);
      if (!fresh) {
        errors.push_back(f + ": miner \"" + t.name + "\" is also listed in " +
                         it->second);
        continue;
      }
      all.push_back(std::move(t));
    }
  }
  if (!errors.empty()) {
    u.error = JoinErrors(errors);
    return u;
  }
  if (all != targets_) {
    targets_ = std::move(all);
    u.changed = true;
  }
  return u;
}

}  // namespace rigwatch
