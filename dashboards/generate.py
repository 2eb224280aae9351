#!/usr/bin/python3
"""Writes the rigwatch Grafana dashboards (dashboards/*.json).

The JSON files are committed; this script is their source, so a panel is
changed here and the files regenerated:  /usr/bin/python3 dashboards/generate.py
(an optional argument writes them to another directory instead).
Standard library only. Every query uses the metric names rigwatch exports;
tests/integration/e2e runs each one against a real Prometheus.
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the dashboards directory clean
from grafana import (RULE_STATE_MAP, UP_MAP, Layout, dashboard,  # noqa: E402
                     panel, scope_to_instance, steps, targets, var_datasource,
                     var_query)

HERE = os.path.dirname(os.path.abspath(__file__))

# Kind filter for series that carry only `miner`: keep those whose miner_up
# has a matching kind.
SEL = 'kind=~"$kind", miner=~"$miner"'
KIND = 'and on(miner) miner_up{' + SEL + '}'
# Copies `kind` onto a per-miner series (miner_up is one series per miner).
WITH_KIND = ('* on(miner) group_left(kind) clamp(miner_up{' + SEL +
             '}, 1, 1)')
M = 'miner="$miner"'


def kind_var():
    return var_query("kind", "Kind", "label_values(miner_up, kind)", True, True,
                     ".*")


def fleet():
    lay = Layout()
    p = [lay.row("Fleet")]
    p.append(panel(lay, "stat", "Total hashrate", targets(
        (f"sum(miner_hashrate_hashes_per_second {KIND})", "hashrate")),
        w=4, h=4, unit="Hs"))
    p.append(panel(lay, "stat", "Expected hashrate", targets(
        (f"sum(miner_expected_hashrate_hashes_per_second {KIND})", "expected")),
        w=4, h=4, unit="Hs"))
    p.append(panel(lay, "stat", "Miners up", targets(
        (f"sum(miner_up{{{SEL}}})", "up"),), w=4, h=4, decimals=0,
        thresholds=steps("green")))
    p.append(panel(lay, "stat", "Miners down", targets(
        (f"count(miner_up{{{SEL}}} == 0) or vector(0)", "down"),),
        w=4, h=4, decimals=0, thresholds=steps("green", 1, "red"),
        desc="Configured miners whose last poll failed."))
    p.append(panel(lay, "stat", "Red", targets(
        (f"count(max by (miner) (rigwatch_rule_state {KIND}) == 2) or vector(0)",
         "red"),), w=4, h=4, decimals=0, thresholds=steps("green", 1, "red"),
        desc="Miners with at least one rule red."))
    p.append(panel(lay, "stat", "Yellow", targets(
        (f"count(max by (miner) (rigwatch_rule_state {KIND}) == 1) or vector(0)",
         "yellow"),), w=4, h=4, decimals=0,
        thresholds=steps("green", 1, "yellow"),
        desc="Miners whose worst rule is yellow."))
    p.append(panel(lay, "timeseries", "Hashrate by kind", targets(
        (f"sum by (kind) (miner_hashrate_hashes_per_second {WITH_KIND})",
         "{{kind}}"),
        (f"sum(miner_expected_hashrate_hashes_per_second {KIND})", "expected")),
        unit="Hs"))
    p.append(panel(lay, "timeseries", "Miners up / configured", targets(
        (f"sum(miner_up{{{SEL}}})", "up"),
        (f"count(miner_up{{{SEL}}})", "configured")), decimals=0))
    p.append(panel(lay, "bargauge", "Hottest miners (max sensor)", targets(
        (f"topk(10, max by (miner) (miner_temperature_celsius {KIND}))",
         "{{miner}}"), instant=True), unit="celsius",
        thresholds=steps("green", 70, "yellow", 80, "red"),
        options={"orientation": "horizontal", "displayMode": "gradient",
                 "reduceOptions": {"calcs": ["lastNotNull"], "values": False}}))
    p.append(panel(lay, "timeseries", "Efficiency (J/TH)", targets(
        (f"sum(miner_power_watts {KIND} and on(miner) "
         "miner_hashrate_hashes_per_second > 0) / "
         f"sum(miner_hashrate_hashes_per_second {KIND} and on(miner) "
         "miner_power_watts) * 1e12", "fleet"),
        (f"topk(5, (miner_power_watts / "
         f"(miner_hashrate_hashes_per_second > 0) * 1e12) {KIND})",
         "{{miner}}")),
        unit="none", custom=None,
        desc="Joules per terahash = watts / (hashes/s) x 1e12, for miners "
        "that report power. Lower is better; the per-miner lines are the "
        "five least efficient.",
        extra={"fieldConfig": {"defaults": {
            "unit": "suffix: J/TH", "decimals": 1,
            "thresholds": steps("green")}, "overrides": []}}))
    p.append(panel(lay, "timeseries", "Rejected share ratio", targets(
        (f"sum(rate(miner_shares_rejected_total[$__rate_interval]) {KIND}) / "
         f"(sum(rate(miner_shares_accepted_total[$__rate_interval]) {KIND}) + "
         f"sum(rate(miner_shares_rejected_total[$__rate_interval]) {KIND}))",
         "fleet"),
        ("topk(5, rate(miner_shares_rejected_total[$__rate_interval]) / "
         "(rate(miner_shares_accepted_total[$__rate_interval]) + "
         f"rate(miner_shares_rejected_total[$__rate_interval])) {KIND})",
         "{{miner}}")), unit="percentunit"))
    p.append(panel(lay, "timeseries", "Power", targets(
        (f"sum(miner_power_watts {KIND})", "total"),), unit="watt"))
    p.append(panel(lay, "table", "Rule states", targets(
        (f"sort_desc(rigwatch_rule_state {KIND})", ""), instant=True,
        fmt="table"), mappings=RULE_STATE_MAP,
        desc="0 green, 1 yellow, 2 red, per rule and miner.",
        extra={"transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True,
                              "instance": True}}}]}))
    return dashboard("rigwatch-fleet", "rigwatch / Fleet overview",
                     "Hashrate, availability, health and efficiency of the "
                     "whole fleet.", p, [var_datasource(), kind_var(),
                      var_query("miner", "Miner",
                                'label_values(miner_up{kind=~"$kind"}, miner)',
                                True, True, ".*")])


def miner():
    lay = Layout()
    p = [lay.row("$miner")]
    p.append(panel(lay, "stat", "Status", targets(
        (f"miner_up{{{M}}}", "up"),), w=4, h=4, mappings=UP_MAP,
        thresholds=steps("red", 1, "green")))
    p.append(panel(lay, "stat", "Uptime", targets(
        (f"miner_uptime_seconds{{{M}}}", "uptime"),), w=4, h=4,
        unit="dtdurations"))
    p.append(panel(lay, "stat", "Last successful poll", targets(
        (f"time() - miner_last_success_timestamp_seconds{{{M}}}", "age"),),
        w=4, h=4, unit="s", thresholds=steps("green", 60, "yellow", 300,
                                             "red")))
    p.append(panel(lay, "table", "Identity", targets(
        (f"miner_info{{{M}}}", ""), instant=True, fmt="table"), w=12, h=4,
        extra={"transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True, "__name__": True,
                              "job": True, "instance": True}}}]}))
    p.append(panel(lay, "timeseries", "Hashrate vs expected", targets(
        (f"miner_hashrate_hashes_per_second{{{M}}}", "current"),
        (f"miner_hashrate_average_hashes_per_second{{{M}}}", "avg {{window}}"),
        (f"miner_expected_hashrate_hashes_per_second{{{M}}}", "expected")),
        unit="Hs"))
    p.append(panel(lay, "timeseries", "Temperatures", targets(
        (f"miner_temperature_celsius{{{M}}}", "{{sensor}}"),), unit="celsius"))
    p.append(panel(lay, "timeseries", "Fans", targets(
        (f"miner_fan_speed_rpm{{{M}}}", "fan {{fan}}"),), unit="rotrpm"))
    p.append(panel(lay, "timeseries", "Power", targets(
        (f"miner_power_watts{{{M}}}", "power"),), unit="watt"))
    p.append(panel(lay, "timeseries", "Input voltage", targets(
        (f"miner_input_voltage_volts{{{M}}}", "voltage"),), w=8, unit="volt"))
    p.append(panel(lay, "timeseries", "Input current", targets(
        (f"miner_input_current_amperes{{{M}}}", "current"),), w=8, unit="amp"))
    p.append(panel(lay, "timeseries", "ASIC frequency", targets(
        (f"miner_frequency_hertz{{{M}}}", "frequency"),), w=8, unit="hertz"))
    p.append(panel(lay, "timeseries", "Shares", targets(
        (f"rate(miner_shares_accepted_total{{{M}}}[$__rate_interval])",
         "accepted"),
        (f"rate(miner_shares_rejected_total{{{M}}}[$__rate_interval])",
         "rejected"),
        (f"rate(miner_hardware_errors_total{{{M}}}[$__rate_interval])",
         "hardware errors")), unit="reqps",
        desc="Per second. Rejected and hardware errors should stay near 0."))
    p.append(panel(lay, "timeseries", "Restarts", targets(
        (f"changes(miner_restarts_detected_total{{{M}}}[$__rate_interval])",
         "detected (uptime went back)"),
        (f"sum(increase(rigwatch_restarts_total{{{M}}}[$__rate_interval])) "
         "or vector(0)", "requested by rigwatch")), decimals=0))
    p.append(panel(lay, "table", "Rule states", targets(
        (f"rigwatch_rule_state{{{M}}}", ""), instant=True, fmt="table"),
        mappings=RULE_STATE_MAP,
        extra={"transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True,
                              "instance": True}}}]}))
    p.append(panel(lay, "timeseries", "Pools and circuit breaker", targets(
        (f"miner_pool_up{{{M}}}", "pool {{pool}}"),
        (f"rigwatch_circuit_open{{{M}}}", "breaker open")), decimals=0))
    return dashboard("rigwatch-miner", "rigwatch / Miner detail",
                     "One miner: hashrate against its expected rate, "
                     "temperatures, fans, power, shares, restarts and rules.",
                     p, [var_datasource(), kind_var(),
                         var_query("miner", "Miner",
                                   'label_values(miner_up{kind=~"$kind"}, '
                                   'miner)', False, False)])


def host():
    lay = Layout()
    p = [lay.row("Host")]
    p.append(panel(lay, "stat", "Uptime", targets(
        ("node_time_seconds - node_boot_time_seconds", "uptime"),), w=6, h=4,
        unit="dtdurations"))
    p.append(panel(lay, "stat", "CPU busy", targets(
        ('1 - avg(rate(node_cpu_seconds_total{mode="idle"}'
         '[$__rate_interval]))', "busy"),), w=6, h=4, unit="percentunit",
        thresholds=steps("green", 0.8, "yellow", 0.95, "red")))
    p.append(panel(lay, "stat", "Memory available", targets(
        ("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
         "available"),), w=6, h=4, unit="percentunit",
        thresholds=steps("red", 0.1, "yellow", 0.2, "green")))
    p.append(panel(lay, "table", "System", targets(
        ("node_uname_info", ""), instant=True, fmt="table"), w=6, h=4,
        extra={"transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True, "__name__": True,
                              "job": True, "instance": True}}}]}))
    p.append(panel(lay, "timeseries", "CPU by mode", targets(
        ('sum by (instance, mode) (rate(node_cpu_seconds_total'
         '{mode!="idle"}[$__rate_interval])) / on(instance) group_left '
         'count by (instance) (count by (instance, cpu) '
         '(node_cpu_seconds_total))', "{{mode}}"),), unit="percentunit",
        custom={"drawStyle": "line", "lineWidth": 1, "fillOpacity": 30,
                "showPoints": "never", "stacking": {"mode": "normal"}}))
    p.append(panel(lay, "timeseries", "Load average", targets(
        ("node_load1", "1m"), ("node_load5", "5m"), ("node_load15", "15m"))))
    p.append(panel(lay, "timeseries", "Memory", targets(
        ("node_memory_MemTotal_bytes", "total"),
        ("node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes",
         "used"),
        ("node_memory_MemAvailable_bytes", "available")), unit="bytes"))
    p.append(panel(lay, "timeseries", "Disk used", targets(
        ("1 - node_filesystem_avail_bytes / node_filesystem_size_bytes",
         "{{mountpoint}}"),), unit="percentunit",
        desc="The store's filesystem filling up pauses writes "
        "(storage.min_free_bytes)."))
    p.append(panel(lay, "timeseries", "Disk available", targets(
        ("node_filesystem_avail_bytes", "{{mountpoint}} ({{fstype}})"),),
        unit="bytes"))
    p.append(panel(lay, "timeseries", "Network", targets(
        ('rate(node_network_receive_bytes_total{device!="lo"}'
         '[$__rate_interval])', "{{device}} in"),
        ('-rate(node_network_transmit_bytes_total{device!="lo"}'
         '[$__rate_interval])', "{{device}} out")), unit="Bps"))
    p.append(panel(lay, "timeseries", "Temperatures", targets(
        ("node_hwmon_temp_celsius", "{{chip}} {{sensor}}"),
        ("node_thermal_zone_temp", "zone {{zone}} {{type}}")),
        unit="celsius"))
    return scope_to_instance(dashboard(
        "rigwatch-host", "rigwatch / Host",
        "The machine rigwatch runs on (node_exporter names).", p,
        [var_datasource(),
         var_query("instance", "Agent", "label_values(node_uname_info, "
                   "instance)", True, True, ".*")]))


def agent():
    lay = Layout()
    p = [lay.row("Agent")]
    p.append(panel(lay, "stat", "Agent uptime", targets(
        ("time() - rigwatch_start_time_seconds", "uptime"),), w=6, h=4,
        unit="dtdurations"))
    p.append(panel(lay, "table", "Build", targets(
        ("rigwatch_build_info", ""), instant=True, fmt="table"), w=6, h=4,
        extra={"transformations": [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "Value": True, "__name__": True,
                              "job": True}}}]}))
    p.append(panel(lay, "stat", "Targets", targets(
        ("sum(rigwatch_targets)", "targets"),), w=4, h=4, decimals=0))
    p.append(panel(lay, "stat", "Open circuit breakers", targets(
        ("sum(rigwatch_circuit_open) or vector(0)", "open"),), w=4, h=4,
        decimals=0, thresholds=steps("green", 1, "yellow")))
    p.append(panel(lay, "stat", "Store writes paused", targets(
        ("max(rigwatch_store_writes_paused)", "paused"),), w=4, h=4,
        mappings=[{"type": "value", "options": {
            "0": {"text": "no", "color": "green", "index": 0},
            "1": {"text": "PAUSED", "color": "red", "index": 1}}}]))
    p.append(panel(lay, "timeseries", "Polls by kind and result", targets(
        ("sum by (kind, result) (rate(rigwatch_poll_total[$__rate_interval]))",
         "{{kind}} {{result}}"),), unit="reqps"))
    p.append(panel(lay, "timeseries", "Poll success ratio", targets(
        ('sum by (kind) (rate(rigwatch_poll_total{result="ok"}'
         '[$__rate_interval])) / sum by (kind) '
         '(rate(rigwatch_poll_total[$__rate_interval]))', "{{kind}}"),),
        unit="percentunit"))
    p.append(panel(lay, "timeseries", "Poll latency", targets(
        ("histogram_quantile(0.5, sum by (kind, le) "
         "(rate(rigwatch_poll_duration_seconds_bucket[$__rate_interval])))",
         "{{kind}} p50"),
        ("histogram_quantile(0.9, sum by (kind, le) "
         "(rate(rigwatch_poll_duration_seconds_bucket[$__rate_interval])))",
         "{{kind}} p90"),
        ("histogram_quantile(0.99, sum by (kind, le) "
         "(rate(rigwatch_poll_duration_seconds_bucket[$__rate_interval])))",
         "{{kind}} p99")), unit="s"))
    p.append(panel(lay, "timeseries", "Circuit breakers open", targets(
        ("sum(rigwatch_circuit_open) or vector(0)", "open"),), decimals=0))
    p.append(panel(lay, "timeseries", "Collectors", targets(
        ("rigwatch_collector_duration_seconds", "{{collector}}"),
        ("rigwatch_collector_success", "{{collector}} ok")), unit="s"))
    p.append(panel(lay, "timeseries", "Store size", targets(
        ("rigwatch_store_size_bytes", "size"),), unit="bytes"))
    p.append(panel(lay, "timeseries", "Store write rate", targets(
        ("rate(rigwatch_store_samples_written_total[$__rate_interval])",
         "written"),
        ("rate(rigwatch_store_dropped_samples_total[$__rate_interval])",
         "dropped")), unit="short",
        desc="Samples per second. Dropped samples mean a full queue or "
        "paused writes."))
    p.append(panel(lay, "timeseries", "Backups", targets(
        ("time() - rigwatch_backup_last_success_timestamp_seconds",
         "age of last backup"),), unit="s"))
    p.append(panel(lay, "timeseries", "Backup size", targets(
        ("rigwatch_backup_last_size_bytes", "last backup"),), unit="bytes"))
    p.append(panel(lay, "timeseries", "Outbox pending", targets(
        ("rigwatch_outbox_pending", "pending"),), decimals=0,
        desc="Notifications written but not yet delivered."))
    p.append(panel(lay, "timeseries", "Notifications", targets(
        ("sum by (channel, result) (increase(rigwatch_notifications_total"
         "[$__rate_interval])) or vector(0)", "{{channel}} {{result}}"),),
        decimals=0))
    p.append(panel(lay, "timeseries", "Rule transitions", targets(
        ("sum by (to) (increase(rigwatch_rule_transitions_total"
         "[$__rate_interval])) or vector(0)", "to {{to}}"),), decimals=0))
    p.append(panel(lay, "timeseries", "Restarts requested", targets(
        ("sum by (result) (increase(rigwatch_restarts_total"
         "[$__rate_interval])) or vector(0)", "{{result}}"),), decimals=0))
    return scope_to_instance(dashboard(
        "rigwatch-agent", "rigwatch / Agent health",
        "rigwatch itself: polling, latency, breakers, store, backups and "
        "notifications.", p,
        [var_datasource(),
         var_query("instance", "Agent", "label_values(rigwatch_build_info, "
                   "instance)", True, True, ".*")]))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else HERE
    for name, d in (("fleet-overview", fleet()), ("miner-detail", miner()),
                    ("host", host()), ("agent-health", agent())):
        path = os.path.join(out_dir, name + ".json")
        with open(path, "w") as f:
            json.dump(d, f, indent=2, sort_keys=False)
            f.write("\n")
        print(path)


if __name__ == "__main__":
    main()
