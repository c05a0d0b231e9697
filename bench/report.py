#!/usr/bin/env python3
"""Markdown tables and a PNG chart from bench/peers.py's JSON. Usage: report.py RESULTS.json CHART.png"""

import json
import sys

OPS = ["first push", "edit push", "no-change push", "download"]
NAMES = {"A": "A: 10,000 × 4 KiB", "B": "B: 1,000 × 1 MiB", "C": "C: 1 × 2 GiB"}


def fmt_s(r):
    if r is None:
        return "n/a"
    if r["wall"] is None:
        return f"> {r['timeout']} s (stopped)"
    return f"{r['wall']:.2f} s"


def mib(n):
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n / 1024:.1f} KiB"


def main():
    results = json.load(open(sys.argv[1]))
    for key, tools in results.items():
        bound = tools["openssl"]["wall"]
        print(f"\n### {NAMES.get(key, key)} (hashing bound: `openssl dgst -sha256` {bound:.2f} s)\n")
        print("| tool | " + " | ".join(OPS) + " | sent, edit push | peak RSS |")
        print("|---|" + "---:|" * (len(OPS) + 2))
        for name, r in tools.items():
            if name == "openssl":
                continue
            rss = max(v["rss_mib"] for op, v in r.items() if op in OPS and v)
            sent = r["edit push"]["sent"] if r["edit push"]["wall"] is not None else 0
            print(f"| {name} | " + " | ".join(fmt_s(r[op]) for op in OPS)
                  + f" | {mib(sent)} (changed {mib(r['changed_bytes'])}) | {rss:.0f} MiB |")
        cairn = tools.get("Cairn")
        if not cairn:
            continue
        print("\nCairn is this many times faster (peer wall ÷ Cairn wall):\n")
        print("| vs | " + " | ".join(OPS) + " |")
        print("|---|" + "---:|" * len(OPS))
        for name, r in tools.items():
            if name in ("openssl", "Cairn"):
                continue
            cells = []
            for op in OPS:
                if r[op] is None or cairn[op] is None:
                    cells.append("n/a")
                elif r[op]["wall"] is None:
                    cells.append(f"> {r[op]['timeout'] / cairn[op]['wall']:.0f}×")
                else:
                    cells.append(f"{r[op]['wall'] / max(cairn[op]['wall'], 1e-9):.1f}×")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print(f"\nCairn's first push ÷ the hashing bound: {cairn['first push']['wall'] / bound:.2f}×")
        stored = [(n, r) for n, r in tools.items() if n.startswith("Cairn") and "store_objects" in (r.get("first push") or {})]
        if stored:
            print("\nThe registry's blob store after each push (objects, bytes):\n")
            print("| tool | first push | edit push | no-change push |")
            print("|---|---:|---:|---:|")
            for name, r in stored:
                cells = [f"{r[op]['store_objects']} · {mib(r[op]['store_bytes'])}" for op in OPS[:3]]
                print(f"| {name} | " + " | ".join(cells) + " |")
    chart(results, sys.argv[2])


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(results)
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4.5), squeeze=False)
    colors = {"Cairn": "#2f6fde", "DVC": "#945dd6", "MLflow": "#0194e2", "Oxen": "#e8710a"}
    for ax, key in zip(axes[0], keys):
        tools = [t for t in results[key] if t != "openssl"]
        width = 0.8 / len(tools)
        for i, t in enumerate(tools):
            walls = [(results[key][t][op]["wall"] or results[key][t][op]["timeout"])
                     if results[key][t][op] else 0 for op in OPS]
            ax.bar([x + i * width for x in range(len(OPS))], walls, width, label=t,
                   color=colors.get(t))
        ax.axhline(results[key]["openssl"]["wall"], color="grey", linestyle="--", linewidth=1,
                   label="openssl hashing")
        ax.set_yscale("log")
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(OPS))], OPS, fontsize=8)
        ax.set_title(NAMES.get(key, key))
        ax.set_ylabel("wall time, s (log)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
