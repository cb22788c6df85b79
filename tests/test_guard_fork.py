"""Counts in a child made by os.fork() (a DataLoader worker, multiprocessing's fork start
method) while a count runs in another thread of the parent (issue 29: the child could never
count that model, the claim belonged to a thread the child does not have). Real forks, in a
subprocess of its own (a hang or an abort must not take pytest with it)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CODE = r"""
import os, signal, sys, threading
import oneflow as flow, oneflow.nn as nn
import flowflops

class Gate(nn.Module):
    "Linear(4, 4) whose forward waits while the parent forks."
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.inside, self.go = threading.Event(), threading.Event()
    def forward(self, x):
        if threading.current_thread() is not threading.main_thread():
            self.inside.set()
            self.go.wait(60)
        return self.fc(x)

model = Gate()
flow.ones(1).numpy()
results = {}
counter = threading.Thread(target=lambda: results.setdefault("thread", flowflops.profile(
    model, (2, 4), backend_specific_config={"count_functional": True}).macs))
counter.start()
assert model.inside.wait(60)          # the thread's count holds the model's claim and patches
r, w = os.pipe()
pid = os.fork()
if pid == 0:                          # the child: only this (main) thread exists here
    signal.alarm(120)                 # a hang ends the child (SIGALRM's default action)
    os.close(r)
    out = []
    try:
        # Linear(4, 4) on (2, 4): matmul 2*4*4 = 32 + bias 2*4 = 8 = 40 MACs, each time
        for _ in range(2):
            out.append(str(flowflops.profile(model, (2, 4)).macs))
        out.append(str(flowflops.profile(model, (2, 4), backend_specific_config={"count_functional": True}).macs))
        try:
            flowflops.profile(model, (2, 4), mode="graph")
            out.append("graph counted")
        except flowflops.CountError as err:
            out.append("graph refused: " + str(err))
        out.append(str(model.fc(flow.ones(2, 4)).shape))
    except BaseException as err:
        out.append("child error: %r" % (err,))
    os.write(w, "\n".join(out).encode())
    os._exit(0)
os.close(w)
model.go.set()
counter.join(60)
_, status = os.waitpid(pid, 0)
child = os.read(r, 1 << 16).decode()
print("status", status)
print(child)
print("parent", results.get("thread"), flowflops.profile(model, (2, 4), mode="graph").macs)
"""


def test_a_forked_child_counts_the_model_a_parent_thread_is_counting():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env,
                       timeout=400)
    assert p.returncode == 0, (p.returncode, p.stdout[-800:], p.stderr[-1500:])
    lines = p.stdout.strip().splitlines()
    assert lines[0] == "status 0", lines  # the child exited by itself: no hang, no abort
    # Linear(4, 4) on (2, 4): matmul 32 + bias 8 = 40 MACs
    assert lines[1:4] == ["40", "40", "40"], lines
    assert lines[4].startswith("graph refused: this process was made by os.fork()"), lines
    assert "mode='eager'" in lines[4]
    assert lines[5] == "oneflow.Size([2, 4])", lines  # the child's model runs without the count
    assert lines[6] == "parent 40 40", lines           # the parent's counts are unaffected
