// The descriptor table of every miner_* series (the source of HELP text and of
// docs/metrics.md). Units are base units: exporters convert at the edge.
#include "exporters/miner_metrics.h"

#include <array>

#include "exporters/registry.h"

namespace rigwatch {
namespace {

using metric::kBestDifficulty;
using MT = MetricType;

constexpr std::array kMinerMetrics = {
    MetricDesc{metric::kUp, MT::kGauge,
               "1 if the last poll of the miner succeeded, 0 otherwise.",
               "miner,kind"},
    MetricDesc{metric::kInfo, MT::kGauge,
               "Identity of the miner as it reports it; always 1. kind is "
               "the configured kind, or the one kind: auto told.",
               "miner,kind,model,firmware,hostname"},
    MetricDesc{metric::kLastSuccess, MT::kGauge,
               "Unix time of the last successful poll of the miner.", "miner"},
    MetricDesc{metric::kRestartsDetected, MT::kCounter,
               "Restarts of the miner detected by its uptime going down.",
               "miner"},
    MetricDesc{metric::kSamplesRejected, MT::kCounter,
               "Values from the miner dropped or capped as implausible, by "
               "reason (docs/operations.md).",
               "miner,reason"},
    MetricDesc{metric::kHashrate, MT::kGauge,
               "Current hashrate reported by the miner.", "miner"},
    MetricDesc{metric::kHashrateAvg, MT::kGauge,
               "Hashrate averaged by the miner over a window (1m, 5m, 10m, "
               "15m, 1h, 1d, or av for since start).",
               "miner,window"},
    MetricDesc{metric::kExpectedHashrate, MT::kGauge,
               "Hashrate the miner expects from its frequency and cores.",
               "miner"},
    MetricDesc{metric::kTemperature, MT::kGauge,
               "Temperature by sensor: asic, asic2, vr, board, chip, chip_max, "
               "chip_avg, env, inlet, outlet, asicN (per ASIC on NerdQAxe), "
               "chainN_board/chainN_chip/chainN_inlet/chainN_outlet per hash "
               "board, or a cgminer device such as asc0.",
               "miner,sensor"},
    MetricDesc{metric::kPower, MT::kGauge, "Input power.", "miner"},
    MetricDesc{metric::kInputVoltage, MT::kGauge, "Input voltage.", "miner"},
    MetricDesc{metric::kInputCurrent, MT::kGauge, "Input current.", "miner"},
    MetricDesc{metric::kCoreVoltage, MT::kGauge,
               "ASIC core voltage (kind=configured|measured).", "miner,kind"},
    MetricDesc{metric::kFanSpeed, MT::kGauge, "Fan speed by fan.", "miner,fan"},
    MetricDesc{metric::kFanDuty, MT::kGauge, "Fan duty cycle (0..1).",
               "miner,fan"},
    MetricDesc{metric::kFrequency, MT::kGauge, "ASIC clock frequency.",
               "miner"},
    MetricDesc{metric::kSharesAccepted, MT::kCounter,
               "Shares accepted by the pool, kept monotonic across miner "
               "restarts.",
               "miner"},
    MetricDesc{metric::kSharesRejected, MT::kCounter,
               "Shares rejected by the pool, kept monotonic across miner "
               "restarts.",
               "miner"},
    MetricDesc{metric::kHardwareErrors, MT::kCounter,
               "Hardware errors, kept monotonic across miner restarts.",
               "miner"},
    MetricDesc{kBestDifficulty, MT::kGauge, "Best share difficulty ever found.",
               "miner"},
    MetricDesc{metric::kBestSessionDifficulty, MT::kGauge,
               "Best share difficulty since the miner started.", "miner"},
    MetricDesc{metric::kPoolDifficulty, MT::kGauge,
               "Current stratum difficulty.", "miner"},
    MetricDesc{metric::kUptime, MT::kGauge,
               "Seconds since the miner (or its mining process) started.",
               "miner"},
    MetricDesc{metric::kPoolUp, MT::kGauge,
               "1 if the pool is alive/connected, 0 otherwise.", "miner,pool"},
    MetricDesc{metric::kWifiRssi, MT::kGauge, "WiFi signal strength in dBm.",
               "miner"},
    MetricDesc{metric::kFreeHeap, MT::kGauge, "Free heap memory.",
               "miner,memory"},
    MetricDesc{metric::kErrorRatio, MT::kGauge,
               "Hash error ratio reported by the ASIC (0..1).", "miner"},
    MetricDesc{metric::kOverheat, MT::kGauge,
               "1 while the miner's overheat protection is latched.", "miner"},
    MetricDesc{metric::kFault, MT::kGauge,
               "1 while the miner reports a fault of this type.",
               "miner,fault"},
    MetricDesc{metric::kChainHashrate, MT::kGauge, "Hashrate per hash chain.",
               "miner,chain"},
    MetricDesc{metric::kChainChips, MT::kGauge,
               "ASIC chips detected per hash chain.", "miner,chain"},
    MetricDesc{metric::kBlocksFound, MT::kCounter, "Blocks found.", "miner"},
    MetricDesc{metric::kDeviceUp, MT::kGauge,
               "1 if the device/board is alive and enabled.", "miner,device"},
};

}  // namespace

std::span<const MetricDesc> MinerMetricDescs() { return kMinerMetrics; }

}  // namespace rigwatch
