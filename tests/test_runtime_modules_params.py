"""``module_tree``'s parameters per subtree, derived by hand: summed from the leaves up where no
parameter sits in two places, each shared parameter once per subtree where one does (a module
reachable by two paths, tied weights), frozen parameters out of the trainable count."""
import oneflow.nn as nn

from flowflops.runtime.modules import module_tree


def _params(tree):
    return {p: (i.params, i.trainable_params) for p, i in tree.items()}


def test_sums_from_the_leaves_up():
    model = nn.Sequential(nn.Linear(4, 3), nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
    model[1][0].bias.requires_grad = False
    # Linear(4, 3): 4 * 3 + 3 = 15; Linear(3, 2): 3 * 2 + 2 = 8, its bias (2) frozen
    assert _params(module_tree(model)) == {"": (23, 21), "0": (15, 15), "1": (8, 6), "1.0": (8, 6),
                                           "1.1": (0, 0)}


def test_a_module_reachable_by_two_paths_counts_once_per_subtree():
    shared = nn.Linear(2, 2)  # 2 * 2 + 2 = 6
    model = nn.Sequential(shared, nn.Sequential(shared, nn.Linear(2, 1)))  # Linear(2, 1): 3
    assert _params(module_tree(model)) == {"": (9, 9), "0": (6, 6), "1": (9, 9), "1.0": (6, 6), "1.1": (3, 3)}


def test_tied_weights_count_once():
    a, b = nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False)
    b.weight = a.weight  # 9 once
    model = nn.Sequential(a, nn.Sequential(b))
    assert _params(module_tree(model)) == {"": (9, 9), "0": (9, 9), "1": (9, 9), "1.0": (9, 9)}
