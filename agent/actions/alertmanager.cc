#include "agent/actions/alertmanager.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "agent/actions/mail.h"
#include "agent/common/curl.h"

namespace rigwatch::actions {
namespace {

std::string ValidLabelName(const std::string& name) {
  std::string out = name.empty() ? "_" : name;
  for (std::size_t i = 0; i < out.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(out[i]);
    bool ok = std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c));
    if (!ok || c >= 0x80) out[i] = '_';
  }
  return out;
}

size_t KeepBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  std::size_t n = size * nmemb;
  if (body->size() < 512) body->append(data, std::min<std::size_t>(n, 512));
  return n;
}

}  // namespace

// nlohmann::json reports errors by exceptions; this is the one place in the
// component that uses it, and nothing escapes.
Result<std::string> AlertsToJson(const std::vector<AmAlert>& alerts) {
  try {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& a : alerts) {
      nlohmann::json j;
      nlohmann::json labels = nlohmann::json::object();
      for (const auto& [k, v] : a.labels) labels[ValidLabelName(k)] = v;
      j["labels"] = labels;
      nlohmann::json ann = nlohmann::json::object();
      for (const auto& [k, v] : a.annotations) ann[ValidLabelName(k)] = v;
      j["annotations"] = ann;
      j["startsAt"] = FormatRfc3339(a.starts_at);
      j["endsAt"] = FormatRfc3339(a.ends_at);
      if (!a.generator_url.empty()) j["generatorURL"] = a.generator_url;
      arr.push_back(std::move(j));
    }
    return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return InternalError(std::string("alertmanager json: ") + e.what());
  }
}

AlertmanagerChannel::AlertmanagerChannel(AlertmanagerOptions options)
    : opt_(std::move(options)) {
  curl::EnsureGlobalInit();
}

Status AlertmanagerChannel::DeliverBatch(
    const std::vector<const std::string*>& payloads, std::stop_token stop) {
  // Each payload is a JSON array ("[...]"); splice their elements together.
  std::string joined = "[";
  for (const std::string* p : payloads) {
    std::string_view v(*p);
    while (!v.empty() && v.back() != ']') v.remove_suffix(1);
    if (v.size() < 2 || v.front() != '[') continue;  // not ours: skip
    v = v.substr(1, v.size() - 2);
    if (v.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
    if (joined.size() > 1) joined += ',';
    joined.append(v);
  }
  joined += ']';
  return Deliver(joined, stop);
}

Status AlertmanagerChannel::Deliver(const std::string& payload,
                                    std::stop_token stop) {
  std::string url = opt_.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/api/v2/alerts";
  curl::Easy easy(curl_easy_init());
  if (!easy) return InternalError("curl_easy_init failed");
  CURL* c = easy.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string reply;
  curl::Slist headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  const long timeout_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(opt_.timeout)
          .count());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(payload.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl::AbortOnStop(c, &stop);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return curl::ToStatus(rc, errbuf, "alertmanager " + url);
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300) {
    for (char& ch : reply) {
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    }
    return UnavailableError("alertmanager " + url + ": HTTP " +
                            std::to_string(code) + ": " + reply);
  }
  return Status::Ok();
}

}  // namespace rigwatch::actions
