#!/usr/bin/env python3
"""The reference values the training-tool tests compare against, computed with PyTorch (1.13,
float64). Not run by the test suite: run it by hand (/usr/bin/python3 tests/nn/reference/training_reference.py) and
paste what it prints into the tests as literals:

  optimisers      -> tests/nn/test_optim_torch.cpp   (ten steps of the toy problem; LBFGS)
  schedulers      -> tests/nn/test_scheduler_torch.cpp (lr and momentum sequences)
  clip_grad       -> tests/nn/test_clip_grad.cpp
  init            -> tests/nn/test_init_structured.cpp (torch.linalg.qr, dirac_)

NAdam, and the decoupled weight decay of NAdam and RAdam, are written out below in torch ops as
PyTorch 2.x has them: torch 1.13's NAdam has the mu_product_next bug fixed by pytorch#92699.
"""
import math
import warnings
from bisect import bisect_right

import torch
from torch.optim import lr_scheduler as L

torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore")


def fmt(v):
    return "{" + ", ".join(repr(float(x)) for x in v) + "}"


# ---- optimisers: the toy problem
kStart = [0.8, -1.3, 0.05, 2.0, -0.4]
P1 = [[0.25, -0.5, 1.5], [0.75, -2.0, 0.1]]
def coeffs(n):
    a = torch.tensor([0.5 + 0.25*k for k in range(n)])
    b = torch.tensor([(1.0 if k % 2 == 0 else -0.75)*(1.0 + 0.1*k) for k in range(n)])
    return a, b
def toy_loss(p):
    flat = p.reshape(-1)
    a, b = coeffs(flat.numel())
    return (a*flat*flat + b*flat).sum()
def run(name, make, steps=10):
    p0 = torch.tensor(kStart, requires_grad=True)
    p1 = torch.tensor(P1, requires_grad=True)
    opt = make(p0, p1)
    print("// " + name)
    for s in range(steps):
        opt.zero_grad()
        (toy_loss(p0) + toy_loss(p1)).backward()
        opt.step()
    print("p0 =", fmt(p0.detach().reshape(-1).tolist()))
    print("p1 =", fmt(p1.detach().reshape(-1).tolist()))

run("Adagrad", lambda p0,p1: torch.optim.Adagrad([p0,p1], lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5))
run("Adagrad groups maximize", lambda p0,p1: torch.optim.Adagrad([{'params':[p0]}, {'params':[p1], 'lr':0.02, 'eps':1e-3}], lr=0.1, maximize=True))
run("Adamax", lambda p0,p1: torch.optim.Adamax([p0,p1], lr=0.05, betas=(0.8,0.95), weight_decay=0.05))
run("Adamax groups", lambda p0,p1: torch.optim.Adamax([{'params':[p0], 'maximize':True}, {'params':[p1], 'betas':(0.5,0.9)}], lr=0.01))
run("RAdam", lambda p0,p1: torch.optim.RAdam([p0,p1], lr=0.05, weight_decay=0.01))
run("RAdam groups", lambda p0,p1: torch.optim.RAdam([{'params':[p0]}, {'params':[p1], 'lr':0.1, 'betas':(0.7, 0.99), 'eps':1e-4}], lr=0.02))
run("Adam amsgrad maximize groups", lambda p0,p1: torch.optim.Adam([{'params':[p0], 'amsgrad':True}, {'params':[p1], 'lr':0.01, 'weight_decay':0.1, 'betas':(0.8,0.9), 'maximize':True}], lr=0.05))
run("AdamW default weight decay", lambda p0,p1: torch.optim.AdamW([p0,p1], lr=0.05), steps=5)
run("SGD groups", lambda p0,p1: torch.optim.SGD([{'params':[p0], 'momentum':0.9, 'nesterov':True}, {'params':[p1], 'lr':0.02, 'momentum':0.5, 'dampening':0.1, 'maximize':True}], lr=0.05))
run("RMSprop groups", lambda p0,p1: torch.optim.RMSprop([{'params':[p0], 'centered':True}, {'params':[p1], 'lr':0.001, 'momentum':0.9, 'maximize':True}], lr=0.01, alpha=0.9))

# ---- NAdam and RAdam as PyTorch 2.x
# NAdam and RAdam as PyTorch 2.x's _single_tensor_nadam / _single_tensor_radam (the mu_product_next
# fix of pytorch#92699, decoupled_weight_decay of 2.1), in torch ops: torch 1.13 has the bug.

class NAdam2(torch.optim.Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9,0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay))
    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group['betas']; lr = group['lr']; wd = group['weight_decay']; md = group['momentum_decay']; eps = group['eps']
            for p in group['params']:
                if p.grad is None: continue
                st = self.state[p]
                if not st:
                    st['step'] = torch.tensor(0.); st['mu_product'] = torch.tensor(1.)
                    st['exp_avg'] = torch.zeros_like(p); st['exp_avg_sq'] = torch.zeros_like(p)
                grad = p.grad
                st['step'] += 1; step = st['step'].item()
                bias_correction2 = 1 - beta2 ** step
                if wd != 0:
                    if group['decoupled_weight_decay']: p.mul_(1 - lr * wd)
                    else: grad = grad.add(p, alpha=wd)
                mu = beta1 * (1. - 0.5 * (0.96 ** (step * md)))
                mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * md)))
                st['mu_product'] *= mu
                st['exp_avg'].lerp_(grad, 1 - beta1)
                st['exp_avg_sq'].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = st['exp_avg_sq'].div(bias_correction2).sqrt().add_(eps)
                mu_product_next = st['mu_product'].item() * mu_next
                p.addcdiv_(grad, denom, value=(-lr * (1. - mu) / (1. - st['mu_product'].item())))
                p.addcdiv_(st['exp_avg'], denom, value=(-lr * mu_next) / (1. - mu_product_next))

class RAdamW(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9,0.999), eps=1e-8, weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group['betas']; lr = group['lr']; wd = group['weight_decay']; eps = group['eps']
            for p in group['params']:
                st = self.state[p]
                if not st:
                    st['step'] = 0; st['exp_avg'] = torch.zeros_like(p); st['exp_avg_sq'] = torch.zeros_like(p)
                grad = p.grad
                st['step'] += 1; step = st['step']
                p.mul_(1 - lr * wd)
                bc1 = 1 - beta1 ** step; bc2 = 1 - beta2 ** step
                st['exp_avg'].lerp_(grad, 1 - beta1)
                st['exp_avg_sq'].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bcea = st['exp_avg'] / bc1
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bc2
                if rho_t > 5.:
                    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                    adaptive = math.sqrt(bc2) / st['exp_avg_sq'].sqrt().add_(eps)
                    p.add_(bcea * lr * adaptive * rect, alpha=-1.0)
                else:
                    p.add_(bcea * lr, alpha=-1.0)

def run_torch2(name, make, steps=10):
    p0 = torch.tensor(kStart, requires_grad=True)
    p1 = torch.tensor(P1, requires_grad=True)
    opt = make(p0, p1)
    print("// " + name)
    for s in range(steps):
        opt.zero_grad()
        (toy_loss(p0) + toy_loss(p1)).backward()
        opt.step()
    print("p0 =", fmt(p0.detach().reshape(-1).tolist()))
    print("p1 =", fmt(p1.detach().reshape(-1).tolist()))

run_torch2("NAdam (2.x)", lambda p0,p1: NAdam2([p0,p1], lr=0.05, weight_decay=0.01))
run_torch2("NAdam groups (2.x)", lambda p0,p1: NAdam2([{'params':[p0], 'momentum_decay': 0.01}, {'params':[p1], 'lr':0.01, 'betas':(0.8,0.99)}], lr=0.05))
run_torch2("NAdamW (2.x decoupled)", lambda p0,p1: NAdam2([p0,p1], lr=0.05, weight_decay=0.1, decoupled_weight_decay=True))
run_torch2("RAdamW (2.x decoupled)", lambda p0,p1: RAdamW([p0,p1], lr=0.05, weight_decay=0.1))
# RAdam without weight decay: the 2.x class must agree with torch 1.13's RAdam (a check of this script)
p = torch.tensor(kStart, requires_grad=True); q = torch.tensor(kStart, requires_grad=True)
a = RAdamW([p], lr=0.05, weight_decay=0.0); b = torch.optim.RAdam([q], lr=0.05)
for s in range(10):
    for x, o in ((p, a), (q, b)):
        o.zero_grad(); toy_loss(x).backward(); o.step()
print("// check RAdamW(wd=0) vs torch.optim.RAdam:", (p - q).abs().max().item())

# ---- LBFGS
def objective(x, w):
    rosen = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    quad = ((w - torch.tensor([1.0, -2.0])) ** 2 * torch.tensor([3.0, 0.5])).sum()
    return rosen + quad
def run(name, steps, **kw):
    x = torch.tensor([-1.2, 1.0, -0.5, 0.8], requires_grad=True)
    w = torch.tensor([0.3, 0.4], requires_grad=True)
    opt = torch.optim.LBFGS([x, w], **kw)
    def closure():
        opt.zero_grad(); loss = objective(x, w); loss.backward(); return loss
    print("//", name, kw)
    for s in range(steps):
        loss = opt.step(closure)
        st = opt.state[x]
        print(f"{{{float(loss)!r}, {fmt(x.tolist())}, {fmt(w.tolist())}, {st['func_evals']}, {st['n_iter']}}},")
    print("final loss", float(objective(x, w)))
run("fixed step", 4, lr=0.05, max_iter=5, history_size=3)
run("strong_wolfe", 4, lr=1, max_iter=10, history_size=5, line_search_fn="strong_wolfe")
run("strong_wolfe defaults", 2, line_search_fn="strong_wolfe")

# ---- schedulers
def sgd(lrs, **kw):
    ps = [torch.nn.Parameter(torch.zeros(1)) for _ in lrs]
    return torch.optim.SGD([{'params': [p], 'lr': lr} for p, lr in zip(ps, lrs)], lr=lrs[0], **kw)
def seq(name, opt, make, n, key=None):
    s = make(opt)
    lrs = [[] for _ in opt.param_groups]; moms = [[] for _ in opt.param_groups]
    for e in range(n):
        if e > 0: s.step()
        for g, group in enumerate(opt.param_groups):
            lrs[g].append(group['lr'])
            if key: moms[g].append(group[key][0] if key == 'betas' else group[key])
    print("//", name)
    for g in range(len(lrs)): print(f"lr{g} =", fmt(lrs[g]))
    if key:
        for g in range(len(moms)): print(f"momentum{g} =", fmt(moms[g]))
seq("ExponentialLR(0.9)", sgd([0.1]), lambda o: L.ExponentialLR(o, 0.9), 30)
seq("LambdaLR two groups", sgd([0.1, 0.02]), lambda o: L.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1.0 / (1 + e)]), 12)
seq("MultiplicativeLR(0.95)", sgd([0.1]), lambda o: L.MultiplicativeLR(o, lambda e: 0.95), 12)
seq("StepLR(3, 0.5) two groups", sgd([1.0, 0.3]), lambda o: L.StepLR(o, 3, 0.5), 12)
seq("MultiStepLR([2, 5, 5], 0.1)", sgd([1.0]), lambda o: L.MultiStepLR(o, [2, 5, 5], 0.1), 8)
seq("ConstantLR(0.25, 4)", sgd([0.2]), lambda o: L.ConstantLR(o, 0.25, 4), 7)
seq("LinearLR(0.2, 0.9, 6)", sgd([0.2]), lambda o: L.LinearLR(o, 0.2, 0.9, 6), 9)
seq("PolynomialLR(6, 2)", sgd([0.2]), lambda o: L.PolynomialLR(o, 6, 2.0), 9)
seq("CosineAnnealingLR(10, 0.01)", sgd([0.5]), lambda o: L.CosineAnnealingLR(o, 10, 0.01), 36)
seq("CosineAnnealingWarmRestarts(5, 2, 0.001)", sgd([0.1]), lambda o: L.CosineAnnealingWarmRestarts(o, 5, 2, 0.001), 40)
seq("CosineAnnealingWarmRestarts(4, 1)", sgd([0.1]), lambda o: L.CosineAnnealingWarmRestarts(o, 4), 12)
# fractional epochs, as the documentation's per-batch use
o = sgd([0.1]); s = L.CosineAnnealingWarmRestarts(o, 3, 2, 0.0); out = []
for epoch in range(5):
    for i in range(4):
        s.step(epoch + i / 4); out.append(o.param_groups[0]['lr'])
print("// CosineAnnealingWarmRestarts(3, 2) step(epoch + i / 4)\nlr0 =", fmt(out))
seq("CyclicLR triangular 0.001..0.1 up 4, SGD momentum", sgd([0.5], momentum=0.9), lambda o: L.CyclicLR(o, 0.001, 0.1, step_size_up=4), 30, 'momentum')
seq("CyclicLR triangular2 up 3 down 5, two groups", sgd([0.5, 0.5], momentum=0.9), lambda o: L.CyclicLR(o, [0.001, 0.01], [0.1, 0.05], step_size_up=3, step_size_down=5, mode='triangular2', base_momentum=0.7, max_momentum=0.95), 30, 'momentum')
seq("CyclicLR exp_range gamma 0.9 up 4, no momentum cycling", sgd([0.5]), lambda o: L.CyclicLR(o, 0.001, 0.1, step_size_up=4, mode='exp_range', gamma=0.9, cycle_momentum=False), 30)
seq("CyclicLR custom scale_fn 1/x by cycle", sgd([0.5]), lambda o: L.CyclicLR(o, 0.0, 1.0, step_size_up=2, scale_fn=lambda x: 1.0 / x, scale_mode='cycle', cycle_momentum=False), 14)
seq("OneCycleLR cos 0.1 total 30, SGD", sgd([0.5], momentum=0.9), lambda o: L.OneCycleLR(o, 0.1, total_steps=30), 31, 'momentum')
seq("OneCycleLR linear three_phase, epochs 4 x 6 steps", sgd([0.5], momentum=0.9), lambda o: L.OneCycleLR(o, 0.2, epochs=4, steps_per_epoch=6, anneal_strategy='linear', three_phase=True), 25, 'momentum')
def adam(lr):
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr)
seq("OneCycleLR Adam, div 10, final_div 100, pct_start 0.25, two max_lr? one group", adam(0.5), lambda o: L.OneCycleLR(o, 0.05, total_steps=20, div_factor=10, final_div_factor=100, pct_start=0.25, base_momentum=0.8, max_momentum=0.9), 21, 'betas')
def seqlr(o):
    return L.SequentialLR(o, [L.ConstantLR(o, 0.1, 2), L.ExponentialLR(o, 0.9)], milestones=[2])
seq("SequentialLR[ConstantLR(0.1, 2), ExponentialLR(0.9)] milestones [2]", sgd([1.0]), seqlr, 10)
def seqlr2(o):
    return L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 5), L.CosineAnnealingLR(o, 10, 0.001)], milestones=[5])
seq("SequentialLR[LinearLR(0.1, 1, 5), CosineAnnealingLR(10, 0.001)] milestones [5], two groups", sgd([0.1, 0.5]), seqlr2, 20)
def seqlr3(o):
    return L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 3), L.StepLR(o, 2, 0.5), L.ExponentialLR(o, 0.8)], milestones=[3, 8])
seq("SequentialLR[LinearLR(0.5, 1, 3), StepLR(2, 0.5), ExponentialLR(0.8)] milestones [3, 8]", sgd([1.0]), seqlr3, 14)
def chained(o):
    return L.ChainedScheduler([L.ConstantLR(o, 0.1, 2), L.ExponentialLR(o, 0.9)])
seq("ChainedScheduler[ConstantLR(0.1, 2), ExponentialLR(0.9)]", sgd([1.0]), chained, 8)
def chained2(o):
    return L.ChainedScheduler([L.LinearLR(o, 0.5, 1.0, 4), L.StepLR(o, 3, 0.5), L.CosineAnnealingLR(o, 8, 0.0)])
seq("ChainedScheduler[LinearLR(0.5, 1, 4), StepLR(3, 0.5), CosineAnnealingLR(8)]", sgd([0.4]), chained2, 12)

# ---- clip_grad
G1 = [0.5, -1.5, 2.0]; G2 = [[0.25, -3.0], [1.0, 0.75]]
for p in [2.0, 1.0, math.inf, 3.0, 0.5, 0.0, -math.inf]:
    a = torch.zeros(3, requires_grad=True); b = torch.zeros(2, 2, requires_grad=True); c = torch.zeros(4, requires_grad=True)
    a.grad = torch.tensor(G1); b.grad = torch.tensor(G2)
    total = torch.nn.utils.clip_grad_norm_([a, b, c], 1.5, norm_type=p)
    print(f"{{{p!r}, {float(total)!r}, {fmt(a.grad.tolist())}, {fmt(b.grad.reshape(-1).tolist())}}},")
a = torch.zeros(3, requires_grad=True); a.grad = torch.tensor(G1)
print("large max_norm:", float(torch.nn.utils.clip_grad_norm_([a], 100.0)), a.grad.tolist())

try:
    torch.nn.utils.clip_grad_norm_([torch.zeros(2, requires_grad=True)], 1.0, error_if_nonfinite=True)
except Exception as e: print(e)
b = torch.zeros(2, requires_grad=True); b.grad = torch.tensor([1.0, float('inf')])
try: torch.nn.utils.clip_grad_norm_([b], 1.0, error_if_nonfinite=True)
except Exception as e: print("ERR", e)
b.grad = torch.tensor([1.0, float('inf')]); print(float(torch.nn.utils.clip_grad_norm_([b], 1.0)), b.grad.tolist())
b.grad = torch.tensor([1.0, float('nan')]); print(float(torch.nn.utils.clip_grad_norm_([b], 1.0)), b.grad.tolist())
b.grad = torch.tensor([1.0, float('nan')]); print(float(torch.nn.utils.clip_grad_norm_([b], 1.0, norm_type=math.inf)), b.grad.tolist())
a = torch.zeros(3, requires_grad=True); a.grad = torch.tensor(G1); torch.nn.utils.clip_grad_value_([a], 1.0); print(a.grad.tolist())

# ---- init
A = torch.tensor([[2.0, -1.0, 0.5], [1.0, 3.0, -2.0], [-0.5, 1.5, 1.0], [4.0, 0.0, -1.0], [0.25, -2.0, 3.0]])
q, r = torch.linalg.qr(A)
print("tall q", fmt(q.reshape(-1).tolist())); print("tall r", fmt(r.reshape(-1).tolist()))
q, r = torch.linalg.qr(A.t().contiguous())
print("wide q", fmt(q.reshape(-1).tolist())); print("wide r", fmt(r.reshape(-1).tolist()))
for shape, groups in [((4, 2, 3), 2), ((6, 4, 3, 3), 3), ((2, 3, 2, 3, 4), 1), ((3, 2, 5), 1)]:
    w = torch.empty(shape); torch.nn.init.dirac_(w, groups)
    idx = w.reshape(-1).nonzero().reshape(-1).tolist()
    print("dirac", shape, groups, "{" + ", ".join(map(str, idx)) + "}", w.sum().item())
w = torch.empty(3, 5); torch.nn.init.eye_(w); print("eye", w.reshape(-1).nonzero().reshape(-1).tolist())
