// The whatsminer exporter: MicroBT Whatsminer (btminer) on its API v1/v2,
// JSON over TCP 4028 (docs/protocols.md "Whatsminer").
//
// One poll is five exchanges, each on its own connection:
//   summary     {"cmd":"summary"}      required  (MHS keys, fans, power,
//                                                 board/chip/env temps)
//   edevs       {"cmd":"edevs"}        optional  (one DEVS row per board)
//   pools       {"cmd":"pools"}        optional
//   devdetails  {"cmd":"devdetails"}   optional  (Model)
//   get_version {"cmd":"get_version"}  optional  (fw_ver; flat envelope)
// summary: MHS 5s (else HS RT) MH/s -> H/s, Factory GHS nominal, Power (else
// Power_RT; -1 is no reading), Fan Speed In/Out, Temperature -> board, Chip
// Temp Avg -> chip, Chip Temp Max -> chip_max, Env Temp -> env, freq_avg
// MHz, Elapsed, Firmware Version without its quotes. edevs row N (ASC or
// Slot, 0-based; else the row index) -> chain N+1: Temperature ->
// chainN_board, Chip Temp Avg -> chainN_chip, MHS 1m -> chain hashrate,
// Effective Chips, Status/Enabled -> device chainN.
//
// Restart: a chain of three exchanges, signed with the miner's password
// (config `auth.password_file`, else the factory "admin"):
//   get_version  a firmware dated 20241101 or later speaks API v3 on TCP
//                4433, which this kind does not implement: the restart
//                ends FailedPrecondition (counted as "unsupported");
//   get_token    Msg{time, salt, newsalt};
//   restart_btminer, {"enc":1,"data":<base64 AES-256-ECB>} with the token
//                computed from the password (md5-crypt, see DeriveWriteKey).
// The reply {"enc":<base64>} is decrypted and judged: Code 131 ok, 132
// FailedPrecondition. A clear Code 135 "check token err" (a wrong password
// signs a wrong token) fetches a new token once; a second one, Code 45 or
// "can't access write cmd" is PermissionDenied with the miner's message.
#ifndef RIGWATCH_EXPORTERS_WHATSMINER_H_
#define RIGWATCH_EXPORTERS_WHATSMINER_H_

#include <string>
#include <string_view>

#include "agent/common/status.h"
#include "exporters/exporter.h"

namespace rigwatch::whatsminer {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

// One raw reply of `command` ("summary", "edevs", "pools", "devdetails",
// "get_version") into `out`. For tests, the fuzz harness and golden files.
Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out);

// The md5-crypt ("$1$") hash of `password` with `salt`, hash part only (22
// characters). InvalidArgument for a salt that is empty, longer than 8 or
// outside [./0-9A-Za-z].
Result<std::string> Md5CryptHash(std::string_view password,
                                 std::string_view salt);

// What a signed write needs, from the password and a get_token reply.
struct WriteKey {
  std::string sign;     // the "token" member of the command
  std::string aes_key;  // 32 raw bytes
};
// key = Md5CryptHash(password, salt); sign = Md5CryptHash(key + time,
// newsalt); aes_key = SHA-256(key).
Result<WriteKey> DeriveWriteKey(std::string_view password,
                                std::string_view salt, std::string_view newsalt,
                                std::string_view time);

// AES-256-ECB of `plaintext` zero-padded to 16 bytes, base64 without line
// breaks.
std::string EncryptData(std::string_view plaintext, std::string_view aes_key);
// The inverse, trailing NULs stripped. InvalidArgument on bad base64 or a
// length that is not a multiple of 16.
Result<std::string> DecryptData(std::string_view base64,
                                std::string_view aes_key);

}  // namespace rigwatch::whatsminer

#endif  // RIGWATCH_EXPORTERS_WHATSMINER_H_
