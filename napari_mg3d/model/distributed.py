"""What a training step needs from the other processes so that its result does not depend on how the
global batch is split between them (one process with batch 4 computes what two with batch 2 do):
rows of every process with their gradients, global counts for the means, and batch statistics of
the global batch. In one process every function is the plain local computation."""

from __future__ import annotations

import torch


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a process group."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_rows(x: torch.Tensor, grad: bool = True) -> tuple[torch.Tensor, int]:
    """(every process's rows of ``x`` in rank order, where this process's rows start). Processes
    may hold different numbers of rows (reports of different lengths): each is padded to the longest
    for the collective and cut back after. ``grad``: gradients of the gathered rows flow back to the
    process that owns them (summed over the processes that used them)."""
    rank, size = world()
    if size == 1:
        return x, 0
    import torch.distributed as dist

    counts = torch.tensor([x.shape[0]], device=x.device)
    every = [torch.zeros_like(counts) for _ in range(size)]
    dist.all_gather(every, counts)
    counts = [int(c) for c in every]
    longest = max(counts)
    padded = torch.cat([x, x.new_zeros(longest - x.shape[0], *x.shape[1:])]) if longest > x.shape[0] else x
    padded = padded.contiguous()
    if grad:
        from torch.distributed.nn.functional import all_gather

        parts = all_gather(padded)
    else:
        parts = [torch.empty_like(padded) for _ in range(size)]
        dist.all_gather(parts, padded)
    rows = torch.cat([p[:n] for p, n in zip(parts, counts)])
    return rows, sum(counts[:rank])


def total(value) -> torch.Tensor:
    """The sum over processes of a count (no gradient): ``value`` a number or tensor."""
    t = torch.as_tensor(value, dtype=torch.float64).detach().clone()
    if world()[1] > 1:
        import torch.distributed as dist

        dist.all_reduce(t)
    return t


def share(local_sum: torch.Tensor, local_count) -> torch.Tensor:
    """This process's share of a mean over the global batch, scaled so that the data-parallel
    average of the processes' values (and gradients) is the global mean: world x local sum /
    global count. One process: the plain mean."""
    size = world()[1]
    count = total(local_count).clamp_min(1.0).to(local_sum.device)
    return local_sum * size / count.to(local_sum.dtype)


def global_mean(values: torch.Tensor) -> torch.Tensor:
    """``share`` of the mean of every element of ``values`` across processes."""
    return share(values.sum(), values.numel())


def batch_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean, biased variance, rows) of each column of ``x`` (rows, features) over every process's
    rows, with gradients through both (what SyncBatchNorm computes; it needs CUDA, this does not)."""
    if world()[1] == 1:
        var, mean = torch.var_mean(x, dim=0, unbiased=False)
        return mean, var, x.shape[0]
    from torch.distributed.nn.functional import all_reduce

    n = total(x.shape[0])
    count = n.to(x.dtype).to(x.device)
    mean = all_reduce(x.sum(0)) / count
    # two passes, not E[x^2] - E[x]^2: features nearly equal across the batch (a frozen text
    # encoder's report vectors) would lose their variance to cancellation
    var = all_reduce(((x - mean) ** 2).sum(0)) / count
    return mean, var, int(n)


def batch_norm(x: torch.Tensor, running_mean=None, running_var=None, momentum: float = 0.1,
               eps: float = 1e-5) -> torch.Tensor:
    """BatchNorm in training mode over the global batch's rows (no affine terms); updates the running
    statistics (unbiased variance, as ``nn.BatchNorm1d``) when given. One process: ``F.batch_norm``."""
    if world()[1] == 1:
        import torch.nn.functional as F

        return F.batch_norm(x, running_mean, running_var, training=True, momentum=momentum, eps=eps)
    mean, var, n = batch_stats(x)
    if running_mean is not None:
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
            running_var.mul_(1 - momentum).add_(var.detach() * n / max(n - 1, 1), alpha=momentum)
    return (x - mean) / torch.sqrt(var + eps)
