"""Building blocks of the rigwatch Grafana dashboards: grid layout, panels,
targets, template variables and the dashboard envelope (dashboards/
generate.py uses them). Standard library only."""

import re

DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39  # Grafana 10.4 / 11.x

_AGENT_SERIES = re.compile(
    r"\b((?:node|rigwatch)_[A-Za-z0-9_]+)\b(?!\s*\()(\{[^}]*\})?")


def scope_to_instance(d):
    """Adds instance=~"$instance" to every node_*/rigwatch_* selector of a
    dashboard, so several agents scraped by one Prometheus stay apart."""
    def add(m):
        name, braces = m.group(1), m.group(2)
        inner = braces[1:-1].strip() if braces else ""
        matchers = 'instance=~"$instance"' + (", " + inner if inner else "")
        return f"{name}{{{matchers}}}"

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                t["expr"] = _AGENT_SERIES.sub(add, t["expr"])
            walk(p.get("panels", []))
    walk(d["panels"])
    return d


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""

    def __init__(self):
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x != 0:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        panel = {"type": "row", "title": title, "id": self.take_id(),
                 "collapsed": False, "panels": [],
                 "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}}
        self.y += 1
        return panel

    def take_id(self):
        i = self.next_id
        self.next_id += 1
        return i


def target(expr, legend="", ref="A", instant=False, fmt=None):
    t = {"datasource": DS, "expr": expr, "refId": ref,
         "legendFormat": legend or "__auto", "range": not instant,
         "instant": instant, "editorMode": "code"}
    if fmt:
        t["format"] = fmt
    return t


def targets(*pairs, instant=False, fmt=None):
    refs = "ABCDEFGHIJ"
    return [target(e, l, refs[i], instant, fmt) for i, (e, l) in enumerate(pairs)]


def panel(lay, kind, title, tgts, w=12, h=8, unit=None, desc="",
          options=None, custom=None, mappings=None, thresholds=None,
          decimals=None, extra=None):
    defaults = {}
    if unit:
        defaults["unit"] = unit
    if decimals is not None:
        defaults["decimals"] = decimals
    if custom:
        defaults["custom"] = custom
    if mappings:
        defaults["mappings"] = mappings
    defaults["thresholds"] = thresholds or {
        "mode": "absolute", "steps": [{"color": "green", "value": None}]}
    p = {"type": kind, "title": title, "id": lay.take_id(),
         "datasource": DS, "gridPos": lay.place(w, h),
         "targets": tgts, "description": desc,
         "fieldConfig": {"defaults": defaults, "overrides": []},
         "options": options or {}}
    if kind == "timeseries":
        p["fieldConfig"]["defaults"].setdefault("custom", {
            "drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
            "showPoints": "never", "spanNulls": False})
        p["options"] = options or {
            "legend": {"displayMode": "list", "placement": "bottom",
                       "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        p["options"] = options or {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                              "values": False},
            "colorMode": "value", "graphMode": "area", "textMode": "auto",
            "justifyMode": "auto", "orientation": "auto"}
    if extra:
        p.update(extra)
    return p


def steps(*pairs):
    out = [{"color": pairs[0], "value": None}]
    for i in range(1, len(pairs), 2):
        out.append({"color": pairs[i + 1], "value": pairs[i]})
    return {"mode": "absolute", "steps": out}


RULE_STATE_MAP = [{"type": "value", "options": {
    "0": {"text": "green", "color": "green", "index": 0},
    "1": {"text": "yellow", "color": "yellow", "index": 1},
    "2": {"text": "red", "color": "red", "index": 2}}}]
UP_MAP = [{"type": "value", "options": {
    "0": {"text": "DOWN", "color": "red", "index": 0},
    "1": {"text": "UP", "color": "green", "index": 1}}}]


def var_datasource():
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "refresh": 1,
            "regex": "", "options": [], "includeAll": False, "multi": False}


def var_query(name, label, query, multi, include_all, all_value=None):
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "definition": query, "query": query,
         "refresh": 2, "sort": 1, "hide": 0, "regex": "", "current": {},
         "options": [], "multi": multi, "includeAll": include_all}
    if all_value is not None:
        v["allValue"] = all_value
    return v


def dashboard(uid, title, desc, panels, variables):
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus",
                      "description": "Prometheus that scrapes rigwatch",
                      "type": "datasource", "pluginId": "prometheus",
                      "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana",
             "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus",
             "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series",
             "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
            {"type": "panel", "id": "bargauge", "name": "Bar gauge",
             "version": ""},
        ],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": desc,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"type": "dashboards", "tags": ["rigwatch"], "asDropdown": True,
                   "title": "rigwatch", "includeVars": True, "keepTime": True}],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["rigwatch"],
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }
