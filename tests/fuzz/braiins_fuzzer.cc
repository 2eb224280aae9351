// Fuzz target for the braiins exporter: one input is one raw reply, parsed
// as every 4028 command of a poll and as a full poll, and as each HTTP reply
// of the REST restart chain (version, login, reboot) under several statuses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporters/braiins.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  const std::string body(reinterpret_cast<const char*>(data), size);
  const Exporter& e = braiins::GetExporter();
  fuzz::CheckCommandExporter(
      body, {"summary", "pools", "devdetails", "temps", "tunerstatus", "fans"},
      &braiins::ParseReply, e);
  Response version;
  version.http_status = 200;
  version.body = "{\"major\":1,\"minor\":7}";
  for (int status : {200, 204, 401, 404}) {
    Response r;
    r.http_status = status;
    r.body = body;
    for (size_t n = 0; n <= 4; ++n) {
      std::vector<Response> rs(n, version);
      rs.push_back(r);
      fuzz::CheckStatus(e.NextRestartRequest(rs).status());
    }
    fuzz::CheckStatus(e.ParseRestartReply(r));
  }
  return 0;
}
