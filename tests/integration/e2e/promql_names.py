"""Metric names referenced by PromQL expressions, dashboards and rule files.
A small tokenizer, not a PromQL parser: it drops strings, label matchers,
ranges and grouping label lists, then keeps identifiers that are not
function calls or keywords. Standard library only (plus PyYAML for the
generated Prometheus rule files)."""

import glob
import json
import os
import re

KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on",
    "ignoring", "group_left", "group_right", "inf", "nan", "atan2", "start",
    "end",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_TOKEN = re.compile(
    r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"|(?P<other>\S)")
_OFFSET = re.compile(r"\boffset\s+-?[0-9a-z]+")


def names_in_promql(expr):
    """The metric names an expression selects, e.g.
    'sum(rate(a_total{x="y"}[1m])) / on(miner) b' -> {'a_total', 'b'}."""
    s = _STRING.sub('""', expr)
    s = _BRACES.sub("{}", s)
    s = _BRACKETS.sub("", s)
    s = _OFFSET.sub("", s)
    prev = None
    while prev != s:  # nested grouping lists cannot occur, but be safe
        prev = s
        s = _GROUPING.sub("", s)
    names = set()
    tokens = list(_TOKEN.finditer(s))
    for i, m in enumerate(tokens):
        ident = m.group("ident")
        if not ident or ident in KEYWORDS:
            continue
        nxt = tokens[i + 1].group(0) if i + 1 < len(tokens) else ""
        if nxt == "(":
            continue  # a function or aggregation
        names.add(ident)
    return names


def dashboard_exprs(path):
    """(panel title, expr) for every target of every panel, rows included."""
    with open(path) as f:
        d = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", ""), t["expr"]))
            walk(p.get("panels", []))
    walk(d.get("panels", []))
    return out


def dashboard_variable_queries(path):
    """(variable name, query text) for query-type template variables."""
    with open(path) as f:
        d = json.load(f)
    out = []
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        out.append((v["name"], q or v.get("definition", "")))
    return out


_RULE_METRIC = re.compile(r"^\s*-?\s*metric:\s*[\"']?([A-Za-z_:][A-Za-z0-9_:]*)",
                          re.M)


def rigwatch_rule_names(path):
    """Metric names of rigwatch's own rule files (rules/*.yaml): the
    `metric:` field of each rule."""
    with open(path) as f:
        return set(_RULE_METRIC.findall(f.read()))


def prometheus_rule_names(path):
    """Metric names in every `expr` of a Prometheus rule file."""
    import yaml  # python3-yaml
    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    names = set()
    recorded = set()
    for group in doc.get("groups", []) or []:
        for rule in group.get("rules", []) or []:
            if "record" in rule:
                recorded.add(rule["record"])
            names |= names_in_promql(str(rule.get("expr", "")))
    # Series recorded by the same file are not the agent's to export.
    return names - recorded


def all_referenced(source_dir):
    """{metric name: sorted list of files that reference it}. `up` is
    Prometheus' own series, not the agent's."""
    refs = {}

    def add(names, where):
        for n in names:
            refs.setdefault(n, set()).add(os.path.relpath(where, source_dir))
    for p in sorted(glob.glob(os.path.join(source_dir, "rules", "*.yaml"))):
        add(rigwatch_rule_names(p), p)
    for p in sorted(glob.glob(os.path.join(source_dir, "rules", "prometheus",
                                           "*.yml")) +
                    glob.glob(os.path.join(source_dir, "alertmanager",
                                           "*.rules.yml"))):
        add(prometheus_rule_names(p), p)
    for p in sorted(glob.glob(os.path.join(source_dir, "dashboards",
                                           "*.json"))):
        for _, expr in dashboard_exprs(p):
            add(names_in_promql(expr), p)
    refs.pop("up", None)
    return {k: sorted(v) for k, v in refs.items()}
