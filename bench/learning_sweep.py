"""Settings sweep for the learning bench on any device: the bench's recipe (500 synthetic training
cases, 100 held out, batch 8, lr 1e-3, warm-up then linear decay, STEPS steps, alignment statistics
calibrated) for each JSON spec of model overrides (plus "batch", "lr", "steps"); data made in memory
(no SimpleITK needed). A plain loop, not Lightning, so it runs where only torch is installed.
Usage: DEV=cuda TEXT=minilm-offline python bench/learning_sweep.py 570 '{}' '{"lr": 0.003}' ...
"""
import json, sys, time
from multiprocessing import Pool
import os
import numpy as np, torch
DEV = os.environ.get("DEV", "cuda")
TEXT = os.environ.get("TEXT", "minilm-offline")  # or a folder with the text model (no package there)

def make(args):
    from napari_mg3d.data.synthetic import make_case
    from napari_mg3d.data.preprocess import preprocess_array
    seed, = args
    c = make_case(seed)
    return {"id": str(seed), "volume": preprocess_array(c.image, c.geometry, "synthetic-tiny")[None].astype(np.float32),
            "report": c.report, "labels": c.labels}

def main():
    from napari_mg3d.data.dataset import collate
    from napari_mg3d.data.synthetic import CT_RATE_LABEL
    from napari_mg3d.knowledge.prompts import prompt_set
    from napari_mg3d.model import objectives as obj
    from napari_mg3d.model.factory import create_model
    from napari_mg3d.train.evaluate import evaluate
    from napari_mg3d.train.calibrate import calibrate_alignment
    t = time.time()
    with Pool(16) as pool:
        train = pool.map(make, [(i,) for i in range(500)])
        test = pool.map(make, [(100000 + i,) for i in range(100)])
    print("data", time.time() - t, flush=True)
    labels = list(CT_RATE_LABEL.values()); prompts = [prompt_set(n) for n in labels]
    steps = int(sys.argv[1])
    for spec in sys.argv[2:]:
        over = json.loads(spec)
        batch = over.pop("batch", 8); lr = over.pop("lr", 1e-3); n_steps = over.pop("steps", steps)
        torch.manual_seed(0)
        model = create_model("mg3d-tiny", device=DEV, **{"text.name": TEXT, **over})
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
        rng = np.random.default_rng(0); order = []; t = time.time()
        warm = max(1, n_steps // 20)
        for step in range(1, n_steps + 1):
            if len(order) < batch: order += list(rng.permutation(len(train)))
            idx, order = order[:batch], order[batch:]
            b = collate([train[i] for i in idx])
            model.train()
            for g in opt.param_groups: g["lr"] = lr * min(1.0, step / warm) * min(1.0, (n_steps - step) / max(1, n_steps - warm))
            losses = obj.pretraining_losses(model(b["volume"].to(DEV), model.tokenize(b["report"]).to(DEV)), model.config.loss_weights)
            opt.zero_grad(); losses["loss"].backward(); opt.step()
        calibrate_alignment(model, train)
        r = evaluate(model, test, labels, prompts)
        print(json.dumps({"spec": spec, "s": round(time.time() - t), "ga": round(losses["ga"].item(), 3),
                          **{k: round(v, 3) for k, v in r.items()}}), flush=True)

if __name__ == "__main__":
    main()
