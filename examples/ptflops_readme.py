"""ptflops' README example (v0.7.5), with ``torch`` -> ``oneflow``, ``torchvision`` ->
``flowvision``, ``ptflops`` -> ``flowflops`` and the batch dimension in ``input_res``.

Two more changes: ptflops' example misses a comma after ``backend='pytorch'`` (a syntax
error as published), added here; and OneFlow 0.9 has no ``torch.cuda.device`` context, so
``with torch.cuda.device(0):`` is left out (the model stays on the CPU).
"""
import flowvision.models as models
import oneflow as flow  # noqa: F401  (the README imports torch)

from flowflops import get_model_complexity_info

net = models.densenet161()
macs, params = get_model_complexity_info(net, (1, 3, 224, 224), as_strings=True, backend='pytorch',
                                         print_per_layer_stat=True, verbose=True)
print('{:<30}  {:<8}'.format('Computational complexity: ', macs))
print('{:<30}  {:<8}'.format('Number of parameters: ', params))

macs, params = get_model_complexity_info(net, (1, 3, 224, 224), as_strings=True, backend='aten',
                                         print_per_layer_stat=True, verbose=True)
print('{:<30}  {:<8}'.format('Computational complexity: ', macs))
print('{:<30}  {:<8}'.format('Number of parameters: ', params))
