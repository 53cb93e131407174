"""PyTorch's throughput on the benchmark's reference networks, one thread, measured as tunelab measures its own.

The networks of `src/nn/bench.rs` (written out in `src/nn/arch.rs`), rebuilt here layer for
layer, and the same measurement: training with Adam (learning rate 0.001), batches of --batch
images taken in order from the MNIST training images, one untimed warm-up run and then --runs
timed runs of --images images each, the median; inference in batches of 256 (the forward pass
and the loss, no gradients), 2 × --images images a run. One thread: torch.set_num_threads(1).

Dev tooling, not a test and not part of `.ci/test`. The benchmark command (`bash .ci/bench`, through
bench.mjs) runs it with --json when it finds a Python that can import torch: $BENCH_PYTHON, else
`venv-torch/bin/python` beside the repository, else `python3`. Set-up, outside the repository:

    python3 -m venv ../venv-torch          # from the repository's root
    ../venv-torch/bin/pip install torch
    ../venv-torch/bin/python tests/bench/pytorch_bench.py --runs 5 --images 4096

Prints a Markdown table, or one JSON object with --json. Without torch it says so (with --json:
{"error": ...}) and exits with status 3.
"""
import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CLASSES = 10
PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081  # as src/nn/model.rs normalises pixels
INFERENCE_BATCH = 256  # src/nn/bench.rs's INFERENCE_BATCH
POOL_IMAGES = 16_384  # training images kept as f32; batches cycle through them


# --- The reference networks, as src/nn/arch.rs writes them: layers between the 28×28 input and
# the 10-way output layer, which is always appended. A convolution (stride 1) and a dense layer
# are each followed by a ReLU; a pool is 2×2 max-pooling, stride 2. ---

def conv(filters, kernel, padding):
    return ("conv", filters, kernel, padding)


POOL = ("pool",)


def dense(units):
    return ("dense", units)


def tuned(conv_layers, filters=(16, 32, 32, 64), dense_units=64):
    """The tuning space's network (Architecture::from_config with the default TrainConfig): 3×3
    "same" convolutions, a pool after each of the first two, dense 64, no dropout."""
    layers = []
    for i in range(conv_layers):
        layers.append(conv(filters[i], 3, "same"))
        if i < 2:
            layers.append(POOL)
    return layers + [dense(dense_units)]


NETWORKS = {
    "lenet5": [conv(6, 5, "same"), POOL, conv(16, 5, "valid"), POOL, dense(120), dense(84)],
    "tfjs-example": [conv(16, 3, "valid"), POOL, conv(32, 3, "valid"), POOL, conv(32, 3, "valid"), dense(64)],
    "default-2conv": tuned(2),
    "default-3conv": tuned(3),
    "default-4conv": tuned(4),
}


def build(layers):
    """The network as a torch.nn.Sequential, and its multiply–adds per image in one forward pass
    (counted as Architecture::forward_macs counts them, so the two sides can be checked alike)."""
    from torch import nn

    channels, side, flat = 1, 28, None
    modules, macs = [], 0
    for layer in layers:
        if layer[0] == "conv":
            _, filters, kernel, padding = layer
            pad = kernel // 2 if padding == "same" else 0
            modules += [nn.Conv2d(channels, filters, kernel, padding=pad), nn.ReLU()]
            side = side + 2 * pad + 1 - kernel
            macs += filters * side * side * channels * kernel * kernel
            channels = filters
        elif layer[0] == "pool":
            modules.append(nn.MaxPool2d(2))
            side //= 2
        else:
            inputs = flat if flat is not None else channels * side * side
            if flat is None:
                modules.append(nn.Flatten())
            modules += [nn.Linear(inputs, layer[1]), nn.ReLU()]
            macs += inputs * layer[1]
            flat = layer[1]
    inputs = flat if flat is not None else channels * side * side
    if flat is None:
        modules.append(nn.Flatten())
    modules.append(nn.Linear(inputs, CLASSES))
    macs += inputs * CLASSES
    return nn.Sequential(*modules), macs


# --- The machine. ---

def cpu_model():
    """The CPU's model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_images(folder, count):
    """The first `count` MNIST training images, normalised as tunelab does, and their labels."""
    import torch

    with gzip.open(os.path.join(folder, "train-images-idx3-ubyte.gz")) as f:
        pixels = f.read()[16 : 16 + count * 784]
    with gzip.open(os.path.join(folder, "train-labels-idx1-ubyte.gz")) as f:
        labels = f.read()[8 : 8 + count]
    n = len(labels)
    images = torch.frombuffer(bytearray(pixels[: n * 784]), dtype=torch.uint8).reshape(n, 1, 28, 28)
    images = (images.float() / 255.0 - PIXEL_MEAN) / PIXEL_STD
    return images, torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()


# --- The measurements, as src/nn/bench.rs makes them. ---

def timed_runs(step, steps, batch, runs):
    """Images per second of `runs` timed runs of `steps` steps of `batch` images, after one
    untimed warm-up run; the median and every run."""
    results = []
    for run in range(runs + 1):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds = time.perf_counter() - start
        if run > 0:
            results.append(steps * batch / seconds)
    return {"images_per_second": statistics.median(results), "runs": results}


def batches(images, labels, batch):
    """Batches of `batch` images in order, cycling through the pool."""
    n = len(labels)
    start = 0
    while True:
        if start + batch > n:
            start = 0
        yield images[start : start + batch], labels[start : start + batch]
        start += batch


def training_throughput(model, images, labels, batch, images_per_run, runs):
    import torch
    import torch.nn.functional as F

    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    source = batches(images, labels, batch)

    def step():
        x, y = next(source)
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    return timed_runs(step, -(-images_per_run // batch), batch, runs)


def inference_throughput(model, images, labels, images_per_run, runs):
    import torch
    import torch.nn.functional as F

    model.eval()
    source = batches(images, labels, INFERENCE_BATCH)

    def step():
        x, y = next(source)
        with torch.inference_mode():
            F.cross_entropy(model(x), y)

    return timed_runs(step, -(-images_per_run // INFERENCE_BATCH), INFERENCE_BATCH, runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "public", "mnist"), help="folder holding the MNIST IDX files")
    parser.add_argument("--nets", default=",".join(NETWORKS), help="comma-separated names (unknown names are skipped)")
    parser.add_argument("--batch", type=int, default=64, help="training batch size")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure, after one warm-up run")
    parser.add_argument("--images", type=int, default=4096, help="images per timed training run (inference: twice as many)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    cpu = cpu_model()
    try:
        import torch
    except ImportError as e:
        message = f"{sys.executable} cannot import torch ({e})"
        if args.json:
            print(json.dumps({"error": message, "cpu": cpu}))
        else:
            print(message, file=sys.stderr)
        return 3

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    images, labels = load_images(args.data, POOL_IMAGES)
    names = [n for n in args.nets.split(",") if n]
    for n in names:
        if n not in NETWORKS:
            print(f"pytorch_bench: no network named {n}, skipped", file=sys.stderr)
    networks = []
    for name in (n for n in names if n in NETWORKS):
        model, macs = build(NETWORKS[name])
        train = training_throughput(model, images, labels, args.batch, args.images, args.runs)
        inference = inference_throughput(model, images, labels, 2 * args.images, args.runs)
        # FLOP per image as tunelab counts them: a training step is three forward passes.
        train["flop_per_image"], inference["flop_per_image"] = 6 * macs, 2 * macs
        networks.append({"name": name, "train": train, "inference": inference})
        print(f"  PyTorch {name}: train {train['images_per_second']:,.0f} img/s, inference {inference['images_per_second']:,.0f} img/s", file=sys.stderr, flush=True)
    report = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": cpu,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "batch": args.batch,
        "runs": args.runs,
        "images_per_run": args.images,
        "networks": networks,
    }
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"PyTorch {report['torch']} on {cpu} ({report['cpu_capability']}), {report['threads']} thread(s); medians of {args.runs} runs of {args.images} images after a warm-up; training with Adam, batch {args.batch}; inference in batches of {INFERENCE_BATCH}.\n")
    print("| network | train MFLOP/img | train img/s | inference img/s |")
    print("| --- | ---: | ---: | ---: |")
    for n in networks:
        print(f"| {n['name']} | {n['train']['flop_per_image'] / 1e6:.2f} | {n['train']['images_per_second']:,.0f} | {n['inference']['images_per_second']:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
