// Names of the miner_* series shared by every miner exporter. One table
// (miner_metrics.cc) documents them all; exporters emit subsets.
#ifndef RIGWATCH_EXPORTERS_MINER_METRICS_H_
#define RIGWATCH_EXPORTERS_MINER_METRICS_H_

#include <string_view>

namespace rigwatch::metric {

// Added by the poller for every configured miner.
inline constexpr std::string_view kUp = "miner_up";
inline constexpr std::string_view kInfo = "miner_info";
inline constexpr std::string_view kLastSuccess =
    "miner_last_success_timestamp_seconds";
inline constexpr std::string_view kRestartsDetected =
    "miner_restarts_detected_total";
inline constexpr std::string_view kSamplesRejected =
    "miner_samples_rejected_total";

// Emitted by exporters.
inline constexpr std::string_view kHashrate =
    "miner_hashrate_hashes_per_second";
inline constexpr std::string_view kHashrateAvg =
    "miner_hashrate_average_hashes_per_second";  // label window=1m|10m|1h|av
inline constexpr std::string_view kExpectedHashrate =
    "miner_expected_hashrate_hashes_per_second";
inline constexpr std::string_view kTemperature = "miner_temperature_celsius";
inline constexpr std::string_view kPower = "miner_power_watts";
inline constexpr std::string_view kInputVoltage = "miner_input_voltage_volts";
inline constexpr std::string_view kInputCurrent = "miner_input_current_amperes";
inline constexpr std::string_view kCoreVoltage = "miner_core_voltage_volts";
inline constexpr std::string_view kFanSpeed = "miner_fan_speed_rpm";
inline constexpr std::string_view kFanDuty = "miner_fan_duty_ratio";
inline constexpr std::string_view kFrequency = "miner_frequency_hertz";
inline constexpr std::string_view kSharesAccepted =
    "miner_shares_accepted_total";
inline constexpr std::string_view kSharesRejected =
    "miner_shares_rejected_total";
inline constexpr std::string_view kHardwareErrors =
    "miner_hardware_errors_total";
inline constexpr std::string_view kBestDifficulty = "miner_best_difficulty";
inline constexpr std::string_view kBestSessionDifficulty =
    "miner_best_session_difficulty";
inline constexpr std::string_view kPoolDifficulty = "miner_pool_difficulty";
inline constexpr std::string_view kUptime = "miner_uptime_seconds";
inline constexpr std::string_view kPoolUp = "miner_pool_up";
inline constexpr std::string_view kWifiRssi = "miner_wifi_rssi_dbm";
inline constexpr std::string_view kFreeHeap = "miner_free_heap_bytes";
inline constexpr std::string_view kErrorRatio = "miner_hash_error_ratio";
inline constexpr std::string_view kOverheat = "miner_overheat";
inline constexpr std::string_view kFault =
    "miner_fault";  // label fault=power|hardware
inline constexpr std::string_view kChainHashrate =
    "miner_chain_hashrate_hashes_per_second";  // label chain
inline constexpr std::string_view kChainChips = "miner_chain_chips";
inline constexpr std::string_view kBlocksFound = "miner_blocks_found_total";
inline constexpr std::string_view kDeviceUp =
    "miner_device_up";  // label device

}  // namespace rigwatch::metric

#endif  // RIGWATCH_EXPORTERS_MINER_METRICS_H_
