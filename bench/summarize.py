#!/usr/bin/env python3
"""Turns bench/run's raw JSON lines into bench/RESULTS.md.

    summarize.py RESULTS_DIR OUTPUT_MD

RESULTS_DIR holds results.jsonl (one line per run: the benchmark's JSON plus "config", "rep" and
"loadavg_before", added by bench/run) and meta.json (the machine and the session).
"""
import json
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

# Training FLOP per image (forward + dW + dX), shared/anchors/RESULTS.md section 4; dcgan's from
# nabla_bench.cpp (train_flop_per_image: ~9 discriminator and 3 generator passes per image).
# The sequence workloads have no agreed count there, so their GFLOP/s column stays empty.
FLOP_PER_IMAGE = {"mlp30": 95.9e3, "mlp": 2.41e6, "cnn": 71.6e6, "dcgan": 274.6e6}
MODELS = ["mlp30", "mlp", "cnn", "lstm", "vit", "dcgan"]

# Configurations in the order the tables show them, with how each is run.
CONFIG_LABELS = {
    "nabla-env": "nabla, environment as given",
    "nabla-auto": "nabla, OPENBLAS_CORETYPE unset (nabla chooses the kernels)",
    "libtorch-best": "libtorch best: OPENBLAS_CORETYPE=SkylakeX ATEN_CPU_CAPABILITY=avx512, --blas-threads 1",
    "libtorch-default": "libtorch out of the box: OPENBLAS_CORETYPE and ATEN_CPU_CAPABILITY unset, BLAS threads = T",
}


def load(results_dir):
    runs = []
    with open(results_dir / "results.jsonl") as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    meta = json.loads((results_dir / "meta.json").read_text())
    return runs, meta


def fmt_range(values, digits):
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} [{min(values):.{digits}f}..{max(values):.{digits}f}]"


class Cell:
    """All runs of one (config, model, threads)."""

    def __init__(self, runs):
        self.runs = runs

    def median(self, key):
        """The median over runs, or None when a run has no value (the dcgan has no test accuracy)."""
        values = [r.get(key) for r in self.runs]
        return None if any(v is None for v in values) else statistics.median(values)

    def show(self, key, spec):
        """The median formatted with spec, or a dash for a figure this workload does not report."""
        median = self.median(key) if all(key in r for r in self.runs) else None
        return "–" if median is None else format(median, spec)

    def values(self, key):
        return [r[key] for r in self.runs]

    @property
    def seconds(self):  # train seconds per 60k images, the headline figure
        return self.median("train_seconds_per_60k")

    def gflops(self, model):
        if model not in FLOP_PER_IMAGE:
            return "–"
        return f"{FLOP_PER_IMAGE[model] * 60000 / self.seconds / 1e9:.1f}"


def group(runs):
    cells = defaultdict(list)
    for r in runs:
        cells[(r["config"], r["model"], r["threads"])].append(r)
    return {key: Cell(value) for key, value in cells.items()}


def best(cells, config, model):
    """(threads, cell) with the lowest median time for config and model, or None."""
    candidates = [(k[2], c) for k, c in cells.items() if k[0] == config and k[1] == model]
    return min(candidates, key=lambda tc: tc[1].seconds) if candidates else None


def load_before_after(cell):
    """The 1-minute load average at the start and end of each run of a cell."""
    return " ".join(f"{r.get('loadavg_before', '?')}→{r.get('loadavg_after', '?')}" for r in cell.runs)


def main():
    results_dir, output = Path(sys.argv[1]), Path(sys.argv[2])
    runs, meta = load(results_dir)
    cells = group(runs)
    configs = [c for c in CONFIG_LABELS if any(k[0] == c for k in cells)]
    nabla_configs = [c for c in configs if c.startswith("nabla")]
    has_libtorch = "libtorch-best" in configs
    env_value = meta.get("openblas_coretype_env") or ""
    labels = dict(CONFIG_LABELS)
    if env_value:
        labels["nabla-env"] = f"nabla, OPENBLAS_CORETYPE={env_value} inherited from the environment"

    out = []
    w = out.append
    w("# nabla vs libtorch on the reference MNIST workloads")
    w("")
    w(f"Written by `bench/run` on {meta['date']} (nabla commit `{meta['commit']}`); "
      f"raw JSON lines in `{meta['results_dir']}`. Compare ratios within one session: absolute times on "
      "these shared machines drift from run to run.")
    w("")
    nproc = int(str(meta.get("nproc") or meta["cores"].split()[0]))
    start_load = float(meta["loadavg_start"].split()[0])
    if start_load > nproc - 0.5:
        w(f"**The machine was busy**: the 1-minute load average was {start_load} on {nproc} cores before the "
          "first run, so other jobs competed for the cores. Expect one-sided noise (runs only get slower), worst "
          "for multi-threaded runs; rerun with REPS=3 on a quiet machine before trusting small differences.")
        w("")
    w("## Machine")
    w("")
    w("| item | value |")
    w("|---|---|")
    w(f"| CPU | {meta['cpu_model']} ({meta['cpu_vendor']}, family {meta['cpu_family']} model {meta['cpu_model_number']}) |")
    w(f"| cores | {meta['cores']} |")
    w(f"| SIMD flags (/proc/cpuinfo) | {meta['avx512']} |")
    w(f"| OpenBLAS | {meta['openblas_version']} |")
    w(f"| OPENBLAS_CORETYPE in the environment | {('`' + env_value + '`') if env_value else 'not set'} |")
    cores_in_use = defaultdict(set)
    for r in runs:
        cores_in_use[r["config"]].add(r.get("blas_core", "?"))
    for config in configs:
        w(f"| OpenBLAS core in use, {config} | {', '.join(sorted(cores_in_use[config]))} |")
    w(f"| libtorch | {meta.get('libtorch') or 'not run'} |")
    runtimes = defaultdict(set)
    for r in runs:
        if r.get("runtime"):
            runtimes[(r["config"], r["threads"])].add(r["runtime"])
    for (config, threads), texts in sorted(runtimes.items()):
        w(f"| what `{config}` ran on at T={threads} (its --show-config) | {' / '.join(sorted(texts))} |")
    w(f"| load average before / after | {meta['loadavg_start']} / {meta.get('loadavg_end', '?')} |")
    w(f"| session | REPS={meta['reps']}, threads {meta['threads']}, cnn trained on {meta['cnn_limit']} images, "
      f"lstm/vit on {meta.get('seq_limit', 60000)}, dcgan on {meta.get('dcgan_limit', '?')} (scaled to 60k), "
      f"{meta['eval_reps']} timed eval passes |")
    w("")
    w("Configurations:")
    w("")
    for config in configs:
        w(f"- `{config}`: {labels[config]}")
    w("")

    # ---- headline: best over thread settings, per workload
    w("## Training time per 60k images (best over thread settings; median over reps)")
    w("")
    head = ["workload"] + [f"`{c}` s [T]" for c in configs]
    if has_libtorch:
        head += [f"`{c}` / `libtorch-best`" for c in nabla_configs]
        head += ["`nabla-auto` / fastest libtorch (any config)"]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for model in MODELS:
        row = [model]
        bests = {c: best(cells, c, model) for c in configs}
        if all(b is None for b in bests.values()):
            continue
        for c in configs:
            b = bests[c]
            row.append(f"{b[1].seconds:.3f} [{b[0]}]" if b else "–")
        if has_libtorch:
            lt = bests["libtorch-best"]
            for c in nabla_configs:
                b = bests[c]
                if b and lt:
                    ratio = b[1].seconds / lt[1].seconds
                    speed = f"{1 / ratio:.2f}x faster" if ratio < 1 else f"{ratio:.2f}x slower"
                    row.append(f"**{ratio:.2f}** ({speed})")
                else:
                    row.append("–")
            fastest = min((bests[c] for c in configs if c.startswith("libtorch") and bests[c]),
                          key=lambda tc: tc[1].seconds, default=None)
            auto = bests.get("nabla-auto")
            row.append(f"{auto[1].seconds / fastest[1].seconds:.2f}" if auto and fastest else "–")
        w("| " + " | ".join(row) + " |")
    w("")
    if has_libtorch:
        w("Ratio = nabla's best time / libtorch's best time (below 1: nabla is faster), each side's best over its "
          "thread settings; [T] = the thread count of that best. The last column divides by the fastest libtorch "
          "run of any configuration, for machines where the anchor's tuned setup is not its fastest.")
    else:
        w("[T] = the thread count of the best time.")
    w("")

    # ---- what the best runs cost and achieved
    w("## The best runs: throughput, memory, accuracy")
    w("")
    w("| workload | config | T | train GFLOP/s | eval img/s | peak RSS MB | train peak RSS MB | test acc | final train loss |")
    w("|---|---|---|---|---|---|---|---|---|")
    for model in MODELS:
        for c in configs:
            b = best(cells, c, model)
            if not b:
                continue
            threads, cell = b
            train_rss = f"{cell.median('train_peak_rss_mb'):.0f}" if "train_peak_rss_mb" in cell.runs[0] else "–"
            w(f"| {model} | `{c}` | {threads} | {cell.gflops(model)} | {cell.show('eval_images_per_second', '.0f')} | "
              f"{cell.show('peak_rss_mb', '.0f')} | {train_rss} | {cell.show('test_accuracy', '.4f')} | "
              f"{cell.show('final_epoch_train_loss', '.4f')} |")
    w("")
    w("GFLOP/s = training FLOP per image (mlp30 95.9k, mlp 2.41M, cnn 71.6M, dcgan ~275M; forward + dW + dX, from "
      "shared/anchors/RESULTS.md) x 60k / seconds per 60k. Peak RSS is getrusage's high-water mark at exit "
      "(it includes evaluation: libtorch's at batch 1000, nabla's at the batch its JSON line's eval_batch gives, 200 by "
      "default, which evaluates as fast with a third of the memory); nabla's train peak is read right after training. The cnn "
      f"accuracy is after training on {meta['cnn_limit']} images only, lstm's and vit's on "
      f"{meta.get('seq_limit', 60000)}. The dcgan's \"eval\" is sampling: generated images per second at batch 1000; "
      "it has no test accuracy, and its train loss is the discriminator's.")
    w("")

    # ---- every cell
    w("## Every configuration")
    w("")
    w("| workload | config | T | BLAS core / threads | runs | s per 60k, median [min..max] | GFLOP/s | eval img/s | "
      "peak RSS MB | test acc | data wait s/epoch | load before → after |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for model in MODELS:
        for c in configs:
            for key in sorted(k for k in cells if k[0] == c and k[1] == model):
                cell = cells[key]
                r0 = cell.runs[0]
                wait = f"{cell.median('data_wait_seconds_per_epoch'):.3f}" if "data_wait_seconds_per_epoch" in r0 else "–"
                w(f"| {model} | `{c}` | {key[2]} | {r0.get('blas_core', '?')} / {r0.get('blas_threads', '?')} | "
                  f"{len(cell.runs)} | {fmt_range(cell.values('train_seconds_per_60k'), 3)} | {cell.gflops(model)} | "
                  f"{cell.show('eval_images_per_second', '.0f')} | {cell.show('peak_rss_mb', '.0f')} | "
                  f"{cell.show('test_accuracy', '.4f')} | {wait} | {load_before_after(cell)} |")
    w("")
    w("Data wait: seconds per epoch nabla's training loop spent getting the DataLoader's next batch "
      "(converting the batch's uint8 images to float, in the training thread); included in the time. "
      "libtorch's benchmark converts the whole set before timing and gathers each epoch's shuffle "
      "outside the clock. Load before → after: the 1-minute load average when each run started and ended "
      "(it includes the previous run's and the run's own threads); on 2 cores anything well above 2 means other jobs competed. libtorch's "
      "2-thread runs suffer most from that: its OpenMP workers spin-wait, so a competing process stalls every "
      "parallel region.")
    w("")
    # bench/run-distributed's section (between its markers) survives a rewrite of the rest.
    if output.exists():
        kept = re.search(r"<!-- distributed:begin -->.*?<!-- distributed:end -->", output.read_text(), re.S)
        if kept:
            out += ["", kept.group(0), ""]
    output.write_text("\n".join(out))


if __name__ == "__main__":
    main()
