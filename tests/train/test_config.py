"""Training settings: nested --set keys at any depth, unknown keys refused with the known ones listed,
a warm-up longer than the run clipped with a word."""

import pytest

from napari_mg3d.io.errors import InputError
from napari_mg3d.model.config import LOSS_NAMES
from napari_mg3d.model.objectives import DEFAULT_WEIGHTS
from napari_mg3d.train.config import load_config


def test_nested_settings_reach_their_place():
    c = load_config(None, ["model_overrides.loss_weights.regions=0", "model_overrides.text.frozen=false",
                           "trainer.devices=2", "trainer.max_time.minutes=3", "max_steps=100", "warmup_steps=5"])
    assert c.model_overrides == {"loss_weights.regions": 0, "text.frozen": False}
    assert c.trainer["devices"] == 2 and c.trainer["max_time"] == {"minutes": 3} and c.trainer["num_nodes"] == 1
    from napari_mg3d.model.config import get_config

    assert get_config("mg3d-tiny", **c.model_overrides).loss_weights["regions"] == 0


@pytest.mark.parametrize("setting, said", [
    ("trainer.devices.x=2", "trainer.devices is a single value"),
    ("trainer.devicez=2", "unknown trainer setting 'devicez'"),
    ("model_overrides.loss_weights.regionz=0", "unknown model setting 'loss_weights.regionz'"),
    ("model_overrides.hiden=3", "known: align_center"),
    ("lr.x=1", "lr is a single value"),
    ("nothing=1", "unknown training setting 'nothing'; known: activation_checkpointing, augment, bad_cases"),
])
def test_unknown_or_misplaced_settings_are_refused(setting, said):
    with pytest.raises(InputError, match=said.replace(".", r"\.").replace("(", r"\(")):
        load_config(None, [setting])


def test_a_warmup_longer_than_the_run_is_clipped(capsys):
    c = load_config(None, ["max_steps=1000"])  # the recipe's 10,000 warm-up steps
    assert c.warmup_steps == 100 and "never leave its warm-up" in capsys.readouterr().err
    assert load_config(None, ["max_steps=1000", "warmup_steps=50"]).warmup_steps == 50


def test_the_model_config_knows_every_loss():
    assert set(LOSS_NAMES) == set(DEFAULT_WEIGHTS)
