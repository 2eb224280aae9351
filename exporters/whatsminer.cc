// Whatsminer btminer API v1/v2: the cgminer-like sections plus the flat
// envelope of get_*, and the signed, encrypted restart. See whatsminer.h.
#include "exporters/whatsminer.h"

#include <crypt.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>

#include "exporters/cgminer.h"
#include "exporters/cgminer_sections.h"
#include "exporters/json_util.h"
#include "exporters/miner_metrics.h"
#include "exporters/sample_builder.h"

namespace rigwatch::whatsminer {
namespace {

using json_util::Field;
using json_util::Json;
using json_util::ToNumber;
using json_util::ToStringView;

constexpr Unit kMega{1e6};  // MH/s -> H/s, MHz -> Hz
constexpr int kMaxBoards = 16;

std::optional<double> Positive(const Json* v) {
  std::optional<double> d = ToNumber(v);
  if (d && *d > 0) return d;
  return std::nullopt;
}

bool Has(const Samples& s, std::string_view name) {
  return std::any_of(s.begin(), s.end(),
                     [&](const Sample& x) { return x.name == name; });
}

// The first object of the array member `key`, or nullptr.
const Json* FirstRow(const Json& doc, std::string_view key) {
  const Json* a = Field(doc, key);
  if (a == nullptr || !a->is_array() || a->empty() || !(*a)[0].is_object()) {
    return nullptr;
  }
  return &(*a)[0];
}

Status AddSummary(std::string_view body, ScrapeResult& out) {
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, "summary"));
  const Json* items = Field(doc, "SUMMARY");
  if (items == nullptr || !items->is_array() || items->empty() ||
      !(*items)[0].is_object()) {
    return InvalidArgumentError("summary: no SUMMARY[0] object in the reply");
  }
  const Json* status = FirstRow(doc, "STATUS");
  cgminer::internal::AddSummary(status != nullptr ? *status : doc, *items, out);
  const Json& s = (*items)[0];
  // "Power":-1 is no reading; Power_RT is the real-time value.
  std::erase_if(out.samples, [](const Sample& x) {
    return x.name == metric::kPower && x.value <= 0;
  });
  SampleBuilder b(out.samples);
  if (!Has(out.samples, metric::kPower)) {
    b.Add(metric::kPower, Positive(Field(s, "Power_RT")));
  }
  if (!Has(out.samples, metric::kHashrate)) {
    b.Add(metric::kHashrate, ToNumber(Field(s, "HS RT")), kMega);
  }
  b.Add(metric::kFrequency, Positive(Field(s, "freq_avg")), kMega);
  return Status::Ok();
}

// One DEVS row per hash board, ASC or Slot 0-based.
Status AddBoards(std::string_view body, ScrapeResult& out) {
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, "edevs"));
  const Json* rows = Field(doc, "DEVS");
  if (rows == nullptr || !rows->is_array()) {
    return InvalidArgumentError("edevs: no DEVS array in the reply");
  }
  SampleBuilder b(out.samples);
  int index = 0;
  for (const Json& row : *rows) {
    if (!row.is_object()) continue;
    std::optional<double> slot = ToNumber(Field(row, "ASC"));
    if (!slot) slot = ToNumber(Field(row, "Slot"));
    const int n = slot && *slot >= 0 && *slot < kMaxBoards
                      ? static_cast<int>(*slot)
                      : index;
    ++index;
    if (n >= kMaxBoards) continue;
    const std::string i = std::to_string(n + 1);
    const std::string chain = "chain" + i;
    if (auto st = ToStringView(Field(row, "Status"))) {
      const bool up = *st == "Alive" &&
                      json_util::ToFlag(Field(row, "Enabled")).value_or(true);
      b.Add1(metric::kDeviceUp, up ? 1.0 : 0.0, 1, "device", chain);
    }
    b.Add1(metric::kTemperature, Positive(Field(row, "Temperature")), 1,
           "sensor", chain + "_board");
    b.Add1(metric::kTemperature, Positive(Field(row, "Chip Temp Avg")), 1,
           "sensor", chain + "_chip");
    std::optional<double> rate = ToNumber(Field(row, "MHS 1m"));
    if (!rate) rate = ToNumber(Field(row, "MHS av"));
    b.Add1(metric::kChainHashrate, rate, kMega, "chain", i);
    b.Add1(metric::kChainChips, Positive(Field(row, "Effective Chips")), 1,
           "chain", i);
  }
  return Status::Ok();
}

// "M50S_VH41" -> "M50SVH40": upper case, no '_', last character '0'.
std::string NormalModel(std::string_view m) {
  std::string out;
  for (char c : m) {
    if (c == '_') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (!out.empty()) out.back() = '0';
  return out;
}

Status AddDetails(std::string_view body, ScrapeResult& out) {
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, "devdetails"));
  const Json* rows = Field(doc, "DEVDETAILS");
  if (rows == nullptr || !rows->is_array()) {
    return InvalidArgumentError("devdetails: no DEVDETAILS array in the reply");
  }
  for (const Json& row : *rows) {
    if (auto model = ToStringView(Field(row, "Model"))) {
      std::string m = NormalModel(*model);
      if (!m.empty()) {
        out.info.model = std::move(m);
        break;
      }
    }
  }
  return Status::Ok();
}

// The Msg object of a flat reply ({"STATUS":"S","Code":..,"Msg":{..}}).
Result<Json> FlatMsg(std::string_view body, std::string_view what) {
  RW_ASSIGN_OR_RETURN(Json doc, cgminer::DecodeReply(body, what));
  const Json* msg = Field(doc, "Msg");
  if (msg == nullptr || !msg->is_object()) {
    return InvalidArgumentError(
        std::string(what) + ": Msg is " +
        (msg == nullptr ? std::string("absent") : msg->type_name()) +
        ", expected an object");
  }
  return *msg;
}

// fw_ver without the quotes some builds print ("'20240326.18.REL'").
std::string FirmwareOf(const Json& msg) {
  std::string_view fw = ToStringView(Field(msg, "fw_ver")).value_or("");
  while (!fw.empty() && (fw.front() == '\'' || fw.front() == '"')) {
    fw.remove_prefix(1);
  }
  while (!fw.empty() && (fw.back() == '\'' || fw.back() == '"')) {
    fw.remove_suffix(1);
  }
  return std::string(fw);
}

Status AddVersion(std::string_view body, ScrapeResult& out) {
  RW_ASSIGN_OR_RETURN(Json msg, FlatMsg(body, "get_version"));
  std::string fw = FirmwareOf(msg);
  if (!fw.empty()) out.info.firmware = std::move(fw);
  return Status::Ok();
}

}  // namespace

Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out) {
  if (command == "summary") return AddSummary(body, out);
  if (command == "edevs" || command == "devs") return AddBoards(body, out);
  if (command == "pools") {
    return cgminer::ParseSection(cgminer::Section::kPools, body, out);
  }
  if (command == "devdetails") return AddDetails(body, out);
  if (command == "get_version") return AddVersion(body, out);
  return InvalidArgumentError("whatsminer: no parser for \"" +
                              std::string(command) + "\"");
}

Result<std::string> Md5CryptHash(std::string_view password,
                                 std::string_view salt) {
  if (salt.empty() || salt.size() > 8 ||
      !std::all_of(salt.begin(), salt.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
               c == '/';
      })) {
    return InvalidArgumentError("md5-crypt: bad salt \"" + std::string(salt) +
                                "\" (1-8 characters of [./0-9A-Za-z])");
  }
  const std::string setting = "$1$" + std::string(salt) + "$";
  const std::string pw(password);
  auto data = std::make_unique<crypt_data>();  // zeroed, as crypt_r needs
  const char* h = crypt_r(pw.c_str(), setting.c_str(), data.get());
  if (h == nullptr || h[0] != '$') {
    return InternalError("md5-crypt: libcrypt refused the $1$ scheme");
  }
  std::string_view v(h);
  return std::string(v.substr(v.rfind('$') + 1));
}

Result<WriteKey> DeriveWriteKey(std::string_view password,
                                std::string_view salt, std::string_view newsalt,
                                std::string_view time) {
  RW_ASSIGN_OR_RETURN(std::string key, Md5CryptHash(password, salt));
  WriteKey out;
  RW_ASSIGN_OR_RETURN(out.sign, Md5CryptHash(key + std::string(time), newsalt));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(key.data(), key.size(), md, &n, EVP_sha256(), nullptr);
  out.aes_key.assign(reinterpret_cast<const char*>(md), n);
  return out;
}

namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, void (*)(EVP_CIPHER_CTX*)>;

// AES-256-ECB without padding over whole blocks; "" when the key is not 32
// bytes or OpenSSL fails.
std::string Ecb(std::string_view in, std::string_view key, bool encrypt) {
  if (key.size() != 32 || in.size() % 16 != 0) return "";
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (ctx == nullptr || EVP_CipherInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr,
                                          k, nullptr, encrypt ? 1 : 0) != 1) {
    return "";
  }
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  std::string out(in.size() + 16, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int n = 0, m = 0;
  if (EVP_CipherUpdate(ctx.get(), o, &n,
                       reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), o + n, &m) != 1) {
    return "";
  }
  out.resize(static_cast<size_t>(n + m));
  return out;
}

}  // namespace

std::string EncryptData(std::string_view plaintext, std::string_view aes_key) {
  std::string padded(plaintext);
  padded.resize((padded.size() + 15) / 16 * 16, '\0');
  const std::string enc = Ecb(padded, aes_key, true);
  std::string out(4 * ((enc.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(enc.data()),
                      static_cast<int>(enc.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> DecryptData(std::string_view base64,
                                std::string_view aes_key) {
  if (base64.empty() || base64.size() % 4 != 0) {
    return InvalidArgumentError("encrypted reply: base64 of " +
                                std::to_string(base64.size()) +
                                " characters, not a multiple of 4");
  }
  std::string raw(base64.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                      reinterpret_cast<const unsigned char*>(base64.data()),
                      static_cast<int>(base64.size()));
  if (n < 0) return InvalidArgumentError("encrypted reply: invalid base64");
  // EVP_DecodeBlock counts the bytes of the '=' padding (at most two).
  size_t len = static_cast<size_t>(n);
  for (size_t i = base64.size(), pad = 0;
       i > 0 && base64[i - 1] == '=' && pad < 2 && len > 0; --i, ++pad) {
    --len;
  }
  raw.resize(len);
  if (raw.empty() || raw.size() % 16 != 0) {
    return InvalidArgumentError(
        "encrypted reply: " + std::to_string(raw.size()) +
        " bytes, not whole AES blocks");
  }
  std::string plain = Ecb(raw, aes_key, false);
  while (!plain.empty() && plain.back() == '\0') plain.pop_back();
  return plain;
}

namespace {

constexpr std::string_view kOrder[] = {"summary", "edevs", "pools",
                                       "devdetails", "get_version"};
constexpr std::string_view kWrite = "restart_btminer";
// The first firmware date of API v3 (TCP 4433).
constexpr std::string_view kV3Date = "20241101";

Request Cmd(std::string_view cmd, bool optional = false) {
  return Request{.name = std::string(cmd),
                 .payload = "{\"cmd\":\"" + std::string(cmd) + "\"}",
                 .optional = optional};
}

std::string Quoted(const Json& doc) {
  std::optional<double> code = ToNumber(Field(doc, "Code"));
  std::string msg(ToStringView(Field(doc, "Msg")).value_or(""));
  return (code ? "Code " + std::to_string(static_cast<long long>(*code))
               : std::string("no Code")) +
         (msg.empty() ? std::string() : " \"" + msg + "\"");
}

// Ok to go on after get_version; FailedPrecondition on API v3 firmware.
Status CheckGeneration(const Response& r) {
  if (!r.transport.ok()) {
    return UnavailableError("get_version: " + r.transport.ToString());
  }
  Result<Json> msg = FlatMsg(r.body, "get_version");
  if (!msg.ok()) {
    // Firmware without get_version answers STATUS E: v1, go on.
    if (msg.status().code() == StatusCode::kFailedPrecondition) {
      return Status::Ok();
    }
    return msg.status();
  }
  const std::string fw = FirmwareOf(*msg);
  const std::string_view date = std::string_view(fw).substr(0, fw.find('.'));
  if (date.size() == kV3Date.size() &&
      std::all_of(date.begin(), date.end(),
                  [](char c) { return c >= '0' && c <= '9'; }) &&
      date >= kV3Date) {
    return FailedPreconditionError(
        "firmware " + fw +
        " speaks Whatsminer API v3 (TCP 4433), which this kind does not "
        "implement");
  }
  return Status::Ok();
}

Result<WriteKey> KeyFromToken(const Response& r, std::string_view password) {
  if (!r.transport.ok()) {
    return UnavailableError("get_token: " + r.transport.ToString());
  }
  RW_ASSIGN_OR_RETURN(Json msg, FlatMsg(r.body, "get_token"));
  std::string parts[3];
  const char* names[] = {"time", "salt", "newsalt"};
  for (int k = 0; k < 3; ++k) {
    std::optional<std::string_view> v = ToStringView(Field(msg, names[k]));
    if (!v || v->empty()) {
      return InvalidArgumentError(std::string("get_token: Msg has no \"") +
                                  names[k] + "\" string");
    }
    parts[k] = std::string(*v);
  }
  Result<WriteKey> key = DeriveWriteKey(password, parts[1], parts[2], parts[0]);
  if (!key.ok()) return key.status().WithContext("get_token");
  return key;
}

// The clear or decrypted reply of a write, as a JSON object.
Result<Json> WriteReply(const Response& r, const WriteKey* key) {
  const std::string what(kWrite);
  if (!r.transport.ok()) {
    return UnavailableError(what + ": " + r.transport.ToString());
  }
  if (r.body.empty()) {
    return PermissionDeniedError(
        what +
        ": connection closed with 0 bytes: this host is not allowed "
        "by the miner's API");
  }
  RW_ASSIGN_OR_RETURN(
      Json doc,
      json_util::ParseLenient(json_util::StripOneTrailingNul(r.body), what));
  if (!doc.is_object()) {
    return InvalidArgumentError(what + ": expected a JSON object at byte 0");
  }
  const Json* enc = Field(doc, "enc");
  if (enc == nullptr || !enc->is_string()) return doc;  // answered in clear
  if (key == nullptr) {
    return InvalidArgumentError(
        what + ": an encrypted reply needs the key of its get_token");
  }
  RW_ASSIGN_OR_RETURN(std::string plain,
                      DecryptData(enc->get<std::string>(), key->aes_key));
  Result<Json> inner = json_util::ParseLenient(plain, what + " (decrypted)");
  if (!inner.ok() || !inner->is_object()) {
    return InvalidArgumentError(
        what + ": the decrypted reply is not a JSON object (another key?)");
  }
  return inner;
}

bool TokenRefused(const Json& doc) {
  std::optional<double> code = ToNumber(Field(doc, "Code"));
  return code && *code == 135;
}

Status Verdict(const Json& doc) {
  const std::string what(kWrite);
  std::string_view letter = ToStringView(Field(doc, "STATUS")).value_or("");
  std::optional<double> code = ToNumber(Field(doc, "Code"));
  std::string_view msg = ToStringView(Field(doc, "Msg")).value_or("");
  if (letter == "S" && (!code || *code == 131)) return Status::Ok();
  const std::string said = what + ": miner replied " + Quoted(doc);
  if (TokenRefused(doc)) {
    return PermissionDeniedError(
        said + " with a fresh token: wrong password (auth.password_file)?");
  }
  if ((code && *code == 45) ||
      msg.find("can't access write cmd") != std::string_view::npos) {
    return PermissionDeniedError(
        said +
        ": writes are off (enable the API switch and change the default "
        "admin password)");
  }
  if (letter.empty()) {
    return InvalidArgumentError(what + ": no STATUS in the reply");
  }
  return FailedPreconditionError(said);
}

class WhatsminerExporter final : public Exporter {
 public:
  std::string_view Kind() const override { return "whatsminer"; }
  Protocol GetProtocol() const override { return Protocol::kCgminerTcp; }
  uint16_t DefaultPort() const override { return 4028; }
  Credentials DefaultCredentials() const override { return {"admin", "admin"}; }

  std::vector<Request> PollRequests() const override {
    std::vector<Request> out;
    for (size_t i = 0; i < std::size(kOrder); ++i) {
      out.push_back(Cmd(kOrder[i], /*optional=*/i != 0));
    }
    return out;
  }

  // A failed poll of an API v3 firmware says so (get_version is last).
  Result<ScrapeResult> Parse(
      std::span<const Response> responses) const override {
    Result<ScrapeResult> r =
        cgminer::ParseReplies(kOrder, responses, &ParseReply);
    if (r.ok() || responses.size() != std::size(kOrder)) return r;
    Status v3 = CheckGeneration(responses.back());
    if (v3.code() != StatusCode::kFailedPrecondition) return r;
    return FailedPreconditionError(v3.message() + " (" + r.status().message() +
                                   ")");
  }

  Request RestartRequest() const override { return Cmd("get_version"); }

  Result<std::optional<Request>> NextRestartRequest(
      std::span<const Response> replies) const override {
    return NextSignedRestartRequest(replies, DefaultCredentials());
  }

  Status ParseRestartReply(const Response& r) const override {
    RW_ASSIGN_OR_RETURN(Json doc, WriteReply(r, nullptr));
    return Verdict(doc);
  }

  bool RestartUsesLogin() const override { return true; }

  // get_version, then pairs of get_token and the write; one more pair when
  // the first write's token was refused.
  Result<std::optional<Request>> NextSignedRestartRequest(
      std::span<const Response> replies,
      const Credentials& login) const override {
    if (replies.empty()) return std::optional<Request>(Cmd("get_version"));
    if (Status g = CheckGeneration(replies[0]); !g.ok()) {
      return g.code() == StatusCode::kFailedPrecondition
                 ? FailedPreconditionError("restart: " + g.message())
                 : g;
    }
    const size_t after = replies.size() - 1;
    if (after == 0) return std::optional<Request>(Cmd("get_token"));
    if (after % 2 == 1) {
      RW_ASSIGN_OR_RETURN(WriteKey key,
                          KeyFromToken(replies.back(), login.password));
      const std::string plain = "{\"cmd\":\"" + std::string(kWrite) +
                                "\",\"token\":\"" + key.sign + "\"}";
      return std::optional<Request>(
          Request{.name = std::string(kWrite),
                  .payload = "{\"enc\":1,\"data\":\"" +
                             EncryptData(plain, key.aes_key) + "\"}"});
    }
    if (after == 2 && !DroppedAfterSend(replies.back())) {
      Result<Json> doc = WriteReply(replies.back(), nullptr);
      if (doc.ok() && TokenRefused(*doc)) {
        return std::optional<Request>(Cmd("get_token"));  // once more
      }
    }
    return std::optional<Request>();
  }

  Status ParseSignedRestartReply(std::span<const Response> replies,
                                 const Credentials& login) const override {
    if (replies.size() < 3) {
      return InvalidArgumentError(std::string(kWrite) +
                                  ": the chain ended before the write");
    }
    const Response& w = replies.back();
    if (DroppedAfterSend(w)) return Status::Ok();  // gone to restart
    Result<WriteKey> key =
        KeyFromToken(replies[replies.size() - 2], login.password);
    RW_ASSIGN_OR_RETURN(Json doc, WriteReply(w, key.ok() ? &*key : nullptr));
    return Verdict(doc);
  }
};

}  // namespace

const Exporter& GetExporter() {
  static const WhatsminerExporter kExporter;
  return kExporter;
}

}  // namespace rigwatch::whatsminer
