"""``tree_and_named``: the module tree and ``named_modules()`` from one walk. The named list
must be exactly what OneFlow's own ``named_modules()`` gives (the peer here: oneflow 0.9.0's
``nn.Module.named_modules``), paths and module objects, in its order: each module once, at its
first path, a module met again skipped with its subtree, ``None`` children skipped."""
import oneflow.nn as nn

from flowflops.runtime.modules import module_tree, tree_and_named


def _same(model):
    tree, named = tree_and_named(model)
    want = list(model.named_modules())
    assert [p for p, _ in named] == [p for p, _ in want]
    assert all(a is b for (_, a), (_, b) in zip(named, want))
    assert list(tree) == list(module_tree(model))
    return [p for p, _ in named], list(tree)


def test_a_plain_tree():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    named, tree = _same(model)
    assert named == tree == ["", "0", "1", "1.0", "1.1"]


def test_shared_modules_and_subtrees_are_named_once_at_their_first_path():
    leaf = nn.Linear(2, 2)
    block = nn.Sequential(leaf, nn.ReLU())
    model = nn.Sequential(block, nn.Sequential(leaf, block), leaf)
    named, tree = _same(model)
    # the tree lists every path; named_modules skips "1.0" (leaf again), "1.1" and its
    # children (block again) and "2" (leaf again)
    assert tree == ["", "0", "0.0", "0.1", "1", "1.0", "1.1", "1.1.0", "1.1.1", "2"]
    assert named == ["", "0", "0.0", "0.1", "1"]


def test_none_children_are_skipped():
    model = nn.Sequential(nn.Linear(2, 2))
    model.add_module("gone", None)
    model.add_module("last", nn.ReLU())
    named, _ = _same(model)
    assert named == ["", "0", "last"]


class _OwnWalk(nn.Sequential):
    def named_modules(self, memo=None, prefix=""):  # a class that lists only itself
        yield prefix, self


class _ByValue(nn.Linear):
    def __eq__(self, other):
        return isinstance(other, _ByValue) and other.in_features == self.in_features

    def __hash__(self):
        return hash(self.in_features)


def test_a_class_with_its_own_named_modules_is_asked():
    model = nn.Sequential(_OwnWalk(nn.Linear(2, 2)), nn.ReLU())
    named, tree = _same(model)
    assert named == ["", "0", "1"]  # "0.0" hidden by _OwnWalk.named_modules
    assert tree == ["", "0", "0.0", "1"]


def test_modules_equal_by_value_are_deduplicated_as_named_modules_does():
    model = nn.Sequential(_ByValue(2, 2), _ByValue(2, 3))  # equal and same hash: one memo entry
    named, _ = _same(model)
    assert named == ["", "0"]
