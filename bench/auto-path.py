#!/usr/bin/env python3
"""Does `--path auto` pick the fastest FourierFT computation? One table, measured here.

For each layer shape it times every path (dense, merged, spectral, auto), plus the limit (frozen
layer, input gradient only) and LoRA r=8 for context, with `fourierft bench-layer`, each case in
its own process, the rounds interleaved so that machine noise hits all paths alike. Per case the
lowest of the per-round medians is kept. Prints a Markdown table and writes the same as JSON.

  bench/auto-path.py [--fourierft build/app/cli/fourierft] [--rounds 2] [--json out.json]
"""
import argparse, json, subprocess, sys

ROWS = [(768, 512), (768, 4096), (4096, 512), (4096, 4096)]
PATHS = ["dense", "merged", "spectral", "auto"]


def run(exe, d, tokens, extra, steps):
    cmd = [exe, "bench-layer", "--d-out", str(d), "--d-in", str(d), "--tokens", str(tokens), "--n", "1000",
           "--steps", str(steps), "--warmup", "1"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fourierft", default="build/app/cli/fourierft")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", default="")
    a = p.parse_args()
    results = []
    for d, tokens in ROWS:
        steps = 3 if d * d * tokens > 4e9 else 7
        cases = {"limit": ["--method", "limit"], "lora": ["--method", "lora", "--r", "8"]}
        cases.update({path: ["--method", "fourierft", "--path", path] for path in PATHS})
        best, chosen = {}, ""
        for _ in range(a.rounds):
            for name, extra in cases.items():
                r = run(a.fourierft, d, tokens, extra, steps)
                best[name] = min(best.get(name, float("inf")), r["ms_median"])
                if name == "auto":
                    chosen = r["path"]
                print(f"  {d}x{d} tokens {tokens} {name}: {r['ms_median']} ms", file=sys.stderr)
        fastest = min(PATHS[:3], key=lambda k: best[k])
        results.append(dict(d=d, tokens=tokens, n=1000, ms=best, auto_chose=chosen, fastest=fastest,
                            auto_over_fastest=round(best["auto"] / best[fastest], 3)))
    print("| layer | tokens | limit | LoRA r=8 | dense | merged | spectral | auto (chose) | auto / fastest |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        ms = r["ms"]
        cells = [f"**{ms[k]:.1f}**" if k == r["fastest"] else f"{ms[k]:.1f}" for k in ["dense", "merged", "spectral"]]
        print(f"| {r['d']}x{r['d']} | {r['tokens']} | {ms['limit']:.1f} | {ms['lora']:.1f} | " + " | ".join(cells) +
              f" | {ms['auto']:.1f} ({r['auto_chose']}) | {r['auto_over_fastest']:.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
