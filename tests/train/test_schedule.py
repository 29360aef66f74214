import json
import time

import lightning as L
import pytest
import torch

from napari_mg3d.train.callbacks import JsonlMetrics
from napari_mg3d.train.schedule import Schedule, scheduled, warmup_linear
from napari_mg3d.train.time_budget import TimeBudget


def test_without_a_budget_the_schedule_is_the_official_one():
    s = Schedule(2, 6)
    assert [s(k) for k in range(8)] == [warmup_linear(k, 2, 6) for k in range(8)]


def test_the_decay_ends_with_the_budget():
    s = Schedule(2, 1000)
    s.spent = 0.2  # warm-up ended with a fifth of the budget spent
    assert s(0) == 0.5 and s(2) == warmup_linear(2, 2, 1000)
    s.spent = 0.6
    assert abs(s(3) - 0.5) < 1e-9  # half of what was left after warm-up is spent
    s.spent = 1.0
    assert s(4) == 0.0
    # fewer steps than the budget allows: the steps' decay, the lower of the two, wins
    s = Schedule(0, 10)
    s(0)
    s.spent = 0.1
    assert s(9) == warmup_linear(9, 0, 10)


def test_its_state_resumes():
    def make():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return opt, scheduled(opt, {"warmup_steps": 1, "max_steps": 100})["lr_scheduler"]["scheduler"]

    opt, sched = make()
    for spent in (0.1, 0.2, 0.3):
        sched.lr_lambdas[0].spent = spent
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["lr_lambdas"][0] == {"spent": 0.3, "decay_from": 0.1}  # the steps come from the config
    opt2, again = make()
    again.load_state_dict(state)
    for s in (sched, again):
        s.lr_lambdas[0].spent = 0.75
        s.optimizer.step()
        s.step()
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"] == pytest.approx(0.25 / 0.9)


class _Tiny(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        time.sleep(0.02)
        return self.layer(batch["x"]).pow(2).mean()

    def configure_optimizers(self):
        return scheduled(torch.optim.SGD(self.parameters(), lr=0.1), {"warmup_steps": 5, "max_steps": 100_000})


def test_a_run_under_a_time_budget_ends_near_a_zero_learning_rate(tmp_path):
    lrs = []

    class Record(L.Callback):
        def on_train_batch_start(self, trainer, *args):
            lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    data = [{"id": i, "x": torch.randn(4)} for i in range(64)]
    trainer = L.Trainer(max_steps=100_000, max_time={"seconds": 2}, callbacks=[TimeBudget(), Record(), JsonlMetrics(tmp_path / "m.jsonl", 5)],
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=str(tmp_path), accelerator="cpu")
    trainer.fit(_Tiny(), torch.utils.data.DataLoader(data, batch_size=4))
    assert 20 < len(lrs) < 100_000  # the budget, not the steps, stopped it
    after = lrs[5:]
    assert max(after) > 0.08 and all(b <= a + 1e-12 for a, b in zip(after, after[1:]))
    assert lrs[-1] < 0.1 * 0.1  # under a tenth of the peak at the end (the official decay: 1.0 of it)
    records = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    etas = [r["eta_s"] for r in records if "eta_s" in r]
    assert etas and max(etas) <= 2.0  # what is left of the budget, not of 100,000 steps
