import math

import numpy as np

from napari_mg3d.inference.metrics import recall_at_k, roc_auc


def test_recall_at_k_by_hand():
    sim = np.array([[0.9, 0.1, 0.0], [0.8, 0.5, 0.1], [0.3, 0.6, 0.2]])
    # query 0: true first; query 1: one better (0.8); query 2: two better
    assert recall_at_k(sim, ks=(1, 2, 3)) == {"R@1": 1 / 3, "R@2": 2 / 3, "R@3": 1.0}


def test_auc_by_hand():
    assert roc_auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]) == 1.0
    assert roc_auc([0.1, 0.2], [1, 0]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5], [1, 0, 0]) == 0.5  # ties count half
    assert roc_auc([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0]) == 0.75
    assert math.isnan(roc_auc([0.3, 0.4], [1, 1]))
