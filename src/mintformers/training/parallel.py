"""torch.distributed for the Trainer: the same code for one process and for `torchrun --nproc_per_node N`.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK (and the rendezvous address); without them the world size is one and
no process group is needed (except for FSDP, which gets a one-process group). Every collective here is a
torch.distributed call: DDP or FSDP2 (`fully_shard`) move the gradients, torch.distributed.checkpoint gathers
the consolidated state dicts.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["Distributed", "setup", "wrap", "unwrap", "full_model_state", "full_optimizer_state", "load_optimizer_state"]


@dataclass
class Distributed:
    """Where this process stands: its rank among `world_size` processes and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool = False  # this process group was created here (and is destroyed by `close`)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return dist.is_available() and dist.is_initialized()

    def barrier(self) -> None:
        if self.active and self.world_size > 1:
            dist.barrier()

    def all_sum(self, values: list[float]) -> list[float]:
        """Element-wise sums over all processes (float64)."""
        if not self.active or self.world_size == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def all_gather(self, obj: Any) -> list[Any]:
        """Every process's `obj`, in rank order, on every process."""
        if not self.active or self.world_size == 1:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        if self.owns_group and self.active:
            dist.destroy_process_group()


def setup(device: str | None = None, backend: str | None = None, need_group: bool = False) -> Distributed:
    """This process's place in the job, from torchrun's environment; initialises the process group if needed
    (NCCL on CUDA, gloo on CPU, unless `backend` says otherwise)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        chosen = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    else:
        chosen = torch.device(device)
        if chosen.type == "cuda" and chosen.index is None:
            chosen = torch.device("cuda", local_rank)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    info = Distributed(rank, world_size, local_rank, chosen)
    if dist.is_available() and dist.is_initialized():
        info.rank, info.world_size = dist.get_rank(), dist.get_world_size()
        return info
    backend = backend or ("nccl" if chosen.type == "cuda" else "gloo")
    if world_size > 1:
        dist.init_process_group(backend, device_id=chosen if chosen.type == "cuda" else None)
        info.owns_group = True
    elif need_group:  # FSDP on one process: a one-member group over an in-memory store
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
        info.owns_group = True
    if info.owns_group:  # a script that never calls Trainer.close() still leaves the group cleanly
        atexit.register(info.close)
    return info


def _block_lists(model: nn.Module) -> list[nn.ModuleList]:
    """The outermost ModuleLists (the transformer's layers): each of their members becomes one FSDP unit."""
    found: list[tuple[str, nn.ModuleList]] = []
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and not any(name.startswith(f"{outer}.") for outer, _ in found):
            found.append((name, module))
    return [m for _, m in found]


def wrap(model: nn.Module, info: Distributed, *, fsdp: bool, find_unused_parameters: bool) -> nn.Module:
    """FSDP2: shard every layer, then the rest at the root. Several processes: DDP. One process: the model itself."""
    if fsdp:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh(info.device.type, (info.world_size,))
        for blocks in _block_lists(model):
            for block in blocks:
                if any(p.requires_grad for p in block.parameters()):
                    fully_shard(block, mesh=mesh)
        fully_shard(model, mesh=mesh)
        return model
    if info.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [info.device.index] if info.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=find_unused_parameters)
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The user's module inside a DDP wrapper (FSDP2 shards the module in place: it is its own)."""
    return getattr(model, "module", model) if type(model).__name__ == "DistributedDataParallel" else model


def _full_options(**kwargs: Any):
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True, **kwargs)


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The whole model's weights on the CPU, on rank 0 (others get {}). Collective under FSDP: call on all ranks."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    return get_model_state_dict(model, options=_full_options())


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The consolidated optimizer state keyed by parameter names, on rank 0 (others get {}). Collective."""
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    return get_optimizer_state_dict(model, optimizer, options=_full_options())


def load_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Load a consolidated optimizer state (every rank passes the full state; FSDP keeps its shard)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    set_optimizer_state_dict(model, optimizer, optim_state_dict=state, options=StateDictOptions(full_state_dict=True))
