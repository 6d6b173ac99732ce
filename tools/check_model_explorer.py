#!/usr/bin/env python3
"""Load `vfw verify --model-explorer DIR` files with Google's Model Explorer library (ai-edge-model-explorer).

    python tools/check_model_explorer.py DIR [--expect-source TAP] [--expect-nodes N]

Every NAME.graph.json is built into model_explorer.graph_builder's dataclasses (GraphCollection, Graph, GraphNode,
KeyValue, IncomingEdge, MetadataItem: their constructors refuse a field the schema does not have), handed to
ModelExplorerConfig the way its Python API hands graphs to the web app (get_transferrable_data serialises them),
and written back: the JSON must come out exactly as vfw wrote it. Every NAME.METRIC.json is built into
node_data_builder's ModelNodeData / GraphNodeData / NodeDataResult / ThresholdItem the same way, must round-trip
through to_json_string exactly, be keyed by the graph's id, colour only nodes the graph has, and carry ascending
thresholds. The config is also given every file by path (add_model_from_path, add_node_data_from_path) and must
encode them in the URL the web app is opened with.
--expect-source: the verdict node data gives that tap's node the failure-source value (2), and only it.
"""
import argparse
import glob
import json
import os
import sys
from urllib.parse import unquote

from model_explorer.config import ModelExplorerConfig
from model_explorer import graph_builder as gb
from model_explorer import node_data_builder as ndb
from model_explorer.utils import convert_adapter_response, remove_none


class Fail(Exception):
    pass


def key_values(items):
    return [gb.KeyValue(**kv) for kv in items]


def build_graph_collection(doc):
    graphs = []
    for g in doc.pop("graphs"):
        nodes = []
        for n in g.pop("nodes"):
            n = dict(n)
            n["attrs"] = key_values(n.get("attrs", []))
            n["incomingEdges"] = [gb.IncomingEdge(**e) for e in n.get("incomingEdges", [])]
            for k in ("outputsMetadata", "inputsMetadata"):
                n[k] = [gb.MetadataItem(id=m["id"], attrs=key_values(m.get("attrs", []))) for m in n.get(k, [])]
            nodes.append(gb.GraphNode(**n))
        graphs.append(gb.Graph(nodes=nodes, **g))
    return gb.GraphCollection(graphs=graphs, **doc)


def build_node_data(doc):
    graphs = {}
    for gid, d in doc.items():
        d = dict(d)
        d["results"] = {k: ndb.NodeDataResult(**v) for k, v in d["results"].items()}
        d["thresholds"] = [ndb.ThresholdItem(**t) for t in d.get("thresholds", [])]
        d["gradient"] = [ndb.GradientItem(**t) for t in d.get("gradient", [])]
        graphs[gid] = ndb.GraphNodeData(**d)
    return ndb.ModelNodeData(graphsData=graphs)


def check(folder, expect_source, expect_nodes):
    graph_files = sorted(glob.glob(os.path.join(folder, "*.graph.json")))
    if not graph_files:
        raise Fail("no *.graph.json files")
    lines = []
    for gpath in graph_files:
        name = os.path.basename(gpath)[: -len(".graph.json")]
        raw = json.load(open(gpath))
        try:
            collection = build_graph_collection(json.loads(json.dumps(raw)))
        except TypeError as e:
            raise Fail(f"{gpath}: not Model Explorer's graph schema: {e}")
        back = remove_none(convert_adapter_response({"graphCollections": [collection]})["graphCollections"][0])
        if back != raw:
            raise Fail(f"{gpath}: Model Explorer's GraphCollection writes it back differently")
        cfg = ModelExplorerConfig()
        cfg.graphs_list.append({"graphCollections": [collection]})
        transferred = json.loads(json.loads(cfg.get_transferrable_data()["graphs_list"])[0])
        if transferred["graphCollections"][0]["graphs"][0]["id"] != name:
            raise Fail(f"{gpath}: the graph's id is not {name}")
        graph = collection.graphs[0]
        ids = {n.id for n in graph.nodes}
        if len(ids) != len(graph.nodes):
            raise Fail(f"{gpath}: node ids repeat")
        for n in graph.nodes:
            for e in n.incomingEdges:
                if e.sourceNodeId not in ids:
                    raise Fail(f"{gpath}: {n.id} has an edge from {e.sourceNodeId}, which is not a node")
            if "." in n.id and n.id.rsplit(".", 1)[0] not in n.namespace.split("/"):
                raise Fail(f"{gpath}: {n.id} sits in namespace {n.namespace}, not its parent module's")
        if expect_nodes is not None and len(graph.nodes) != expect_nodes:
            raise Fail(f"{gpath}: {len(graph.nodes)} nodes, expected {expect_nodes}")
        cfg.add_model_from_path(gpath)

        metrics = []
        for dpath in sorted(glob.glob(os.path.join(folder, name + ".*.json"))):
            if dpath == gpath:
                continue
            raw = json.load(open(dpath))
            try:
                data = build_node_data(json.loads(json.dumps(raw)))
            except TypeError as e:
                raise Fail(f"{dpath}: not Model Explorer's node data schema: {e}")
            if json.loads(data.to_json_string()) != raw:
                raise Fail(f"{dpath}: Model Explorer's ModelNodeData writes it back differently")
            if list(data.graphsData) != [graph.id]:
                raise Fail(f"{dpath}: keyed by {list(data.graphsData)}, not the graph's id {graph.id}")
            gd = data.graphsData[graph.id]
            if not gd.results:
                raise Fail(f"{dpath}: colours no node")
            stray = sorted(set(gd.results) - ids)
            if stray:
                raise Fail(f"{dpath}: results for nodes the graph does not have: {stray[:3]}")
            values = [t.value for t in gd.thresholds]
            if not gd.thresholds or values != sorted(values) or not all(t.bgColor for t in gd.thresholds):
                raise Fail(f"{dpath}: thresholds must ascend, each with a colour: {values}")
            metric = os.path.basename(dpath)[len(name) + 1: -len(".json")]
            if metric == "verdict" and expect_source is not None:
                sources = sorted(k for k, r in gd.results.items() if r.value == 2)
                # The tap's node: the module itself, or the leaf returning a container's output (attrs say "tap").
                tapped = sorted(n.id for n in graph.nodes if any(kv.key == "tap" and kv.value == expect_source for kv in n.attrs))
                if not tapped or sources != tapped:
                    raise Fail(f"{dpath}: failure source nodes {sources}, expected the node of {expect_source} {tapped}")
            cfg.add_node_data_from_path(dpath, model_name=os.path.basename(gpath))
            metrics.append(f"{metric} ({len(gd.results)} nodes)")
        if not metrics:
            raise Fail(f"{gpath}: no node data files beside it")
        url = json.loads(unquote(cfg.to_url_param_value()))
        if len(url["models"]) != 1 or len(url["nodeData"]) != len(metrics):
            raise Fail(f"{gpath}: ModelExplorerConfig did not take the files: {url}")
        lines.append(f"{name}: graph of {len(graph.nodes)} nodes, node data {', '.join(metrics)}")
    print(f"{folder}: loaded by model_explorer {me_version()}: " + "; ".join(lines))


def me_version():
    try:
        from importlib.metadata import version
        return version("ai-edge-model-explorer")
    except Exception:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--expect-source")
    ap.add_argument("--expect-nodes", type=int)
    a = ap.parse_args()
    try:
        check(a.folder, a.expect_source, a.expect_nodes)
    except Fail as e:
        print(f"{a.folder}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
